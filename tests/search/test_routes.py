"""GET /api/search/messages over HTTP, on the suite's backend (SQLite, or PostgreSQL + Redis):
what is found, what never is, snippets, paging and hostile input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from tests.api_helpers import assert_error, friends
from tests.support.settings import backend
from tidings.conversations.models import Message
from tidings.search.routes import MAX_QUERY_LENGTH

SEARCH = "/api/search/messages"


async def _search(user, q: str, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = await user.ok("GET", f"{SEARCH}?{_query(q, **params)}")
    return body


def _query(q: str, **params: Any) -> str:
    from urllib.parse import urlencode

    return urlencode({"q": q, **params})


async def _found_ids(user, q: str, **params: Any) -> list[int]:
    body = await _search(user, q, **params)
    return [r["message"]["id"] for r in body["results"]]


async def _set_message(server, message_id: int, **values: Any) -> None:
    """Change a message row directly, as no route would."""
    async with server.ctx.db.write() as session:
        await session.execute(update(Message).where(Message.id == message_id).values(**values))


async def test_a_message_is_found_by_a_word_and_by_the_start_of_the_last_word(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    hello = await alice.send(dm["id"], "Hello world, from Tidings")
    await bob.send(dm["id"], "nothing to see")

    body = await _search(bob, "world")
    assert body["has_more"] is False
    [result] = body["results"]
    assert set(result) == {"message", "conversation", "snippet"}
    assert result["message"] == hello
    assert result["conversation"] == {"id": dm["id"], "type": "direct", "name": None}
    assert result["snippet"] == [
        {"text": "Hello ", "match": False},
        {"text": "world", "match": True},
        {"text": ", from Tidings", "match": False},
    ]

    assert await _found_ids(alice, "tid") == [hello["id"]]  # the last word: a prefix
    assert await _found_ids(alice, "WORLD hel") == [hello["id"]]  # any order, any case
    assert await _found_ids(alice, "wor hello") == []  # only the last word is a prefix
    assert await _found_ids(alice, "world missing") == []  # every word must be there
    assert await _found_ids(alice, "t") == []  # one character: a whole word only


async def test_the_snippet_is_a_window_around_the_first_match(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    content = " ".join(f"filler{n}" for n in range(40)) + " the needle here " + "tail " * 60
    message = await alice.send(dm["id"], content)

    [result] = (await _search(bob, "needle"))["results"]
    assert result["message"]["id"] == message["id"]
    snippet = result["snippet"]
    assert snippet[0]["text"].startswith("…filler") and not snippet[0]["match"]
    assert snippet[1] == {"text": "needle", "match": True}
    assert snippet[-1]["text"].endswith("tail…") and not snippet[-1]["match"]
    window = "".join(s["text"] for s in snippet)[1:-1]
    assert window in content
    assert len(window) <= 200


async def test_accents_and_case(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    message = await alice.send(dm["id"], "Un CAFÉ au lait, s'il vous plaît")
    assert await _found_ids(bob, "café") == [message["id"]]
    assert await _found_ids(bob, "Café") == [message["id"]]
    # SQLite folds accents (remove_diacritics); PostgreSQL's 'simple' configuration does not.
    expected = [message["id"]] if backend() == "sqlite-memory" else []
    assert await _found_ids(bob, "cafe") == expected


async def test_only_conversations_you_are_a_member_of(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    carol, dave = await friends(make_user, "carol", "dave")
    ours = await alice.send((await alice.dm(bob))["id"], "the launch is on friday")
    theirs = await carol.send((await carol.dm(dave))["id"], "the launch is secret")

    assert await _found_ids(alice, "launch") == [ours["id"]]
    assert await _found_ids(bob, "launch") == [ours["id"]]
    assert await _found_ids(carol, "launch") == [theirs["id"]]
    assert await _found_ids(dave, "launch") == [theirs["id"]]
    # Naming a conversation that is not yours reveals nothing: 404, as for an unknown one.
    assert_error(
        await carol.get(f"{SEARCH}?{_query('launch', conversation_id=ours['conversation_id'])}"),
        404,
    )
    assert_error(await carol.get(f"{SEARCH}?{_query('launch', conversation_id=999999)}"), 404)


async def test_a_conversation_you_left_drops_out(server, make_user):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    group = await alice.group("plans", bob, carol)
    other = await alice.group("other", carol)
    plan = await bob.send(group["id"], "the secret plan")
    kept = await alice.send(other["id"], "another plan")
    assert await _found_ids(carol, "plan") == [kept["id"], plan["id"]]

    await carol.ok("DELETE", f"/api/conversations/{group['id']}/members/{carol.id}", status=204)
    assert await _found_ids(carol, "plan") == [kept["id"]]
    assert_error(await carol.get(f"{SEARCH}?{_query('plan', conversation_id=group['id'])}"), 404)
    assert await _found_ids(bob, "plan") == [plan["id"]]


async def test_the_conversation_filter(server, make_user):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    dm = await alice.dm(bob)
    group = await alice.group("Team", bob, carol)
    in_dm = await alice.send(dm["id"], "lunch today?")
    in_group = await carol.send(group["id"], "lunch at noon")

    assert await _found_ids(bob, "lunch") == [in_group["id"], in_dm["id"]]
    body = await _search(bob, "lunch", conversation_id=group["id"])
    assert [r["message"]["id"] for r in body["results"]] == [in_group["id"]]
    assert body["results"][0]["conversation"] == {
        "id": group["id"],
        "type": "group",
        "name": "Team",
    }
    assert await _found_ids(bob, "lunch", conversation_id=dm["id"]) == [in_dm["id"]]


async def test_an_edited_message_is_found_by_its_new_text_and_a_deleted_one_not_at_all(
    server, make_user
):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    edited = await alice.send(dm["id"], "meet at the station")
    deleted = await alice.send(dm["id"], "the station code is 1234")
    assert await _found_ids(bob, "station") == [deleted["id"], edited["id"]]

    base = f"/api/conversations/{dm['id']}/messages"
    await alice.ok("PATCH", f"{base}/{edited['id']}", {"content": "meet at the harbour"})
    await alice.ok("DELETE", f"{base}/{deleted['id']}")

    assert await _found_ids(bob, "station") == []
    assert await _found_ids(bob, "harbour") == [edited["id"]]
    assert await _found_ids(bob, "code") == []
    [result] = (await _search(bob, "meet"))["results"]
    assert result["message"]["content"] == "meet at the harbour"
    assert result["message"]["edited_at"] is not None
    assert result["snippet"] == [
        {"text": "meet", "match": True},
        {"text": " at the harbour", "match": False},
    ]


async def test_a_deleted_message_is_never_found_even_if_its_text_stayed(server, make_user):
    """The search's own guard: deleted rows are left out whatever their content."""
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    message = await alice.send(dm["id"], "remember the milk")
    await _set_message(server, message["id"], deleted_at=datetime.now(UTC))
    assert await _found_ids(bob, "milk") == []


async def test_paging_with_before(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    sent = [(await alice.send(dm["id"], f"report number {n}"))["id"] for n in range(25)]
    await alice.send(dm["id"], "unrelated")

    pages: list[list[int]] = []
    before: int | None = None
    while True:
        params: dict[str, Any] = {"limit": 10} | ({"before": before} if before else {})
        body = await _search(bob, "report", **params)
        pages.append([r["message"]["id"] for r in body["results"]])
        if not body["has_more"]:
            break
        before = pages[-1][-1]
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [i for page in pages for i in page] == sorted(sent, reverse=True)
    assert await _found_ids(bob, "report", before=sent[0]) == []
    assert (await _search(bob, "report", limit=25))["has_more"] is False


HOSTILE = [
    '"',
    '""',
    '"hello',
    "(",
    ")",
    "((a)",
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "NEAR(a b, 2)",
    "a AND OR b",
    "*",
    "**",
    "a*",
    "*a",
    "-",
    "-foo",
    "foo -bar",
    "'",
    "''",
    "it's",
    "\\",
    "\\'",
    ":*",
    "a:*",
    "&|!<->",
    "a & !b | c <-> d",
    "content:hello",
    "message_fts:x",
    "^start",
    "{a b}",
    "+",
    "%",
    "_",
    "a_b",
    "%_%",
    ";DROP TABLE message;--",
    "🎉",
    "🎉🎉 party",
    "👩‍👩‍👧",
    "日本語",
    "é",  # e + a combining accent
    "\u0301",  # a combining accent alone
    "\ue000",
    "\ue000word\ue001",
    "\u200b",
    "Ω≈ç√∫",
    "a" * MAX_QUERY_LENGTH,
    "x " * (MAX_QUERY_LENGTH // 2),
    '"' * MAX_QUERY_LENGTH,
    "(" * MAX_QUERY_LENGTH,
]


@pytest.mark.parametrize("q", HOSTILE, ids=range(len(HOSTILE)))
async def test_query_syntax_in_the_text_is_only_text(server, make_user, q):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    await alice.send(dm["id"], 'He said "AND" (NEAR) x*y -z 🎉 日本語 it\'s message_fts:x a_b')
    body = await _search(bob, q)
    assert set(body) == {"results", "has_more"}


async def test_operators_are_words(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    message = await alice.send(dm["id"], 'He said "AND" (NEAR) x*y -z 🎉 日本語 it\'s')
    for q in ['"and"', "AND", "(near)", "NEAR(and)", "x*y", "-z", "日本語", "it's", "said AND"]:
        assert await _found_ids(bob, q) == [message["id"]], q
    for q in ["🎉", "***", "--", "()"]:  # no letters or digits: nothing
        assert await _found_ids(bob, q) == [], q
    for q in ["NOT said", "said OR nothing", "said -nope"]:  # every word must appear
        assert await _found_ids(bob, q) == [], q


async def test_markers_typed_in_a_message_do_not_confuse_the_snippet(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    content = "odd \ue000text\ue001 and \ue001 word \ue000"
    message = await alice.send(dm["id"], content)
    [result] = (await _search(bob, "word"))["results"]
    assert result["message"]["id"] == message["id"]
    assert "".join(s["text"] for s in result["snippet"]) == content
    assert [s["text"] for s in result["snippet"] if s["match"]] == ["word"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 422),
        ("q=", 422),
        ("q=%20%20%09", 422),
        (_query("a" * (MAX_QUERY_LENGTH + 1)), 422),
        (_query("a" * 500), 422),
        (_query("x\x00y"), 422),
        (_query("x", limit=0), 422),
        (_query("x", limit=51), 422),
        (_query("x", limit="ten"), 422),
        (_query("x", before=0), 422),
        (_query("x", before=2**31), 422),
        (_query("x", conversation_id="abc"), 422),
        (_query("x", conversation_id=-1), 422),
    ],
)
async def test_bad_input_is_a_json_422(server, make_user, query, status):
    alice = await make_user("alice")
    assert_error(await alice.get(f"{SEARCH}?{query}"), status)


async def test_the_longest_query_and_blank_parameters_are_accepted(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    message = await alice.send(dm["id"], "padded")
    assert await _found_ids(bob, "  padded  ") == [message["id"]]
    assert await _found_ids(bob, "padded", limit="", before="", conversation_id="") == [
        message["id"]
    ]
    padded = " " * 300 + "x" * MAX_QUERY_LENGTH + " " * 300  # trimmed first, then counted
    assert await _found_ids(bob, padded) == []


async def test_signed_out_is_401(server, make_user):
    alice = await make_user("alice")
    await alice.ok("POST", "/api/auth/logout", status=204)
    assert_error(await alice.get(f"{SEARCH}?q=hello"), 401)


@pytest.mark.settings(rate_limit_search="3/minute")
async def test_searches_are_limited_per_user(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    for _ in range(3):
        await alice.ok("GET", f"{SEARCH}?q=hello")
    response = await alice.client.get(f"{SEARCH}?q=hello")
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1
    await bob.ok("GET", f"{SEARCH}?q=hello")  # his own count
