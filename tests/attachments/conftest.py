"""Attachment tests run on both stores: a directory and the database (on whichever database
the run is for: SQLite, or PostgreSQL with TIDINGS_TEST_BACKEND=postgres-redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.server import LiveServer
from tests.support.settings import make_settings, reset_postgres


@pytest.fixture(params=["directory", "database"])
async def server(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[LiveServer]:
    """The suite's ``server`` (see tests/conftest.py), once per attachment store."""
    marker = request.node.get_closest_marker("settings")
    overrides = {
        "attachment_storage": request.param,
        "attachments_dir": str(tmp_path / "attachments"),
        **(marker.kwargs if marker else {}),
    }
    settings = make_settings(tmp_path, **overrides)
    if settings.database_url.startswith("postgresql"):
        await reset_postgres(settings.database_url)
    live = LiveServer(settings)
    await live.start()
    yield live
    await live.stop()
