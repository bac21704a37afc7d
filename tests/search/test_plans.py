"""The search statement uses its index on the suite's backend: on SQLite FTS5 hands the rows out
newest first (no sort), on PostgreSQL the query spells the GIN index's expression exactly."""

from __future__ import annotations

from sqlalchemy import Select, text
from sqlalchemy.orm import Session

from tidings.search.queries import postgres_query, sqlite_query


def _plan(session: Session) -> str:
    dialect = session.get_bind().dialect
    query: Select[int, str]
    if dialect.name == "sqlite":
        query = sqlite_query(["big", "hel"], 1, before=100, limit=21)
    else:
        query = postgres_query(["big", "hel"], [1, 2, 3], before=100, limit=21)
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if dialect.name == "sqlite":
        rows = session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
        return "\n".join(str(row[-1]) for row in rows)
    # The test tables are tiny: take away the scans a planner would rightly prefer on them (in
    # this transaction only, which is rolled back).
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_indexscan = off"))
    session.execute(text("DROP INDEX ix_message_conversation_id_id"))
    return "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {sql}")))


async def test_the_search_uses_the_index(server):
    plan = await server.ctx.db.run_query(_plan)
    if server.settings.database_url.startswith("sqlite"):
        assert "VIRTUAL TABLE" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    else:
        assert "ix_message_content_search" in plan, plan
