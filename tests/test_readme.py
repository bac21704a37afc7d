"""The README's API table lists every operation the OpenAPI document describes."""

from __future__ import annotations

import re
from pathlib import Path

from tidings.app import create_app
from tidings.config import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_api_table_lists_every_route() -> None:
    openapi = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()
    documented = {
        f"{method.upper()} {path}" for path, item in openapi["paths"].items() for method in item
    }
    section = README.read_text().split("## API\n", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([A-Z]+ /[^`]*)` \|", section, flags=re.MULTILINE))
    assert listed == documented
