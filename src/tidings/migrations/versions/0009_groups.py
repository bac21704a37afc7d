"""groups: member roles, group settings, system lines, deleted groups

``conversation_member.role`` (owner / admin / member): each group's creator becomes its owner;
a group whose creator has left gets its longest-standing member as owner (so every group has
one). ``conversation`` gains ``description``, ``avatar_key``, ``members_can_add`` (true: what
groups allowed so far), ``deleted_at`` and ``closed_at`` (a DM whose other member is gone); ``message`` gains ``system`` (a system line's JSON).

Columns are added with ``ADD COLUMN`` on both databases: ``message`` is not recreated, so the
search index's triggers (0006) stay.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNERS_FROM_CREATORS = """
UPDATE conversation_member SET role = 'owner'
WHERE EXISTS (
    SELECT 1 FROM conversation c
    WHERE c.id = conversation_member.conversation_id
      AND c.type = 'group'
      AND c.created_by_id = conversation_member.user_id
)
"""
OWNERS_FOR_ORPHANED_GROUPS = """
UPDATE conversation_member SET role = 'owner'
WHERE EXISTS (
    SELECT 1 FROM conversation c WHERE c.id = conversation_member.conversation_id
      AND c.type = 'group'
)
AND NOT EXISTS (
    SELECT 1 FROM conversation_member o
    WHERE o.conversation_id = conversation_member.conversation_id AND o.role = 'owner'
)
AND NOT EXISTS (
    SELECT 1 FROM conversation_member e
    WHERE e.conversation_id = conversation_member.conversation_id
      AND (e.joined_at < conversation_member.joined_at
           OR (e.joined_at = conversation_member.joined_at
               AND e.user_id < conversation_member.user_id))
)
"""


def upgrade() -> None:
    op.add_column(
        "conversation_member",
        sa.Column("role", sa.String(length=16), nullable=False, server_default="member"),
    )
    op.add_column(
        "conversation",
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
    )
    op.add_column("conversation", sa.Column("avatar_key", sa.String(length=64), nullable=True))
    op.add_column(
        "conversation",
        sa.Column("members_can_add", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "conversation", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("conversation", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("message", sa.Column("system", sa.JSON(), nullable=True))
    op.execute(OWNERS_FROM_CREATORS)
    op.execute(OWNERS_FOR_ORPHANED_GROUPS)


def downgrade() -> None:
    op.drop_column("message", "system")
    for column in ("closed_at", "deleted_at", "members_can_add", "avatar_key", "description"):
        op.drop_column("conversation", column)
    op.drop_column("conversation_member", "role")
