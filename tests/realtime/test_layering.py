"""realtime is the lowest layer: generic machinery that no domain needs to edit to use.

Read from the source with ``ast`` (not by importing), so an import inside a function, or one
under ``TYPE_CHECKING``, counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tidings.realtime

DOMAINS = ("accounts", "friends", "conversations", "notifications")
REALTIME_DIR = Path(tidings.realtime.__file__).parent


def _imported_modules(path: Path, root: Path = REALTIME_DIR) -> list[tuple[int, str]]:
    """Every module a source file under ``root`` (the realtime package) imports, relative
    imports resolved, with its line."""
    package = "tidings." + ".".join(path.relative_to(root.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return found


def _is_domain(module: str) -> bool:
    return any(module == f"tidings.{d}" or module.startswith(f"tidings.{d}.") for d in DOMAINS)


def test_the_walk_sees_the_modules_it_must_check() -> None:
    files = sorted(REALTIME_DIR.rglob("*.py"))
    names = {str(path.relative_to(REALTIME_DIR)) for path in files}
    assert {"events.py", "hub.py", "log.py", "stream.py", "brokers/redis.py"} <= names


@pytest.mark.parametrize(
    "source",
    [
        "from tidings.accounts.models import User",
        "import tidings.friends.schemas",
        "from tidings import conversations",
        "from ...notifications import queries",
        "def f():\n    from tidings.accounts import deps\n",
    ],
)
def test_the_check_catches_a_domain_import(source: str, tmp_path: Path) -> None:
    package = tmp_path / "realtime" / "brokers"
    package.mkdir(parents=True)
    module = package / "x.py"
    module.write_text(source)
    imported = _imported_modules(module, root=tmp_path / "realtime")
    assert any(_is_domain(name) for _, name in imported)


def test_realtime_imports_no_domain() -> None:
    offending = [
        f"{path.relative_to(REALTIME_DIR.parent)}:{line} imports {name}"
        for path in sorted(REALTIME_DIR.rglob("*.py"))
        for line, name in _imported_modules(path)
        if _is_domain(name)
    ]
    assert offending == []
