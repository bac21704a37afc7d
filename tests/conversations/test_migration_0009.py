"""Migration 0009 on SQLite and back: every existing group gets an owner (its creator, else its
longest-standing member), DMs none, and the new columns take their defaults."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from tidings.migrations import alembic_config

NOW = "2026-12-01 00:00:00"


def test_groups_get_their_creator_or_their_eldest_member_as_owner(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0008")
            for user_id in (1, 2, 3):
                connection.execute(
                    text(
                        "INSERT INTO user (id, username, display_name, password_hash, "
                        "created_at, bio) VALUES (:id, :name, :name, 'x', :now, '')"
                    ),
                    {"id": user_id, "name": f"user{user_id}", "now": NOW},
                )
            conversations = [
                (10, "group", 1),  # its creator is a member: the owner
                (11, "group", 1),  # its creator left: the eldest member owns it
                (12, "direct", 1),
            ]
            for conversation_id, kind, creator in conversations:
                connection.execute(
                    text(
                        "INSERT INTO conversation (id, type, name, created_by_id, created_at, "
                        "updated_at) VALUES (:id, :type, 'g', :creator, :now, :now)"
                    ),
                    {"id": conversation_id, "type": kind, "creator": creator, "now": NOW},
                )
            members = [
                (10, 1, "2026-11-01"),
                (10, 2, "2026-11-02"),
                (11, 3, "2026-11-03"),
                (11, 2, "2026-11-05"),
                (12, 1, "2026-11-01"),
                (12, 2, "2026-11-01"),
            ]
            for conversation_id, user_id, joined in members:
                connection.execute(
                    text(
                        "INSERT INTO conversation_member (conversation_id, user_id, joined_at) "
                        "VALUES (:c, :u, :joined)"
                    ),
                    {"c": conversation_id, "u": user_id, "joined": joined},
                )
            command.upgrade(alembic_config(connection), "0009")
            roles = connection.execute(
                text(
                    "SELECT conversation_id, user_id, role FROM conversation_member "
                    "ORDER BY conversation_id, user_id"
                )
            ).all()
            assert [tuple(r) for r in roles] == [
                (10, 1, "owner"),
                (10, 2, "member"),
                (11, 2, "member"),
                (11, 3, "owner"),
                (12, 1, "member"),
                (12, 2, "member"),
            ]
            settings = connection.execute(
                text("SELECT description, members_can_add, deleted_at FROM conversation")
            ).all()
            assert {tuple(s) for s in settings} == {("", 1, None)}
            command.downgrade(alembic_config(connection), "0008")
            columns = [c[1] for c in connection.execute(text("PRAGMA table_info(conversation)"))]
            assert "members_can_add" not in columns
    finally:
        engine.dispose()
