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


# -- import cycles -----------------------------------------------------------------------------------------

#: Import loops still in the code, each with why it is there and who removes it. Every other loop fails
#: the test, and so does one of these growing (a loop may only shrink). Issue 17 §1 removed
#: ``shared.barometer`` ↔ ``shared.certificering`` and ``wijkteam_tui.app`` ↔ ``wijkteam_tui.screens.help``; §5
#: ``wijkteam_tui.sync_client`` ↔ ``wijkteam_tui.snapshot_client`` (both use ``wijkteam_tui.server_client``);
#: the server CLI ↔ its sub-CLIs (the shared ``--db`` and store opening are in ``sync_server.cli_common``).
KNOWN_LOOPS: dict[frozenset[str], str] = {
    frozenset({"shared.certificering", "shared.gemeente", "shared.taxonomy", "shared.wijken"}): (
        "the configuration in force: load_taxonomy/load_wijken/load_criteria ask shared.gemeente, which is "
        "built from their types"
    ),
    frozenset({"sync_server.audit", "sync_server.cli_common", "sync_server.gemeente_config", "sync_server.server_config"}): (
        "modules that carry both a rule (the stored configuration, the settings file, the audit) and their own "
        "subcommands, which open the store through sync_server.cli_common"
    ),
    frozenset(
        {
            "wijkteam_tui.location.widgets",
            "wijkteam_tui.screens.detail",
            "wijkteam_tui.screens.dialogs",
            "wijkteam_tui.screens.edit",
            "wijkteam_tui.widgets",
        }
    ): "screens open each other's dialogs and the form opens the address chooser (imports inside functions)",
}


def module_files(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` file of ``packages`` under ``root``."""
    out = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _type_checking_only(tree: ast.Module) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:``: annotations only, never imported at run time."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                skip.update(id(n) for n in ast.walk(inner))
    return skip


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module → the project modules it imports, anywhere in the file (inside functions too).

    ``from a.b import c`` points at module ``a.b.c`` when that is a module, else at ``a.b``; ``import a.b``
    at the longest prefix that is a module. Relative imports are resolved. A package's ``__init__`` is the
    node of the package's own name; importing a submodule is not counted as importing its package.
    """
    files = module_files(root, packages)

    def known(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_only(tree)
        here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        targets: set[str | None] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets.update(known(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = ".".join([*here[: len(here) - node.level + 1], *([node.module] if node.module else [])])
                base = base if node.level else node.module or ""
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.add(sub if sub in files else known(base))
        graph[module] = {t for t in targets if t and t != module}
    return graph


def loops(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The import loops of ``graph``: its strongly connected components of more than one module
    (Tarjan's algorithm, iterative so a deep graph cannot hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
    return found


def test_no_import_loops_beyond_the_known_ones() -> None:
    unexplained = [
        sorted(loop) for loop in loops(import_graph(ROOT, PACKAGES)) if not any(loop <= k for k in KNOWN_LOOPS)
    ]
    assert unexplained == []


def test_the_loop_check_sees_a_loop_through_an_import_inside_a_function(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg.sub import b\n")
    (tmp_path / "pkg" / "sub" / "b.py").write_text("def f():\n    from .c import g\n")
    (tmp_path / "pkg" / "sub" / "c.py").write_text("def g():\n    from .. import a\n")
    (tmp_path / "pkg" / "d.py").write_text("import pkg.a\nif TYPE_CHECKING:\n    from pkg import d2\n")
    (tmp_path / "pkg" / "d2.py").write_text("from pkg import d\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.a"] == {"pkg.sub.b"}
    assert graph["pkg.sub.b"] == {"pkg.sub.c"}
    assert graph["pkg.sub.c"] == {"pkg.a"}
    assert loops(graph) == [frozenset({"pkg.a", "pkg.sub.b", "pkg.sub.c"})]
