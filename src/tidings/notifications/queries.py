"""Reads for notifications."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidings.notifications.models import Notification


def unread_count(session: Session, user_id: int) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read.is_(False))
    )
    return int(count or 0)


def unread_counts(session: Session, user_ids: Sequence[int]) -> dict[int, int]:
    counts = dict.fromkeys(user_ids, 0)
    for start in range(0, len(user_ids), 5000):
        rows = session.execute(
            select(Notification.user_id, func.count())
            .where(
                Notification.user_id.in_(user_ids[start : start + 5000]),
                Notification.read.is_(False),
            )
            .group_by(Notification.user_id)
        )
        counts.update({uid: int(n) for uid, n in rows})
    return counts
