"""attachments: uploads, and the blobs they point at (stored once, by SHA-256)

``attachment_blob`` registers every stored blob (its bytes are in a directory, or in
``attachment_blob_chunk`` for the database storage); ``attachment`` is one upload, unsent until
a message claims it. On PostgreSQL the chunks are stored uncompressed (media files do not
compress; an uncompressed value can be sliced without reading all of it).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachment_blob",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_attachment_blob")),
    )
    op.create_table(
        "attachment_blob_chunk",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["attachment_blob.sha256"],
            name=op.f("fk_attachment_blob_chunk_sha256_attachment_blob"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sha256", "seq", name=op.f("pk_attachment_blob_chunk")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE attachment_blob_chunk ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uploader_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("blob_sha256", sa.String(length=64), nullable=False),
        sa.Column("thumbnail_sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploader_id"],
            ["user.id"],
            name=op.f("fk_attachment_uploader_id_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_attachment_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_attachment_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["blob_sha256"],
            ["attachment_blob.sha256"],
            name=op.f("fk_attachment_blob_sha256_attachment_blob"),
        ),
        sa.ForeignKeyConstraint(
            ["thumbnail_sha256"],
            ["attachment_blob.sha256"],
            name=op.f("fk_attachment_thumbnail_sha256_attachment_blob"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
        # An attachment's URL names its id and is cached for good: an id is never reused
        # (SQLite reuses the highest deleted rowid without AUTOINCREMENT).
        sqlite_autoincrement=True,
    )
    op.create_index("ix_attachment_message_id_position", "attachment", ["message_id", "position"])
    op.create_index(
        "ix_attachment_uploader_id_created_at", "attachment", ["uploader_id", "created_at"]
    )
    op.create_index("ix_attachment_created_at", "attachment", ["created_at"])
    op.create_index(op.f("ix_attachment_blob_sha256"), "attachment", ["blob_sha256"])
    op.create_index(op.f("ix_attachment_thumbnail_sha256"), "attachment", ["thumbnail_sha256"])


def downgrade() -> None:
    op.drop_index(op.f("ix_attachment_thumbnail_sha256"), table_name="attachment")
    op.drop_index(op.f("ix_attachment_blob_sha256"), table_name="attachment")
    op.drop_index("ix_attachment_created_at", table_name="attachment")
    op.drop_index("ix_attachment_uploader_id_created_at", table_name="attachment")
    op.drop_index("ix_attachment_message_id_position", table_name="attachment")
    op.drop_table("attachment")
    op.drop_table("attachment_blob_chunk")
    op.drop_table("attachment_blob")
