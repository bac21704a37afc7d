"""``db.Prepared``: compiled once, run on the DBAPI cursor, yet failing as SQLAlchemy would."""

from __future__ import annotations

from typing import cast

import pytest
from sqlalchemy import Table, bindparam, insert
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.orm import Session

from tests.support.server import LiveServer
from tidings.accounts.models import User
from tidings.db import Prepared, utcnow

_users = cast(Table, User.__table__)
_INSERT_USER = Prepared(
    insert(_users)
    .values(
        username=bindparam("name"),
        display_name=bindparam("name"),
        password_hash=bindparam("name"),
        created_at=bindparam("now"),
        # Python-side defaults: a compiled statement needs their values.
        bio=bindparam("bio"),
        hide_presence=bindparam("off"),
        send_read_receipts=bindparam("on"),
        desktop_notifications=bindparam("on"),
        notification_sound=bindparam("on"),
        theme=bindparam("theme"),
    )
    .returning(_users.c.id)
)


def _insert_twice(session: Session) -> tuple[int, int]:
    row = {"name": "prepared", "bio": "", "on": True, "off": False, "theme": "system"}
    (first,) = _INSERT_USER.first(session, {**row, "now": utcnow()})
    (again,) = _INSERT_USER.first(session, {**row, "now": utcnow()})
    return first, again


async def test_a_failing_prepared_statement_raises_sqlalchemys_error(server: LiveServer):
    with pytest.raises(sqlalchemy_exc.IntegrityError):  # a DBAPIError, as the API expects
        async with server.ctx.db.write() as session:
            await session.run_sync(_insert_twice)
    async with server.ctx.db.query_session() as session:  # and nothing of it was kept
        assert (
            await session.run_sync(lambda s: s.query(User).filter_by(username="prepared").count())
        ) == 0
