"""static releases: the web client's static files of recent releases, for rolling deploys

``static_file``: every static file of each recent release (``tidings/web/releases.py``), so a
process serves the content-hashed URLs of the other versions running during a rolling deploy
(and of pages opened before it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "static_file",
        sa.Column("release", sa.String(length=12), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("url", sa.String(length=320), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("gzipped", sa.LargeBinary(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("release", "path"),
    )
    op.create_index("ix_static_file_url", "static_file", ["url"])


def downgrade() -> None:
    op.drop_index("ix_static_file_url", table_name="static_file")
    op.drop_table("static_file")
