"""Restoring an older server backup loses nothing: laptops notice the new log id, re-send their own
events and pull everything again (docs/server.md, "Backups")."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from shared.reference import counter_of
from sync_server.store import ServerStore
from tests.e2e.conftest import Laptop, ServerProcess
from tests.e2e.replicas import assert_replicas_equal, event_count
from tests.e2e.test_sync_e2e import register, sync
from wijkteam_tui.sync_client import SyncError, sync_once

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


def _open311(server: ServerProcess, token: str, text: str) -> str:
    r = httpx.post(
        server.url + "/open311/v2/requests.json",
        data={"api_key": token, "service_code": "verlichting/lantaarnpaal", "lat": "52.5101", "long": "6.2602",
              "description": text},
        timeout=30,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()[0]["service_request_id"]


def test_restore_refuses_a_live_server_and_the_server_counter_continues(
    server: ServerProcess, make_laptop: Callable[[str], Laptop], tmp_path: Path
) -> None:
    """Issue 11 §4: ``restore`` refuses while a server serves the database; afterwards the server's own
    reference counter continues past every number it handed out, also those only a laptop still holds."""
    a = make_laptop("anna")
    first = _open311(server, a.token, "voor de kopie")
    backup = tmp_path / "kopie.sqlite3"
    assert server.cli("backup", str(backup)).returncode == 0
    later = [_open311(server, a.token, f"na de kopie {i}") for i in range(3)]
    sync(a, server)  # only anna's laptop (and the database about to be lost) hold the later numbers
    live = server.cli("restore", str(backup))
    assert live.returncode == 1 and "draait nog" in live.stderr
    # nor does a second server start on the same file (a forgotten old unit beside a new one)
    second = server.cli("serve", "--host", "127.0.0.1", "--port", "0")
    assert second.returncode == 1 and f"(proces {server.proc.pid})" in second.stderr, second.stderr
    assert "luistert" not in second.stdout
    server.stop()
    server.db.unlink()  # the disk was lost: only the backup and the laptops are left
    for extra in ("-wal", "-shm"):
        Path(str(server.db) + extra).unlink(missing_ok=True)
    out = server.cli("restore", str(backup))
    assert out.returncode == 0, out.stderr
    server.start()
    sync(a, server)  # the new log id: anna re-sends her own work and reports the highest server number
    fresh = _open311(server, a.token, "na het terugzetten")
    assert counter_of(fresh) > max(counter_of(r) for r in [first, *later])
    assert server.cli("clashes", "list").stdout.strip().startswith("Geen dubbele")


def test_rotate_keeps_the_device_and_revoke_counts_what_the_server_has_not_seen(
    server: ServerProcess, make_laptop: Callable[[str], Laptop]
) -> None:
    a = make_laptop("anna")
    register(a, "gezien")
    sync(a, server)
    for i in range(3):
        register(a, f"nog niet verstuurd {i}")
    out = server.cli("user", "revoke", "anna")  # the server heard counter 1 at the last push, holds 1
    assert out.returncode == 0 and "minstens 0 nog niet gezien" in out.stdout, out.stdout
    assert "rotate" in out.stdout
    rotated = server.cli("user", "rotate", "anna")
    assert rotated.returncode == 0, rotated.stderr
    assert f"Apparaatcode: {a.code}" in rotated.stdout and "weer actief" in rotated.stdout
    new_token = re.search(r"Token[^:]*: (\S+)", rotated.stdout)
    assert new_token
    with pytest.raises(SyncError):
        sync_once(a.store, server.url, a.token)  # the old token is gone
    result = sync_once(a.store, server.url, new_token.group(1))
    assert result.pending == 0 and a.store.pending_count() == 0
    assert_replicas_equal(a.path, server.db)
    again = server.cli("user", "revoke", "anna")
    assert "had de laptop 4 events gemaakt; de server heeft er 4" in again.stdout, again.stdout
