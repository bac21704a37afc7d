"""The web client's static files of recent releases, kept in the database (``releases.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from tidings.db import Base, UTCDateTime, utcnow


class StaticFile(Base):
    """One static file of one release (a version of the files under ``static/``), as served."""

    __tablename__ = "static_file"

    release: Mapped[str] = mapped_column(String(12))
    """The release's version (``AssetManifest.version``)."""
    path: Mapped[str] = mapped_column(String(300))
    """Relative to ``static/``: ``js/app.js``."""
    url: Mapped[str] = mapped_column(String(320))
    """Its content-hashed URL: ``/static/js/app.3f9a1c2b.js``."""
    media_type: Mapped[str] = mapped_column(String(100))
    gzipped: Mapped[bytes] = mapped_column(LargeBinary)
    """Its bytes as served (references renamed), gzipped."""
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    """When a process of this release last started."""

    __table_args__ = (
        PrimaryKeyConstraint("release", "path"),
        Index("ix_static_file_url", "url"),
    )
