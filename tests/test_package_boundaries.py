"""The packages' import rules, checked statically over the source (imports inside functions count).

* ``shared`` is the pure domain: it imports none of the other packages.
* ``wijkteam_store`` (storage) and ``wijkteam_reports`` (barometer reports) serve both ends: they
  import neither the app nor the server.
* The laptop app (``wijkteam_tui``) and the server (``sync_server``) never import each other.

A static walk over every ``import`` / ``from … import`` node sees what a run-time check misses: an
import inside a function that no test happens to call.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("shared", "wijkteam_store", "wijkteam_reports", "wijkteam_tui", "sync_server")

#: package → the project packages it must never import.
FORBIDDEN: dict[str, set[str]] = {
    "shared": {"wijkteam_store", "wijkteam_reports", "wijkteam_tui", "sync_server"},
    "wijkteam_store": {"wijkteam_reports", "wijkteam_tui", "sync_server"},
    "wijkteam_reports": {"wijkteam_tui", "sync_server"},
    "wijkteam_tui": {"sync_server"},
    "sync_server": {"wijkteam_tui"},
}


def imported_packages(source: str) -> set[tuple[str, int]]:
    """Top-level package names imported anywhere in ``source``, with the line of each import."""
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def violations(package: str) -> list[str]:
    """``file:line imports X`` for every forbidden import in ``package``."""
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name, line in sorted(imported_packages(path.read_text(encoding="utf-8"))):
            if name in FORBIDDEN[package]:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return out


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_it_may(package: str) -> None:
    assert violations(package) == []


def test_the_check_sees_an_import_inside_a_function() -> None:
    source = "def f():\n    from sync_server.store import ServerStore\n    import wijkteam_tui.app\n"
    assert imported_packages(source) == {("sync_server", 2), ("wijkteam_tui", 3)}
