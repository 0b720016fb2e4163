"""Backups of a PostgreSQL store (issue 17 §3): ``wijkteam-server backup`` writes a pg_dump archive while
the store is in use, ``restore`` puts it back with a new log id and the server's reference counter past
every number it handed out, and refuses while another session (a running server) uses the database.

PostgreSQL only by nature (SQLite's backups: tests/e2e/test_restore.py); each test has a database of
its own (a dump holds a whole database, not a schema).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import commands
from shared.commands import SERVER_DEVICE
from shared.enums import Role
from shared.events import MeldingFields
from shared.hlc import HLC
from shared.model import Melder
from sync_server.cli import main
from sync_server.storage.engines import DATA_DIR_ENV
from sync_server.store import ServerStore
from tests import backends, pg_cluster


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    try:
        made = backends.new_database_url("backup")
    except pg_cluster.Unavailable as exc:
        pytest.skip(f"PostgreSQL niet beschikbaar: {exc}")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "pg-files"))
    yield made
    backends.cluster().drop_database(made)


def _register(store: ServerStore, dev: commands.DeviceClock, first: int, n: int) -> None:
    store.ingest([
        commands.register(dev, prefix="DLF", counter=i, fields=MeldingFields(omschrijving=f"Tegel {i}", melder=Melder(naam=f"Jan {i}")))
        for i in range(first, first + n)
    ])  # fmt: skip


def _open311(store: ServerStore) -> None:
    store.append_server_events(
        "open311:test",
        lambda dev, nxt: [commands.register(dev, prefix="DLF", counter=nxt(), fields=MeldingFields(omschrijving="Via de website"))],
    )


def test_backup_then_restore_brings_the_log_back_with_a_new_id(url: str, tmp_path: Path, capsys) -> None:
    store = ServerStore(url)
    _, code = store.add_user("anna", Role.WIJKUITVOERDER)
    dev = commands.DeviceClock(code or "", "anna", hlc=HLC())
    _register(store, dev, 1, 3)
    _open311(store)
    before_id = store.log_id()
    store.close()

    folder = tmp_path / "kopieen"
    folder.mkdir()
    assert main(["backup", str(folder), "--keep", "1", "--db", url]) == 0
    (dump,) = folder.glob("wijkteam-*.dump")
    assert "Reservekopie geschreven" in capsys.readouterr().out

    store = ServerStore(url)
    _register(store, dev, 4, 2)  # after the backup: lost by the restore, re-sent by the laptop
    _open311(store)
    _open311(store)  # the server's counter is now 3: the restore must not hand out 2 or 3 again
    counter_then = store.server_counter()
    store.close()

    assert main(["restore", str(dump), "--db", url]) == 0
    assert "nieuw id" in capsys.readouterr().out
    store = ServerStore(url)
    try:
        assert store.counts()["events"] == 4
        assert store.log_id() != before_id
        assert store.server_counter() >= counter_then == 3
        made = store.append_server_events(
            "open311:test",
            lambda d, nxt: [commands.register(d, prefix="DLF", counter=nxt(), fields=MeldingFields(omschrijving="Na"))],
        )
        assert made[0].device_id == SERVER_DEVICE and made[0].payload["reference"].endswith("0004")
    finally:
        store.close()


def test_restore_refuses_while_a_server_uses_the_database(url: str, tmp_path: Path, capsys) -> None:
    store = ServerStore(url)
    store.close()
    dump = tmp_path / "kopie.dump"
    assert main(["backup", str(dump), "--db", url]) == 0
    running = ServerStore(url)  # stands for a running server: its pool keeps a connection open
    try:
        assert main(["restore", str(dump), "--db", url]) == 1
        assert "stop eerst elke wijkteam-server" in capsys.readouterr().err
    finally:
        running.close()
    assert main(["backup", str(dump), "--db", url]) == 1  # never over an existing file
    assert "bestaat al" in capsys.readouterr().err


def test_restore_refuses_what_is_no_backup(url: str, tmp_path: Path, capsys) -> None:
    junk = tmp_path / "geen.dump"
    junk.write_bytes(b"PGDMP nonsense")
    assert main(["restore", str(junk), "--db", url]) == 1
    assert "geen reservekopie" in capsys.readouterr().err
