"""one event log: channel events stored once, positions over the whole log, derived unreads

The per-user event log (``event`` keyed by user and per-user ``seq``, with the counter in
``user.event_seq``) becomes one log with a position per event (``event.pos``, head and floor in
``event_log``), each event addressed to a user or to a channel (a conversation) and stored once;
``channel_span`` says which positions of a channel each member gets. Unread counts
(``conversation_member.unread_count``) and message notifications are derived from read
positions instead of written per member per message.

Old event ids mean nothing in the new log: the floor starts above every old id, so a client
resuming from one gets ``resync`` (it refetches its state) instead of a wrong replay.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    old_max = bind.execute(sa.text('SELECT COALESCE(MAX(event_seq), 0) FROM "user"')).scalar()
    start = int(old_max or 0) + 1 if old_max else 0

    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_created_at"))
    op.drop_table("event")
    op.create_table(
        "event",
        sa.Column("pos", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_event_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pos", name=op.f("pk_event")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            "ix_event_user_id_pos",
            ["user_id", "pos"],
            unique=False,
            sqlite_where=sa.text("user_id IS NOT NULL"),
            postgresql_where=sa.text("user_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_event_channel_id_pos",
            ["channel_id", "pos"],
            unique=False,
            sqlite_where=sa.text("channel_id IS NOT NULL"),
            postgresql_where=sa.text("channel_id IS NOT NULL"),
        )
    log = op.create_table(
        "event_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("head", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("floor", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_log")),
    )
    op.bulk_insert(log, [{"id": 1, "head": start, "floor": start}])
    op.create_table(
        "channel_span",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("joined_pos", sa.BigInteger(), nullable=False),
        sa.Column("left_pos", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_channel_span_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_span")),
    )
    with op.batch_alter_table("channel_span", schema=None) as batch_op:
        batch_op.create_index(
            "ix_channel_span_user_id_channel_id", ["user_id", "channel_id"], unique=False
        )
        batch_op.create_index("ix_channel_span_channel_id", ["channel_id"], unique=False)
    # Every current member is a member from the log's start on.
    bind.execute(
        sa.text(
            "INSERT INTO channel_span (channel_id, user_id, joined_pos)"
            " SELECT conversation_id, user_id, :start FROM conversation_member"
        ),
        {"start": start},
    )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("event_seq")
    with op.batch_alter_table("conversation_member", schema=None) as batch_op:
        batch_op.drop_column("unread_count")
    bind.execute(sa.text("DELETE FROM notification WHERE type = 'message'"))


def downgrade() -> None:
    raise NotImplementedError("0002 cannot be undone: restore a backup taken before upgrading")
