"""Restoring an older server backup loses nothing: laptops notice the new log id, re-send their own
events and pull everything again (docs/server.md, "Backups")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sync_server.store import ServerStore
from tests.e2e.conftest import Laptop, ServerProcess
from tests.e2e.replicas import assert_replicas_equal, event_count
from tests.e2e.test_sync_e2e import register, sync

pytestmark = pytest.mark.e2e


def _log_id(db: Path) -> int:
    store = ServerStore(db)
    try:
        return store.log_id()
    finally:
        store.close()


def test_restoring_an_older_backup_loses_and_doubles_nothing(
    server: ServerProcess, make_laptop: Callable[[str], Laptop], tmp_path: Path
) -> None:
    a, b = make_laptop("anna"), make_laptop("bram")
    for lap in (a, b):
        register(lap, f"{lap.name}: voor de reservekopie")
        sync(lap, server)
    backup = tmp_path / "kopie.sqlite3"
    assert server.cli("backup", str(backup)).returncode == 0
    # After the backup: more work reaches the server and both laptops pull past it.
    register(a, "anna: na de reservekopie 1")
    register(a, "anna: na de reservekopie 2")
    register(b, "bram: na de reservekopie")
    for lap in (a, b, a):
        sync(lap, server)
    before = _log_id(server.db)

    server.stop()
    out = server.cli("restore", str(backup))
    assert out.returncode == 0, out.stderr
    assert "nieuw id" in out.stdout
    assert _log_id(server.db) not in (0, before)
    server.start()
    assert event_count(server.db) == 2  # the restored log lacks the three later meldingen
    # A new laptop works first: its events take server_seq numbers the others already pulled past.
    c = make_laptop("cees")
    register(c, "cees: na het terugzetten")
    sync(c, server)

    for lap in (a, b, c, a, b):
        sync(lap, server)
    rows = assert_replicas_equal(a.path, b.path, c.path, server.db)
    assert len(rows) == 6 and event_count(server.db) == 6
    assert sorted(r["omschrijving"] for r in rows.values()) == sorted([
        "anna: voor de reservekopie", "bram: voor de reservekopie", "anna: na de reservekopie 1",
        "anna: na de reservekopie 2", "bram: na de reservekopie", "cees: na het terugzetten",
    ])  # fmt: skip
    assert all(lap.store.pending_count() == 0 for lap in (a, b, c))


def test_restore_refuses_what_is_not_a_backup(server: ServerProcess, tmp_path: Path) -> None:
    missing = server.cli("restore", str(tmp_path / "bestaat-niet.sqlite3"))
    assert missing.returncode == 1 and "bestaat niet" in missing.stderr
    junk = tmp_path / "geen-kopie.sqlite3"
    junk.write_text("dit is geen database")
    out = server.cli("restore", str(junk))
    assert out.returncode == 1 and "geen reservekopie" in out.stderr and "Traceback" not in out.stderr
