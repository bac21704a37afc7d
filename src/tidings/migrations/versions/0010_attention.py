"""attention: per-user settings, last seen, muted conversations, blocks

``user`` gains its attention settings (``hide_presence``, ``send_read_receipts``,
``desktop_notifications``, ``notification_sound``) and ``last_seen_at`` (written in batches by
the presence tracker, never per connect). ``conversation_member`` gains ``muted_until`` (null:
not muted; ``MUTED_FOREVER``: until unmuted). ``conversation`` gains ``blocked``: a DM whose
members are in a block (either way), read by the send path's member check with the
membership. ``block`` holds who blocked whom.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for name, default in (
        ("hide_presence", sa.false()),
        ("send_read_receipts", sa.true()),
        ("desktop_notifications", sa.true()),
        ("notification_sound", sa.true()),
    ):
        op.add_column("user", sa.Column(name, sa.Boolean(), nullable=False, server_default=default))
    op.add_column("user", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "conversation_member",
        sa.Column("muted_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "conversation",
        sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "block",
        sa.Column(
            "blocker_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "blocked_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("blocker_id", "blocked_id"),
    )
    op.create_index("ix_block_blocked_id", "block", ["blocked_id"])


def downgrade() -> None:
    op.drop_index("ix_block_blocked_id", table_name="block")
    op.drop_table("block")
    op.drop_column("conversation", "blocked")
    op.drop_column("conversation_member", "muted_until")
    for name in (
        "last_seen_at",
        "notification_sound",
        "desktop_notifications",
        "send_read_receipts",
        "hide_presence",
    ):
        op.drop_column("user", name)
