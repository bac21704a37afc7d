"""Migration 0006 on SQLite: the FTS5 index is filled from existing messages and follows every
write through its triggers, and what a later batch migration of ``message`` does to them."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Connection, Engine, create_engine, text

from tidings.migrations import alembic_config

search_migration: ModuleType = importlib.import_module("tidings.migrations.versions.0006_search")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    yield engine
    engine.dispose()


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    with engine.begin() as connection:
        config = alembic_config(connection)
        (command.downgrade if down else command.upgrade)(config, revision)


def _add(connection: Connection, message_id: int, content: str) -> None:
    # Foreign keys are off on this plain connection: a message needs no user or conversation.
    connection.execute(
        text(
            "INSERT INTO message (id, conversation_id, sender_id, content, created_at) "
            "VALUES (:id, 1, 1, :content, '2026-12-01 00:00:00')"
        ),
        {"id": message_id, "content": content},
    )


def _found(connection: Connection, word: str) -> list[int]:
    rows = connection.execute(
        text("SELECT rowid FROM message_fts WHERE message_fts MATCH :q ORDER BY rowid"),
        {"q": f'"{word}"'},
    )
    return [row[0] for row in rows]


def _check_integrity(connection: Connection) -> None:
    """FTS5 compares its index with the content table (raises if they differ)."""
    connection.execute(text("INSERT INTO message_fts (message_fts) VALUES ('integrity-check')"))


def _triggers(connection: Connection) -> set[str]:
    rows = connection.execute(
        text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'message'")
    )
    return {row[0] for row in rows}


def test_existing_messages_are_indexed(engine):
    _migrate(engine, "0005")
    with engine.begin() as connection:
        _add(connection, 1, "old news")
        _add(connection, 2, "older news")
    _migrate(engine, "head")
    with engine.begin() as connection:
        assert _found(connection, "news") == [1, 2]
        assert _triggers(connection) == set(search_migration.SQLITE_TRIGGER_NAMES)
        _check_integrity(connection)


def test_the_index_follows_inserts_edits_and_deletes(engine):
    _migrate(engine, "head")
    with engine.begin() as connection:
        _add(connection, 1, "first draft")
        _add(connection, 2, "second draft")
        connection.execute(text("UPDATE message SET content = 'final text' WHERE id = 1"))
        connection.execute(
            text("UPDATE message SET content = '', deleted_at = '2026-12-01' WHERE id = 2")
        )
        _add(connection, 3, "third draft")
        connection.execute(text("DELETE FROM message WHERE id = 3"))
        assert _found(connection, "draft") == []
        assert _found(connection, "final") == [1]
        connection.execute(text("UPDATE message SET edited_at = '2026-12-01' WHERE id = 1"))
        assert _found(connection, "final") == [1]
        _check_integrity(connection)


def test_a_batch_migration_of_message_drops_the_triggers_until_it_restores_them(engine):
    """The rule of migration 0006's docstring, shown: SQLite batch mode recreates ``message``,
    which drops its triggers; running ``SQLITE_TRIGGERS`` again after the batch restores them.
    The FTS table and what it indexed survive."""
    _migrate(engine, "head")
    with engine.begin() as connection:
        _add(connection, 1, "before the batch")
        operations = Operations(MigrationContext.configure(connection))
        with operations.batch_alter_table("message", recreate="always") as batch:
            batch.add_column(sa.Column("future", sa.Integer(), nullable=True))
        assert _triggers(connection) == set()
        _add(connection, 2, "lost after the batch")
        assert _found(connection, "before") == [1]
        assert _found(connection, "lost") == []  # the hazard

        for statement in search_migration.SQLITE_TRIGGERS:
            connection.execute(text(statement))
        connection.execute(text("INSERT INTO message_fts (message_fts) VALUES ('rebuild')"))
        assert _triggers(connection) == set(search_migration.SQLITE_TRIGGER_NAMES)
        _add(connection, 3, "found after the batch")
        assert _found(connection, "batch") == [1, 2, 3]
        _check_integrity(connection)


def test_downgrade_and_upgrade_again(engine):
    _migrate(engine, "head")
    with engine.begin() as connection:
        _add(connection, 1, "kept across")
    _migrate(engine, "0005", down=True)
    with engine.begin() as connection:
        assert _triggers(connection) == set()
        tables = connection.execute(
            text("SELECT name FROM sqlite_master WHERE name LIKE 'message_fts%'")
        )
        assert tables.all() == []
        _add(connection, 2, "written meanwhile")
    _migrate(engine, "head")
    with engine.begin() as connection:
        assert _found(connection, "kept") == [1]
        assert _found(connection, "meanwhile") == [2]
