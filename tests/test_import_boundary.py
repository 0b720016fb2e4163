"""shared/ is the pure domain: it imports no UI, web or database library, and documents its API."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys

import pytest

import shared

FORBIDDEN = ("textual", "litestar", "httpx", "sqlite_utils")

SCRIPT = """
import importlib, json, pkgutil, sys
import shared
names = [m.name for m in pkgutil.walk_packages(shared.__path__, "shared.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


def shared_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(shared.__path__, "shared."))


def test_shared_imports_no_ui_web_or_database_library():
    # A fresh interpreter: the test process itself has textual etc. loaded by other tests.
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=120)
    result = json.loads(out.stdout)
    assert {"shared.fold", "shared.events", "shared.commands", "shared.validation"} <= set(result["imported"])
    leaked = sorted(m for m in result["loaded"] if m.split(".")[0] in FORBIDDEN)
    assert leaked == [], f"shared/ pulled in {leaked}"


def test_the_check_would_notice_a_forbidden_import():
    # The same detection, fed a module that does import one of them, must see it.
    probe = "import json, sys; import httpx; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert "httpx" in {m.split(".")[0] for m in json.loads(out.stdout)}


def _undocumented(module_name: str) -> list[str]:
    mod = importlib.import_module(module_name)
    missing = [] if (mod.__doc__ or "").strip() else [module_name]
    for name, obj in vars(mod).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module_name:
            continue
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if not (inspect.getdoc(obj) or "").strip() or (inspect.isclass(obj) and "__doc__" not in vars(obj)):
            missing.append(f"{module_name}.{name}")
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                func = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
                if inspect.isfunction(func) and not (func.__doc__ or "").strip():
                    missing.append(f"{module_name}.{name}.{attr}")
    return missing


@pytest.mark.parametrize("module_name", shared_modules())
def test_public_api_has_docstrings(module_name):
    assert _undocumented(module_name) == []
