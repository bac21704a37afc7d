"""How long a message search takes on 100,000 messages, and what the index adds to a send.

``python -m bench.search [--postgres URL] [--messages N] [--out FILE]``: builds the app's context
on a fresh SQLite file (or the given, emptied, PostgreSQL database), seeds N messages (default
100,000) of 6 to 20 words drawn from a Zipf-like vocabulary of 5,000 made-up words, over 500
conversations of which the searcher belongs to 20 (~4% of the messages are theirs to find), and
a second searcher in one quiet conversation of their own (3 messages, none with those words), then
times ``search.views.search_results`` (the route's whole read: the match, the message views, the
snippets) for a few kinds of query, through ``ctx.db.run_query`` as the route does: the median
and the slowest of 15 runs after one warm-up. On SQLite it also times 300 sends through the real
action with the index's triggers and 300 without. Figures measure, they do not assert.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from bench.write_cost import in_process_settings, reset_postgres
from tidings.accounts.models import User
from tidings.context import build_context, close_context
from tidings.conversations import actions
from tidings.conversations.models import (
    Conversation,
    ConversationMember,
    ConversationType,
    Message,
)
from tidings.db import utcnow
from tidings.realtime.log import read_head
from tidings.realtime.models import ChannelSpan
from tidings.realtime.transaction import Transaction
from tidings.search import views

PASSWORD_HASH = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$0000000000000000000000"
USERS = 200
CONVERSATIONS = 500
SEARCHER_CONVERSATIONS = 20
VOCABULARY = 5000
RUNS = 15
SENDS = 300
BATCH = 5000


def _vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    return sorted(words, key=lambda w: rng.random())


def _seed_people(tx: Transaction) -> None:
    """Users 1..USERS; conversation c has members c % USERS + 1 and its two neighbours, and
    user 1 (the searcher) is in the first SEARCHER_CONVERSATIONS."""
    session = tx.session
    now = utcnow()
    session.execute(
        insert(User),
        [
            {
                "id": i,
                "username": f"search{i}",
                "display_name": f"Search {i}",
                "password_hash": PASSWORD_HASH,
                "created_at": now,
            }
            for i in range(1, USERS + 1)
        ],
    )
    session.execute(
        insert(Conversation),
        [
            {
                "id": c,
                "type": ConversationType.group,
                "name": f"group {c}",
                "created_by_id": 1,
                "created_at": now,
                "updated_at": now,
            }
            for c in range(1, CONVERSATIONS + 1)
        ],
    )
    members = {(c, u) for c in range(1, CONVERSATIONS + 1) for u in _members(c)}
    session.execute(
        insert(ConversationMember),
        [{"conversation_id": c, "user_id": u, "joined_at": now} for c, u in sorted(members)],
    )
    head = read_head(session)
    session.execute(
        insert(ChannelSpan),
        [{"channel_id": c, "user_id": u, "joined_pos": head + 1} for c, u in sorted(members)],
    )
    # The lonely searcher: one conversation with three messages of their own.
    lonely, quiet = USERS + 1, CONVERSATIONS + 1
    session.execute(
        insert(User),
        [
            {
                "id": lonely,
                "username": "lonely",
                "display_name": "Lonely",
                "password_hash": PASSWORD_HASH,
                "created_at": now,
            }
        ],
    )
    session.execute(
        insert(Conversation),
        [
            {
                "id": quiet,
                "type": ConversationType.group,
                "name": "quiet",
                "created_by_id": lonely,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    session.execute(
        insert(ConversationMember),
        [{"conversation_id": quiet, "user_id": lonely, "joined_at": now}],
    )
    session.execute(
        insert(Message),
        [
            {
                "id": 10_000_000 + n,
                "conversation_id": quiet,
                "sender_id": lonely,
                "content": f"a quiet note {n}",
                "created_at": now,
            }
            for n in range(3)
        ],
    )


def _members(conversation_id: int) -> set[int]:
    base = conversation_id % USERS + 1
    found = {base, (base % USERS) + 1, ((base + 1) % USERS) + 1}
    if conversation_id <= SEARCHER_CONVERSATIONS:
        found.add(1)
    return found


def _seed_messages(tx: Transaction, rows: list[dict[str, Any]]) -> None:
    tx.session.execute(insert(Message), rows)


def _message_rows(
    rng: random.Random, words: list[str], first: int, count: int
) -> list[dict[str, Any]]:
    now = utcnow()
    weights = [1 / (rank + 1) for rank in range(len(words))]
    rows = []
    for n in range(first, first + count):
        conversation_id = rng.randint(1, CONVERSATIONS)
        content = " ".join(rng.choices(words, weights, k=rng.randint(6, 20)))
        sender = min(_members(conversation_id))
        rows.append(
            {
                "id": n,
                "conversation_id": conversation_id,
                "sender_id": sender,
                "content": content.capitalize() + ".",
                "created_at": now,
            }
        )
    return rows


def _queries(words: list[str]) -> dict[str, str]:
    return {
        "a common word": words[0],
        "a mid word (rank 200)": words[200],
        "a rare word (rank 4,000)": words[4000],
        "two common words": f"{words[1]} {words[2]}",
        "prefix of 2 letters": words[50][:2],
        "prefix of 3 letters": words[50][:3],
        "prefix of 5 letters": next(w for w in words[300:] if len(w) >= 6)[:5],
        "a word in no message": "zzzzzzzzzzzz",
    }


async def _time_search(ctx: Any, q: str, user_id: int) -> tuple[float, float, int]:
    found = 0

    def run(session: Session) -> int:
        page = views.search_results(
            session, q, user_id, before=None, limit=20, conversation_id=None
        )
        return len(page.results)

    await ctx.db.run_query(run)  # warm-up
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        found = await ctx.db.run_query(run)
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times), found


async def _time_sends(ctx: Any, label: str) -> float:
    sender = await ctx.db.run_query(lambda s: s.get(User, 1))
    start = time.perf_counter()
    for n in range(SENDS):
        await actions.send_message(ctx, sender, 1, f"timed send {n} of {label}")
    return (time.perf_counter() - start) / SENDS


async def measure(database_url: str, messages: int) -> dict[str, Any]:
    ctx = await build_context(in_process_settings(database_url))
    rng = random.Random(12)
    words = _vocabulary(rng)
    result: dict[str, Any] = {"messages": messages, "queries": {}}
    try:
        await ctx.writer.run(_seed_people)
        start = time.perf_counter()
        for first in range(1, messages + 1, BATCH):
            rows = _message_rows(rng, words, first, min(BATCH, messages + 1 - first))
            await ctx.writer.run(_seed_messages, rows)
        result["seed_seconds"] = time.perf_counter() - start
        if not database_url.startswith("sqlite"):
            # What autovacuum would have done by now (a read's transaction is rolled back).
            await ctx.writer.run(lambda tx: tx.session.execute(text("ANALYZE")))
        visible = await ctx.db.run_query(
            lambda s: s.scalar(
                text(
                    "SELECT count(*) FROM message JOIN conversation_member cm "
                    "ON cm.conversation_id = message.conversation_id AND cm.user_id = 1"
                )
            )
        )
        result["visible"] = int(visible or 0)
        for label, q in _queries(words).items():
            result["queries"][label] = (
                q,
                await _time_search(ctx, q, 1),
                await _time_search(ctx, q, USERS + 1),
            )
        if database_url.startswith("sqlite"):
            result["send_with_index"] = await _time_sends(ctx, "with")

            def drop_triggers(tx: Transaction) -> None:
                for name in ("message_fts_insert", "message_fts_update", "message_fts_delete"):
                    tx.session.execute(text(f"DROP TRIGGER {name}"))

            await ctx.writer.run(drop_triggers)
            result["send_without_index"] = await _time_sends(ctx, "without")
    finally:
        await close_context(ctx)
    return result


def to_markdown(result: dict[str, Any], database: str) -> str:
    lines = [
        f"## {database}",
        "",
        f"{result['messages']:,} messages (seeded in {result['seed_seconds']:.1f} s, index "
        f"maintained as they were written); the searcher can read {result['visible']:,} of them. "
        f"`search_results`, limit 20, {RUNS} runs: the median (the slowest) for the searcher in "
        "20 conversations, and for the one in a quiet conversation of their own:",
        "",
        "| query | text | results | searcher in 20 | results | lonely searcher |",
        "|---|---|---|---|---|---|",
    ]
    for label, (q, *timings) in result["queries"].items():
        cells = [
            f"{found} | {median * 1000:.1f} ms ({slowest * 1000:.1f})"
            for median, slowest, found in timings
        ]
        lines.append(f"| {label} | `{q}` | {' | '.join(cells)} |")
    if "send_with_index" in result:
        lines += [
            "",
            f"A send through `actions.send_message` (one at a time, {SENDS} each): "
            f"{result['send_with_index'] * 1e6:.0f} µs with the FTS triggers, "
            f"{result['send_without_index'] * 1e6:.0f} µs without.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--postgres", help="a PostgreSQL URL (its database is emptied)")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/search.md"))
    args = parser.parse_args()
    sections = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite+aiosqlite:///{tmp}/search.db"
        sections.append(to_markdown(asyncio.run(measure(sqlite_url, args.messages)), "SQLite"))
    if args.postgres:
        asyncio.run(reset_postgres(args.postgres))
        result = asyncio.run(measure(args.postgres, args.messages))
        sections.append(to_markdown(result, "PostgreSQL"))
    body = "# Message search on a large history\n\n" + "\n".join(sections)
    args.out.write_text(body)
    print(body)


if __name__ == "__main__":
    main()
