"""What one group message costs the database, at 10, 1,000 and 10,000 members.

``python -m bench.write_cost [--postgres URL] [--out FILE]``: builds the app's context on a fresh
SQLite file (or the given, emptied, PostgreSQL database), seeds a group of each size, sends
messages to it through the real action and writer, and counts per message: the rows added or
changed in every table, the SQL statements executed, and the bytes the database grew by.
Writes a Markdown table (default ``bench/results/write_cost.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.orm import Session

from tidings.accounts.models import User
from tidings.config import Settings
from tidings.context import build_context, close_context
from tidings.conversations import actions
from tidings.conversations.models import Conversation, ConversationMember, ConversationType
from tidings.db import utcnow
from tidings.realtime.log import read_head
from tidings.realtime.models import ChannelSpan
from tidings.realtime.transaction import Transaction

SIZES = (10, 1000, 10_000)
MESSAGES = 100
PASSWORD_HASH = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$0000000000000000000000"
TABLES = ("message", "conversation", "event", "event_log", "notification", "conversation_member")


def _seed_group(tx: Transaction, first_user: int, size: int) -> tuple[int, int]:
    """Users ``first_user..first_user+size-1`` and a group of them; (creator id, group id)."""
    session = tx.session
    now = utcnow()
    session.execute(
        insert(User),
        [
            {
                "id": i,
                "username": f"cost{i}",
                "display_name": f"Cost {i}",
                "password_hash": PASSWORD_HASH,
                "created_at": now,
            }
            for i in range(first_user, first_user + size)
        ],
    )
    group = Conversation(
        type=ConversationType.group,
        name=f"group of {size}",
        created_by_id=first_user,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    session.flush()
    members = range(first_user, first_user + size)
    session.execute(
        insert(ConversationMember),
        [{"conversation_id": group.id, "user_id": u, "joined_at": now} for u in members],
    )
    head = read_head(session)
    session.execute(
        insert(ChannelSpan),
        [{"channel_id": group.id, "user_id": u, "joined_pos": head + 1} for u in members],
    )
    return first_user, group.id


def _row_counts(session: Session) -> dict[str, int]:
    counts = {}
    for table in TABLES:
        counts[table] = int(session.scalar(text(f'SELECT count(*) FROM "{table}"')) or 0)
    return counts


class _UpdatedRows:
    """Counts the rows UPDATE statements touch on an engine (the cursor's rowcount)."""

    def __init__(self) -> None:
        self.rows = 0

    def __call__(self, _conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            # sqlite3 reports no count for UPDATE ... RETURNING before the rows are fetched:
            # ours (the log's head) updates one row.
            returning = "RETURNING" in statement.upper()
            self.rows += cursor.rowcount if cursor.rowcount > 0 or not returning else 1


def _database_bytes(database_url: str) -> int:
    """SQLite's size: its pages after a checkpoint (on a connection of our own, while the
    app's are idle)."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.split(":///", 1)[1])
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = connection.execute("PRAGMA page_count").fetchone()[0]
            size = connection.execute("PRAGMA page_size").fetchone()[0]
            return int(pages) * int(size)
        finally:
            connection.close()
    raise ValueError("PostgreSQL's size is read through the app (_size)")


async def _size(ctx: Any, database_url: str) -> int:
    if database_url.startswith("sqlite"):
        return _database_bytes(database_url)
    value = await ctx.db.run_query(
        lambda session: session.scalar(text("SELECT pg_database_size(current_database())"))
    )
    return int(value or 0)


def in_process_settings(database_url: str) -> Settings:
    """Settings for driving the app's actions in this process: no Redis, cheap hashing, no
    send limit (what is measured is the database work)."""
    return Settings(
        database_url=database_url,
        redis_url=None,
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
        argon2_parallelism=1,
        rate_limit_send="1000000/second",
    )


async def measure(database_url: str) -> list[dict[str, Any]]:
    ctx = await build_context(in_process_settings(database_url))
    updated = _UpdatedRows()
    engine = ctx.db.sync_write_engine or ctx.db.write_engine.sync_engine
    event.listen(engine, "after_cursor_execute", updated)
    results = []
    try:
        first_user = 1
        for size in SIZES:
            creator_id, group_id = await ctx.writer.run(_seed_group, first_user, size)
            first_user += size
            creator = await ctx.db.run_query(lambda s, uid=creator_id: s.get(User, uid))
            before = await ctx.db.run_query(_row_counts)
            bytes_before = await _size(ctx, database_url)
            statements = ctx.db.query_count
            updated.rows = 0
            for n in range(MESSAGES):
                text = f"message {n} " + "x" * 80
                await actions.send_message(
                    ctx, creator, group_id, actions.NewMessage(text, client_id=f"{size}-{n:032d}")
                )
            statements = ctx.db.query_count - statements
            after = await ctx.db.run_query(_row_counts)
            bytes_after = await _size(ctx, database_url)
            results.append(
                {
                    "members": size,
                    "statements": statements / MESSAGES,
                    "rows_added": {t: (after[t] - before[t]) / MESSAGES for t in TABLES},
                    "rows_updated": updated.rows / MESSAGES,
                    "bytes": (bytes_after - bytes_before) / MESSAGES,
                }
            )
    finally:
        await close_context(ctx)
    return results


def to_markdown(results: list[dict[str, Any]], database: str) -> str:
    lines = [
        f"Per group message, {database}, mean of {MESSAGES} messages sent through "
        "`conversations.actions.send_message` (the writer, one transaction each here).",
        "",
        "| members | SQL statements | rows inserted (message + event) | rows updated "
        "| notification rows | database growth |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        added = r["rows_added"]
        lines.append(
            f"| {r['members']:,} | {r['statements']:.0f} | "
            f"{added['message'] + added['event']:.0f} | {r['rows_updated']:.0f} | "
            f"{added['notification']:.0f} | "
            f"{r['bytes'] / 1024:.1f} KiB |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.write_cost", description=__doc__)
    parser.add_argument("--postgres", help="a PostgreSQL URL (its database is emptied)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/write_cost.md"))
    args = parser.parse_args()
    sections = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite+aiosqlite:///{tmp}/cost.db"
        sections.append(to_markdown(asyncio.run(measure(sqlite_url)), "SQLite"))
    if args.postgres:
        asyncio.run(reset_postgres(args.postgres))
        sections.append(to_markdown(asyncio.run(measure(args.postgres)), "PostgreSQL"))
    body = "# What one group message writes\n\n" + "\n".join(sections)
    args.out.write_text(body)
    print(body)


async def reset_postgres(url: str) -> None:
    """Empty a PostgreSQL database (its public schema) for a measurement."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
