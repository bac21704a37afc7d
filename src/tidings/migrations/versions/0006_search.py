"""search: a full-text index of message content

SQLite: ``message_fts``, an FTS5 table with external content (``content='message'``,
``content_rowid='id'``: the text is stored once, in ``message``), kept in step by three triggers
on ``message``, and filled from the messages already there ('rebuild'). Tokenizer ``unicode61
remove_diacritics 2`` (case and accents folded: "cafe" finds "Café"), with prefix indexes of 2 and
3 characters, so the word being typed is found as a prefix without scanning the whole vocabulary.
Every row is indexed, deleted ones too: a deleted message's content is "" (no tokens), and the
search leaves out ``deleted_at IS NOT NULL`` anyway. The update trigger fires on ``content`` only,
which is all the index holds.

PostgreSQL: a GIN index on ``to_tsvector('simple', content)``, an expression index rather than a
generated ``tsvector`` column: no table rewrite to add it, no second copy of every text, and no
column the ORM must know about. The 'simple' configuration lowercases and does not stem or drop
stop words: messages are in any language (a stemmer for the wrong one mangles words, and English
stop words would make "the who" unsearchable); it does not fold accents either (``unaccent`` is an
extension, and not immutable, so no index could use it). The queries must spell the expression
exactly as the index does (``tidings.search.queries``). ``IF NOT EXISTS``: on a large database,
build it beforehand without blocking writes, ``CREATE INDEX CONCURRENTLY
ix_message_content_search ON message USING gin (to_tsvector('simple'::regconfig, content))``,
and this migration leaves it be.

The rule for later migrations (SQLite): ``batch_alter_table("message")`` recreates the table
(create ``_alembic_tmp_message``, copy, ``DROP TABLE message``, rename), and dropping a table drops
its triggers: the index would silently stop following new, edited and deleted messages. Such a
migration must run ``SQLITE_TRIGGERS`` again after its batch block (copy them, as migrations copy
what they depend on), and 'rebuild' if it changed contents or ids. The FTS table itself survives:
it names its content table, which exists again after the rename, with the same ids.
``tests/search/test_migration.py`` shows both: a batch-altered ``message`` loses the triggers, and
the statements here restore them; and at head, a message written is indexed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 03:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TABLE = """
CREATE VIRTUAL TABLE message_fts USING fts5(
    content,
    content='message',
    content_rowid='id',
    tokenize='unicode61 remove_diacritics 2',
    prefix='2 3'
)
"""

SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER IF NOT EXISTS message_fts_insert AFTER INSERT ON message BEGIN
        INSERT INTO message_fts (rowid, content) VALUES (new.id, new.content);
    END
    """,
    # An external content table is told what it indexed: the old text, to take out.
    """
    CREATE TRIGGER IF NOT EXISTS message_fts_delete AFTER DELETE ON message BEGIN
        INSERT INTO message_fts (message_fts, rowid, content)
        VALUES ('delete', old.id, old.content);
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS message_fts_update AFTER UPDATE OF content ON message
    WHEN old.content IS NOT new.content BEGIN
        INSERT INTO message_fts (message_fts, rowid, content)
        VALUES ('delete', old.id, old.content);
        INSERT INTO message_fts (rowid, content) VALUES (new.id, new.content);
    END
    """,
)
SQLITE_TRIGGER_NAMES = ("message_fts_insert", "message_fts_delete", "message_fts_update")

POSTGRES_INDEX = """
CREATE INDEX IF NOT EXISTS ix_message_content_search ON message
USING gin (to_tsvector('simple'::regconfig, content))
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(SQLITE_TABLE)
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
        op.execute("INSERT INTO message_fts (message_fts) VALUES ('rebuild')")
    elif dialect == "postgresql":
        op.execute(POSTGRES_INDEX)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS message_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_message_content_search")
