"""message features: replies, edits (with their history), deletion, reactions

``message`` gains ``reply_to_id``, ``edited_at`` and ``deleted_at``; ``message_edit`` keeps the
content each edit replaced; ``message_reaction`` holds one row per person, emoji and message.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            "fk_message_reply_to_id_message",
            "message",
            ["reply_to_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "message_edit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_message_edit_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_edit")),
    )
    op.create_index(op.f("ix_message_edit_message_id"), "message_edit", ["message_id"])
    op.create_table(
        "message_reaction",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("emoji", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_message_reaction_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_message_reaction_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", "emoji", "user_id", name=op.f("pk_message_reaction")),
    )
    op.create_index(op.f("ix_message_reaction_user_id"), "message_reaction", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_message_reaction_user_id"), table_name="message_reaction")
    op.drop_table("message_reaction")
    op.drop_index(op.f("ix_message_edit_message_id"), table_name="message_edit")
    op.drop_table("message_edit")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint("fk_message_reply_to_id_message", type_="foreignkey")
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("edited_at")
        batch_op.drop_column("reply_to_id")
