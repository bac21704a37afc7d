"""user search: a trigram index of usernames and display names

``user_search_gram (gram, user_id)``, primary key (gram, user_id), ``WITHOUT ROWID`` on SQLite
(the key is the table: a gram's users are one range of it), the gram in the "C" collation on
PostgreSQL (ranges of grams are ranges of code points), and an index on ``user_id`` so that
re-indexing or deleting one user does not scan. What it holds and how it is searched:
``tidings.accounts.directory``. Existing users are indexed here, a thousand at a time, with the
directory's own ``user_grams``: the index is only useful if it was built exactly as the searches
read it, so this migration uses that definition rather than a copy that could drift.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tidings.accounts.directory import user_grams

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000


def upgrade() -> None:
    grams = op.create_table(
        "user_search_gram",
        sa.Column(
            "gram",
            sa.String(4).with_variant(sa.String(4, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_user_search_gram_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("gram", "user_id", name=op.f("pk_user_search_gram")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_user_search_gram_user_id", "user_search_gram", ["user_id"])
    users = sa.table(
        "user", sa.column("id", sa.Integer), sa.column("username"), sa.column("display_name")
    )
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(users.c.id, users.c.username, users.c.display_name)
            .where(users.c.id > last_id)
            .order_by(users.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        values = [
            {"gram": gram, "user_id": user_id}
            for user_id, username, display_name in rows
            for gram in sorted(user_grams(username, display_name))
        ]
        if values:
            connection.execute(sa.insert(grams), values)
        last_id = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_user_search_gram_user_id", table_name="user_search_gram")
    op.drop_table("user_search_gram")
