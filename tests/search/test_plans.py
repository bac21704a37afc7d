"""The search statement uses its index on the suite's backend: on SQLite FTS5 hands the rows out
newest first (no sort), on PostgreSQL the query spells the GIN index's expression exactly."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from tidings.search.queries import search_query


def _plan(session: Session) -> str:
    dialect = session.get_bind().dialect
    query = search_query(dialect.name, ["big", "hel"], 1, before=100, limit=21)
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if dialect.name == "sqlite":
        rows = session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
        return "\n".join(str(row[-1]) for row in rows)
    # The test tables are tiny: forbid the sequential scan a planner would rightly prefer.
    session.execute(text("SET LOCAL enable_seqscan = off"))
    return "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {sql}")))


async def test_the_search_uses_the_index(server):
    plan = await server.ctx.db.run_query(_plan)
    if server.settings.database_url.startswith("sqlite"):
        assert "VIRTUAL TABLE" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    else:
        assert "ix_message_content_search" in plan, plan
