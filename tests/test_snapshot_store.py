"""Laptop snapshots at the storage level (``wijkteam_store.snapshot``): a working copy that pulled part of
the log, published, prepared and installed on an empty laptop, plus the rest of the log, equals a laptop
that pulled everything; what a snapshot must not carry; what the laptop refuses to install."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared import commands
from shared.enums import Kanaal, MeldingType, VierB
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.model import Melder
from shared.reference import counter_of
from tests.test_apply_remote import _dump, _logs
from wijkteam_store.local import LocalStore
from wijkteam_store.snapshot import (
    SnapshotBusy,
    SnapshotError,
    SnapshotStamp,
    device_row,
    file_sha256,
    install,
    prepare,
    publish,
    stamp_of,
)

LOG_ID = 4242


def _pages(events: list[Event], size: int) -> list[list[Event]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


def _working_copy(path: Path, pages: list[list[Event]]) -> LocalStore:
    """What the server's builder keeps: a laptop store without device code that pulled ``pages``."""
    work = LocalStore(path)
    work.note_server_log(LOG_ID)
    seq = 0
    for page in pages:
        seq += len(page)
        work.apply_remote(page, seq)
    return work


def _snapshot_of(tmp_path: Path, pages: list[list[Event]]) -> tuple[Path, SnapshotStamp]:
    work = _working_copy(tmp_path / "work.sqlite3", pages)
    stamp = stamp_of(work)
    target = tmp_path / "snapshot.sqlite3"
    sha, length = publish(work, target)
    work.close()
    assert (sha, length) == file_sha256(target)
    return target, stamp


def _install_into(laptop: LocalStore, snapshot: Path, stamp: SnapshotStamp) -> None:
    own = device_row(laptop)
    prepared = laptop.path.with_name("prepared.sqlite3")
    prepared.write_bytes(snapshot.read_bytes())
    prepare(prepared, stamp, own)
    laptop.close()
    install(laptop.path, prepared, own)
    laptop.reopen()


@pytest.mark.parametrize("seed", range(4))
def test_snapshot_plus_tail_equals_a_laptop_that_pulled_everything(tmp_path: Path, seed: int) -> None:
    events, _ = _logs(seed)
    rnd = random.Random(seed)
    rnd.shuffle(events)  # later events of a melding may come before its creation
    pages = _pages(events, rnd.randrange(3, 17))
    cut = rnd.randrange(1, len(pages))
    pulled = LocalStore(tmp_path / "pulled.sqlite3")
    pulled.set_device_code("K1")  # the snapshot holds events of this device code too
    pulled.note_server_log(LOG_ID)
    seq = 0
    for page in pages:
        seq += len(page)
        pulled.apply_remote(page, seq)

    snapshot, stamp = _snapshot_of(tmp_path, pages[:cut])
    laptop = LocalStore(tmp_path / "laptop.sqlite3")
    laptop.set_device_code("K1")
    _install_into(laptop, snapshot, stamp)
    seq = stamp.server_seq
    for page in pages[cut:]:
        seq += len(page)
        laptop.apply_remote(page, seq)

    assert _dump(laptop) == _dump(pulled)  # events and acks, rows with rowids, FTS rows, HLC, cursor
    row = "SELECT device_id, seq, melding_counter, hlc_last, pull_cursor, server_log_id FROM device"
    assert laptop.conn.execute(row).fetchone() == pulled.conn.execute(row).fetchone()
    assert laptop.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert laptop.search("tegel", limit=5) == pulled.search("tegel", limit=5)
    laptop.close()
    pulled.close()


def _fields(text: str, melder: Melder | None = None) -> MeldingFields:
    return MeldingFields(
        kanaal=Kanaal.TELEFOON, type=MeldingType.MELDING, categorie="groen/boom", vier_b=VierB.BETROKKENHEID,
        omschrijving=text, melder=melder,
    )


def test_a_snapshot_carries_no_bytes_of_values_rewritten_since(tmp_path: Path) -> None:
    """The working copy indexed a reporter's name, then the reporter was anonymised: the working copy
    rewrites its stored events and merges its full-text index when it applies the anonymisation
    (issue 16), and the snapshot holds no byte of the name or the phone number."""
    dev = commands.DeviceClock("K2", "bram")
    created = commands.register(
        dev, prefix="DLF", counter=1, fields=_fields("Boom omgewaaid", Melder(naam="Zwanenburg", telefoon="+31612345678"))
    )
    others = [
        commands.register(dev, prefix="DLF", counter=n, fields=_fields(f"Tak op de weg {n}")) for n in range(2, 60)
    ]
    state = fold([created])
    assert state is not None
    anonymised = commands.anonymise_reporter(dev, state, "verzoek van de melder")
    work = _working_copy(tmp_path / "work.sqlite3", [[created, *others], [anonymised]])
    assert work.search("zwanenburg") == []
    work.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = (tmp_path / "work.sqlite3").read_bytes()
    assert b"zwanenburg" not in before and b"Zwanenburg" not in before  # events, index, WAL: gone

    target = tmp_path / "snapshot.sqlite3"
    publish(work, target)
    work.close()
    data = target.read_bytes()
    assert b"zwanenburg" not in data
    payloads = b"".join(
        r[0].encode() for r in sqlite3.connect(target).execute("SELECT payload FROM events")
    )
    assert b"Zwanenburg" not in data and b"Zwanenburg" not in payloads
    assert b"612345678" not in data
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def _snapshot_with_own_events(tmp_path: Path) -> tuple[Path, SnapshotStamp, list[str]]:
    """A snapshot holding three meldingen made under device code K1 (a laptop reinstalled with it)."""
    dev = commands.DeviceClock("K1", "anna")
    made = [commands.register(dev, prefix="DLF", counter=n, fields=_fields(f"Melding {n}")) for n in (5, 6, 7)]
    other = commands.DeviceClock("K2", "bram")
    made += [commands.register(other, prefix="DLF", counter=n, fields=_fields(f"Elders {n}")) for n in (1, 2)]
    snapshot, stamp = _snapshot_of(tmp_path, [made])
    return snapshot, stamp, [e.payload["reference"] for e in made]


def test_the_laptops_counters_continue_after_its_own_events_in_the_snapshot(tmp_path: Path) -> None:
    snapshot, stamp, references = _snapshot_with_own_events(tmp_path)
    laptop = LocalStore(tmp_path / "laptop.sqlite3")
    laptop.set_device_code("K1")
    _install_into(laptop, snapshot, stamp)
    fresh = laptop.register(laptop.device_clock("anna"), prefix="DLF", fields=_fields("Na herinstallatie"))
    assert fresh.reference not in references
    assert counter_of(fresh.reference) == 8
    seqs = {r[0] for r in laptop.conn.execute("SELECT device_seq FROM events WHERE device_id = 'K1'")}
    assert len(seqs) == 4  # (device, device_seq) stays unique
    assert laptop.pending_count() == 1
    laptop.close()


def _damage(path: Path) -> None:
    """Spoil the b-tree page headers of three pages in the middle of the file (damage inside a row's
    text is what the SHA-256 is for; ``quick_check`` finds broken structure)."""
    data = bytearray(path.read_bytes())
    page = 4096
    middle = len(data) // page // 2
    for p in (middle - 1, middle, middle + 1):
        for i in range(p * page, p * page + 8):
            data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _add_trigger(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TRIGGER evil AFTER INSERT ON events BEGIN DELETE FROM events; END")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_damage, "beschadigd"),
        (lambda p: p.write_bytes(b"niet eens sqlite" * 100), "geen leesbare database"),
        (_add_trigger, "opbouw"),
        (lambda p: None, "iets anders"),  # checked against another stamp below
    ],
)
def test_a_file_that_fails_a_check_is_refused_and_the_laptop_keeps_its_database(
    tmp_path: Path, spoil, message: str
) -> None:
    snapshot, stamp, _ = _snapshot_with_own_events(tmp_path)
    if message == "iets anders":
        stamp = SnapshotStamp(stamp.server_seq + 1, stamp.log_id, stamp.store_schema)
    laptop = LocalStore(tmp_path / "laptop.sqlite3")
    laptop.set_device_code("K9")
    before = _dump(laptop)
    prepared = tmp_path / "prepared.sqlite3"
    prepared.write_bytes(snapshot.read_bytes())
    spoil(prepared)
    with pytest.raises(SnapshotError, match=message):
        prepare(prepared, stamp, device_row(laptop))
    assert _dump(laptop) == before
    laptop.close()


def test_install_refuses_while_the_laptop_has_unsent_work_or_the_file_is_open(tmp_path: Path) -> None:
    snapshot, stamp, _ = _snapshot_with_own_events(tmp_path)
    laptop = LocalStore(tmp_path / "laptop.sqlite3")
    laptop.set_device_code("K9")
    own = device_row(laptop)
    prepared = tmp_path / "prepared.sqlite3"
    prepared.write_bytes(snapshot.read_bytes())
    prepare(prepared, stamp, own)

    with pytest.raises(SnapshotBusy):  # the store is still open
        install(laptop.path, prepared, own, busy_timeout_ms=50)
    mine = laptop.register(laptop.device_clock("kees"), prefix="DLF", fields=_fields("Nog niet verstuurd"))
    laptop.close()
    with pytest.raises(SnapshotError, match="1 wijziging"):
        install(laptop.path, prepared, own)
    laptop.reopen()
    assert laptop.get(mine.melding_id) is not None
    assert laptop.count(include_deleted=True) == 1
    assert prepared.exists()
    laptop.close()


def test_install_replaces_the_file_and_leaves_no_wal_of_the_old_one(tmp_path: Path) -> None:
    snapshot, stamp, _ = _snapshot_with_own_events(tmp_path)
    laptop = LocalStore(tmp_path / "laptop.sqlite3")
    laptop.set_device_code("K9")
    laptop.note_server_log(LOG_ID)
    own = device_row(laptop)
    prepared = tmp_path / "prepared.sqlite3"
    prepared.write_bytes(snapshot.read_bytes())
    events = prepare(prepared, stamp, own)
    laptop.close()
    install(laptop.path, prepared, own)
    assert sorted(p.name for p in tmp_path.glob("laptop.sqlite3*")) == ["laptop.sqlite3"]
    assert not prepared.exists()
    laptop.reopen()
    assert laptop.count(include_deleted=True) == events == 5
    assert laptop.device_code() == "K9"
    assert laptop.pull_cursor() == stamp.server_seq
    laptop.close()


def test_registered_at_ties_keep_their_order_across_the_snapshot(tmp_path: Path) -> None:
    """Meldingen registered in the same microsecond get consecutive rowids in first-seen order, in
    the snapshot's part and in the tail alike (the list's order is the same on every laptop)."""
    at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    dev = commands.DeviceClock("K2", "bram")
    events = [
        commands.register(dev, prefix="DLF", counter=n, registered_at=at + timedelta(seconds=n // 4), fields=_fields(f"M {n}"))
        for n in range(1, 21)
    ]
    pages = _pages(events, 3)
    pulled = _working_copy(tmp_path / "pulled.sqlite3", pages)
    snapshot, stamp = _snapshot_of(tmp_path, pages[:3])
    laptop = LocalStore(tmp_path / "laptop.sqlite3")
    laptop.set_device_code("K1")
    _install_into(laptop, snapshot, stamp)
    seq = stamp.server_seq
    for page in pages[3:]:
        seq += len(page)
        laptop.apply_remote(page, seq)
    assert _dump(laptop)[1] == _dump(pulled)[1]
    laptop.close()
    pulled.close()
