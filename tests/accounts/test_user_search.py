"""Finding people (``GET /api/users``): prefix, infix, typos and display names, ranked with
friends first, against a real server; and migration 0007's backfill of existing users."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, text, update

from tests.api_helpers import assert_error
from tests.support.api import ApiUser
from tidings.accounts import directory
from tidings.accounts.directory import user_grams
from tidings.accounts.models import User
from tidings.migrations import alembic_config
from tidings.realtime.transaction import Transaction


async def _search(user: ApiUser, q: str, **params: Any) -> list[dict[str, Any]]:
    response = await user.get("/api/users", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return list(response.json())


async def _names(user: ApiUser, q: str, **params: Any) -> list[str]:
    return [u["username"] for u in await _search(user, q, **params)]


async def test_infix_and_typos_find_people(server, make_user):
    me = await make_user("searcher")
    for name in ("bob", "bobby", "alice", "alfred", "robert", "zed"):
        await make_user(name)

    assert (await _names(me, "ob"))[:2] == ["bob", "bobby"]  # `ob` inside a name
    assert set(await _names(me, "ob")) == {"bob", "bobby", "robert"}
    assert (await _names(me, "alcie"))[0] == "alice"  # a transposition
    assert (await _names(me, "alise"))[0] == "alice"  # a wrong letter
    assert "zed" not in await _names(me, "alcie")  # nothing alike is dropped
    assert await _names(me, "BOB") == ["bob", "bobby"]  # exact first, then prefix
    assert await _names(me, "qqqq") == []


async def test_display_names_are_searched(server, make_user):
    me = await make_user("searcher")
    await make_user("cdanvers", "Carol Danvers")
    await make_user("zoe_w", "Zoë Washburne")
    await make_user("dan", "Dan")

    # The prefix of a display-name word; then "dan", one letter short of it.
    assert await _names(me, "danv") == ["cdanvers", "dan"]
    assert (await _names(me, "dnav"))[0] == "cdanvers"  # a typo in what is being typed
    assert await _names(me, "danvres") == ["cdanvers"]  # a typo in the whole word
    assert await _names(me, "carol danv") == ["cdanvers"]  # the display name's start
    assert await _names(me, "washburn") == ["zoe_w"]
    assert await _names(me, "zoe") == ["zoe_w"]  # accents folded
    assert (await _names(me, "dan"))[0] == "dan"  # exact before prefix
    assert set(await _names(me, "dan")) == {"dan", "cdanvers"}


async def test_friends_first_yourself_excluded(server, make_user):
    me = await make_user("sam")
    for name in ("samuel", "samantha", "samwise"):
        await make_user(name)
    friend = await make_user("sammy_friend", "Hamish")
    await me.befriend(friend)

    found = await _search(me, "sam")
    assert [u["username"] for u in found] == ["sammy_friend", "samuel", "samwise", "samantha"]
    assert [u["is_friend"] for u in found] == [True, False, False, False]
    assert set(found[0]) >= {"id", "username", "display_name", "avatar_url", "deleted"}
    assert await _names(me, "sa", limit=2) == ["sammy_friend", "samuel"]
    # A friend is ranked whatever the cut, but only if they match at all.
    assert "sammy_friend" not in await _names(me, "wise")
    assert await _names(me, "hamish") == ["sammy_friend"]
    # A friend only like the query comes after those whose names contain it.
    sharon = await make_user("sharon")
    await make_user("shirley")
    await me.befriend(sharon)
    assert await _names(me, "shir") == ["shirley", "sharon"]
    # Empty q: your friends, alphabetically.
    assert await _names(me, "") == ["sammy_friend", "sharon"]
    assert await _names(me, "", limit=1) == ["sammy_friend"]
    assert (await _names(friend, "sam"))[0] == "sam"  # their friend, exactly
    assert "sammy_friend" not in await _names(friend, "sammy")


async def test_renaming_reindexes_and_unindexing_hides(server, make_user):
    me = await make_user("searcher")
    zed = await make_user("zed", "Zed Old")
    writer = server.ctx.writer

    def rename(tx: Transaction) -> None:  # as a display-name change does
        tx.session.execute(update(User).where(User.id == zed.id).values(display_name="Quentin New"))
        directory.index_user(tx.session, zed.id, "zed", "Quentin New")

    await writer.run(rename)
    assert await _names(me, "quentin") == ["zed"]
    assert await _names(me, "old") == []
    await writer.run(lambda tx: directory.unindex_user(tx.session, zed.id))
    assert await _names(me, "zed") == []
    assert await _names(me, "quentin") == []


async def test_bad_queries(server, make_user):
    me = await make_user("searcher")
    await make_user("alice")
    assert await _names(me, "%") == []  # no letters or digits: nothing to look for
    assert await _names(me, "al_%") == ["alice"]  # punctuation separates, never a wildcard
    assert_error(await me.get("/api/users", params={"q": "a" * 65}), 422, "validation_error")
    assert_error(await me.get("/api/users", params={"q": "a\x00"}), 422, "validation_error")
    for limit in (0, 51, "many"):
        response = await me.get("/api/users", params={"q": "a", "limit": limit})
        assert_error(response, 422, "validation_error")


def test_migration_indexes_existing_users(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0006")
            connection.execute(
                text(
                    "INSERT INTO user (id, username, display_name, password_hash, created_at) "
                    "VALUES (:id, :username, :display_name, 'x', '2026-12-01 00:00:00')"
                ),
                [
                    {"id": 1, "username": "alice", "display_name": "Alice Liddell"},
                    {"id": 2, "username": "bob", "display_name": "Bob"},
                ],
            )
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0007")
            rows = connection.execute(text("SELECT user_id, gram FROM user_search_gram")).all()
        by_user: dict[int, set[str]] = {}
        for user_id, gram in rows:
            by_user.setdefault(user_id, set()).add(gram)
        assert by_user == {1: user_grams("alice", "Alice Liddell"), 2: user_grams("bob", "Bob")}
        assert {"  a", " al", "ali", "lic", "ice", "ce ", " li", "~lic", "~ali"} <= by_user[1]
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0006")
            tables = connection.execute(text("SELECT name FROM sqlite_master")).scalars().all()
        assert not [name for name in tables if name.startswith("user_search")]
    finally:
        engine.dispose()


@pytest.mark.settings(rate_limit_user_search="3/minute")
async def test_searches_for_people_are_limited_per_user(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    for _ in range(3):
        await alice.ok("GET", "/api/users?q=bo")
    response = await alice.client.get("/api/users?q=bo")
    assert_error(response, 429, "rate_limited")
    await bob.ok("GET", "/api/users?q=al")  # his own count


async def test_a_two_letter_name_is_found_exactly_among_many_alike(server, make_user):
    """Among more names starting with "al" and ending in "al" than the candidates' cuts, a
    display name that is exactly "Al" is still found, first (it was cut: the gram ranges are
    read in user id order, and it came last)."""
    me = await make_user("searcher")
    many = directory.CANDIDATES * 2 + 10

    def seed(tx: Transaction) -> None:
        names = [f"al{i:04d}x" for i in range(many)] + [f"x{i:04d}al" for i in range(many)]
        for name in names:
            user = User(username=name, display_name=name, password_hash="!")
            tx.session.add(user)
            tx.session.flush()
            directory.index_user(tx.session, user.id, user.username, user.display_name)

    await server.ctx.writer.run(seed)
    al = await make_user("zz_last", "Al")
    assert (await _names(me, "al"))[0] == al.username
    assert (await _names(me, "Al", limit=1)) == [al.username]
