"""message client ids: a send names its message, and sending that name again is the same message

``message.client_id`` holds the id the sending client generated (null for sends without one);
``(sender_id, client_id)`` is unique, so a repeated send (a retry after a lost answer, a double
submit, two processes racing) finds the message the first one stored instead of storing another.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_id", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "uq_message_sender_id_client_id", ["sender_id", "client_id"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("uq_message_sender_id_client_id")
        batch_op.drop_column("client_id")
