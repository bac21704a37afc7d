"""appearance: each person's colour scheme

``user.theme``: ``system`` (follow the device's light or dark preference), ``light`` or
``dark``; the app page is rendered with it, so a reload never flashes the other scheme.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "user",
        sa.Column("theme", sa.String(length=8), nullable=False, server_default="system"),
    )


def downgrade() -> None:
    op.drop_column("user", "theme")
