"""Alembic environment: always handed a connection by ``tidings.migrations``."""

from __future__ import annotations

from alembic import context

import tidings.models  # noqa: F401  (registers every table)
from tidings.db import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `tidings migrate`, which provides the connection")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
