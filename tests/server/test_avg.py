"""The AVG on the server (issue 16): erasure down to the bytes, retention, a laptop that sends erased
data again, the erasure journal after a restore, inzage and wissen."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from shared import commands
from shared.avg import REMOVED_TEXT, person
from shared.barometer import parse_period
from shared.enums import EventType, Kanaal, MeldingType, Status, VierB
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.hlc import HLC
from shared.model import Adres, Melder
from shared.protocol import RefusalCode
from sync_server import avg_cli
from sync_server.store import ServerStore
from wijkteam_reports.sql import build_report

NAME = "Zwanenburg"
PHONE = "+31612345678"
EMAIL = "w.zwanenburg@voorbeeld.nl"
#: The ways the phone number can sit in a file: E.164, its digits, the national form.
PHONE_BYTES = (b"612345678",)
YEAR_AGO = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@dataclass
class Policy:
    """A retention policy as the municipality configuration gives it (``shared.avg.RetentionPolicy``)."""

    anonimiseren_na_dagen: int = 365
    verwijderen_na_jaren: dict[Status, int] = field(default_factory=lambda: {Status.GEANNULEERD: 1, Status.AFGEHANDELD: 5})


def clock_at(start: datetime) -> tuple[Callable[[], int], Callable[[timedelta], None]]:
    """A wall clock (ms) starting at ``start`` and a function that moves it on."""
    now = [int(start.timestamp() * 1000)]

    def tick(d: timedelta) -> None:
        now[0] += int(d.total_seconds() * 1000)

    return (lambda: now[0]), tick


def fields(text: str, melder: Melder | None = None, **kw: object) -> MeldingFields:
    return MeldingFields(
        kanaal=Kanaal.TELEFOON, type=MeldingType.MELDING, categorie="groen/boom", vier_b=VierB.BETROKKENHEID,
        omschrijving=text, melder=melder, wijk="centrum", **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def closed_melding(
    dev: commands.DeviceClock, counter: int, tick: Callable[[timedelta], None], *, naar: Status = Status.AFGEHANDELD,
    melder: Melder | None = None, text: str = "Boom omgewaaid",
) -> list[Event]:  # fmt: skip
    """A melding registered, called back and closed a few days later: its events."""
    registered_at = datetime.fromtimestamp(dev.hlc._clock() / 1000, UTC)
    created = commands.register(dev, prefix="DLF", counter=counter, fields=fields(text, melder), registered_at=registered_at)
    tick(timedelta(days=1))
    said = f"Mw. {NAME} belde nog: bel 06-12 34 56 78 of mail {EMAIL}" if melder else "Nog eens gebeld"
    note = commands.add_note(dev, fold([created]), said)
    tick(timedelta(hours=2))
    cb = commands.log_callback(dev, fold([created, note]), kanaal=Kanaal.TELEFOON, tekst="Teruggebeld",
                               at=datetime.fromtimestamp(dev.hlc._clock() / 1000, UTC),
                               now=datetime.fromtimestamp(dev.hlc._clock() / 1000, UTC))  # fmt: skip
    tick(timedelta(days=2))
    state = fold([created, note, cb])
    assert state is not None
    done = commands.change_status(dev, state, naar, "klaar", voor_melder=f"Beste {NAME}, opgelost." if melder else "")
    tick(timedelta(days=1))
    return [created, note, cb, done]


@pytest.fixture
def store(tmp_path: Path) -> ServerStore:
    s = ServerStore(tmp_path / "server.sqlite3")
    yield s
    s.close()


def files_bytes(db: Path) -> bytes:
    """Every byte of a database: the file, its WAL and its shared memory file."""
    out = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = db.with_name(db.name + suffix)
        if p.exists():
            out += p.read_bytes()
    return out


def personal_in(data: bytes) -> list[bytes]:
    return [v for v in (NAME.encode(), NAME.lower().encode(), *PHONE_BYTES, EMAIL.encode()) if v in data]


def loaded(store: ServerStore) -> tuple[str, list[Event]]:
    """A melding with a reporter closed in March 2025 plus twenty without one: (its id, its events)."""
    clock, tick = clock_at(YEAR_AGO)
    dev = commands.DeviceClock("K7", "jan", hlc=HLC(0, clock))
    mine = closed_melding(dev, 1, tick, melder=Melder(naam=f"W. {NAME}", telefoon=PHONE, email=EMAIL))
    others = [e for n in range(2, 22) for e in closed_melding(dev, n, tick, text=f"Tak op de weg {n}")]
    store.ingest(mine + others)
    return mine[0].melding_id, mine


def figures(store: ServerStore) -> bytes:
    report = build_report(store.conn(), parse_period("2025-Q1"), group_by=("wijk", "categorie", "kanaal"))
    return msgspec.json.encode([report.totaal, report.groups, report.months], order="sorted")


def test_anonymisation_leaves_no_byte_and_keeps_the_figures(store: ServerStore) -> None:
    mid, _ = loaded(store)
    store.audit("kcc-anna (kcc)", "persoonsgegevens_gelezen", mid, f"zocht op {PHONE}")  # a careless detail
    store.checkpoint()
    assert personal_in(files_bytes(store.path))  # the test is not vacuous
    before = figures(store)
    made = store.erase([mid], EventType.REPORTER_ANONYMISED, "verzoek", actor="beheer (os: test)")
    assert [e.type for e in made] == [EventType.REPORTER_ANONYMISED]
    assert figures(store) == before
    assert personal_in(files_bytes(store.path)) == []
    m = store.melding(mid)
    assert m is not None and m.anonymised and m.anonymised_at is not None
    assert m.melder is not None and m.melder.gewist and m.melder.has_contact and not m.melder.reachable
    assert "[geanonimiseerd]" in m.notes[0].tekst and "belde nog" in m.notes[0].tekst
    row = store.projection(mid)
    assert row is not None and (row["melder_naam"], row["melder_telefoon"], row["has_contact"]) == ("", None, 1)
    # Idempotent: a second run makes nothing.
    assert store.erase([mid], EventType.REPORTER_ANONYMISED, "verzoek", actor="x") == []
    assert store.journal_path().read_bytes().count(b"reporter_anonymised") == 1


def test_retention_anonymises_then_removes_and_the_figures_stay(store: ServerStore, capsys: pytest.CaptureFixture[str]) -> None:
    mid, _ = loaded(store)
    before = figures(store)
    due = avg_cli.run_retention(store, Policy(), NOW, dry_run=True, out=__import__("sys").stdout)
    assert {a.melding_id for a in due} == {mid}  # only the one with a melder; none is 5 years old
    assert personal_in(files_bytes(store.path))  # dry run: nothing changed
    avg_cli.run_retention(store, Policy(), NOW, dry_run=False, out=__import__("sys").stdout)
    text = capsys.readouterr().out
    assert "melder anonimiseren: 365 dagen na sluiting: 1 melding(en) (DLF-K7-0001)" in text
    assert personal_in(files_bytes(store.path)) == []
    assert figures(store) == before
    assert avg_cli.run_retention(store, Policy(), NOW, dry_run=False, out=__import__("sys").stdout) == []
    # Six years on, every afgehandeld melding is removed; the figures of 2025-Q1 do not move.
    later = NOW + timedelta(days=6 * 365)
    removed = avg_cli.run_retention(store, Policy(), later, dry_run=False, out=__import__("sys").stdout)
    assert len(removed) == 21 and {a.event_type for a in removed} == {EventType.PURGED}
    assert figures(store) == before
    m = store.melding(mid)
    assert m is not None and m.purged and m.omschrijving == REMOVED_TEXT
    assert all(n.tekst == REMOVED_TEXT for n in m.notes)
    data = files_bytes(store.path)
    assert b"Tak op de weg" not in data and b"Boom omgewaaid" not in data
    assert avg_cli.run_retention(store, Policy(), later, dry_run=False, out=__import__("sys").stdout) == []


def test_a_cancelled_melding_goes_after_one_year_keeping_its_location_flag(store: ServerStore) -> None:
    clock, tick = clock_at(YEAR_AGO - timedelta(days=400))
    dev = commands.DeviceClock("K7", "jan", hlc=HLC(0, clock))
    evs = closed_melding(dev, 1, tick, naar=Status.GEANNULEERD)
    evs[0] = msgspec.structs.replace(evs[0])
    store.ingest(evs)
    row = store.projection(evs[0].melding_id)
    assert row is not None
    due = avg_cli.run_retention(store, Policy(), NOW, dry_run=False, out=__import__("io").StringIO())
    assert [(a.event_type, a.rule) for a in due] == [(EventType.PURGED, "verwijderen: geannuleerd, 1 jaar na sluiting")]


def test_a_laptop_resending_erased_data_is_deferred_then_stored_without_it(store: ServerStore) -> None:
    """A laptop that pushes its old events again (a restore on its side, or it never pulled the
    anonymisation) carries the erased values: the server neither stores nor quarantines them."""
    mid, mine = loaded(store)
    store.erase([mid], EventType.REPORTER_ANONYMISED, "verzoek", actor="x")
    seq = store.max_server_seq()
    # Not seen the erasure (cursor before it): deferred, nothing kept.
    r = store.ingest(mine, seen=(seq - 1, store.log_id()), judge_time=True)
    assert sorted(r.deferred) == sorted(e.event_id for e in mine) and not r.quarantined and not r.stored
    # Another log id: the cursor means nothing here either.
    assert store.ingest(mine, seen=(seq, 12345), judge_time=True).deferred
    # Software that sends no log id would not send a deferred event again: a new event is kept blanked.
    state = store.melding(mid)
    assert state is not None
    old = commands.DeviceClock("K7", "jan", seq=50, hlc=HLC(store.hlc.peek()))
    note = commands.add_note(old, state, f"{NAME} belde, 06 12345678")
    r = store.ingest([note], seen=(0, 0))
    assert r.stored == [note.event_id] and not r.deferred
    assert store.melding(mid).notes[-1].tekst == REMOVED_TEXT  # type: ignore[union-attr]
    # A laptop that has pulled the erasure but sends an unscrubbed copy (old software): duplicates.
    r = store.ingest(mine, seen=(seq, store.log_id()), judge_time=True)
    assert sorted(r.duplicates) == sorted(e.event_id for e in mine) and not r.quarantined
    # Other texts under a known id cannot be told from a copy scrubbed otherwise: the stored one stays.
    retexted = msgspec.structs.replace(mine[1], payload={**mine[1].payload, "tekst": f"{NAME} nogmaals {PHONE}"})
    r = store.ingest([retexted], seen=(seq, store.log_id()), judge_time=True)
    assert r.duplicates == [retexted.event_id] and not r.quarantined
    # Other content besides the texts: quarantined as conflicting, but blanked.
    forged = msgspec.structs.replace(retexted, payload={**retexted.payload, "openbaar": True})
    r = store.ingest([forged], seen=(seq, store.log_id()), judge_time=True)
    assert [q.code for q in r.quarantined] == [RefusalCode.CONFLICTING]
    raw = store.list_quarantine()[0]["raw"]
    assert NAME not in raw and "612345678" not in raw and '"openbaar":true' in raw
    store.checkpoint()
    assert personal_in(files_bytes(store.path)) == []
    # A new event of the erased melding carrying the melder again: stored scrubbed.
    state = store.melding(mid)
    assert state is not None
    dev = commands.DeviceClock("K7", "jan", seq=100, hlc=HLC(store.hlc.peek()))
    again = commands.edit(dev, state, {"melder": Melder(naam=NAME, telefoon=PHONE)})
    r = store.ingest(again, seen=(seq, store.log_id()))
    assert r.stored
    store.checkpoint()
    assert personal_in(files_bytes(store.path)) == []


def test_restore_from_an_older_backup_applies_the_erasure_again(store: ServerStore, tmp_path: Path) -> None:
    mid, _ = loaded(store)
    backup = tmp_path / "backup.sqlite3"
    store.backup(backup)
    store.erase([mid], EventType.REPORTER_ANONYMISED, "verzoek", actor="x")
    # A restore puts the backup in place; the journal next to the database is not part of it.
    store.close()
    for suffix in ("", "-wal", "-shm"):
        store.path.with_name(store.path.name + suffix).unlink(missing_ok=True)
    backup.rename(store.path)
    restored = ServerStore(store.path)
    try:
        assert personal_in(files_bytes(restored.path))
        assert restored.reapply_journal() == 1
        assert personal_in(files_bytes(restored.path)) == []
        m = restored.melding(mid)
        assert m is not None and m.anonymised
        assert restored.reapply_journal() == 0
    finally:
        restored.close()


def test_inzage_finds_a_phone_written_otherwise_and_wissen_erases(store: ServerStore, tmp_path: Path) -> None:
    mid, _ = loaded(store)
    # Someone else's melding that names our resident in its text only.
    clock, tick = clock_at(YEAR_AGO + timedelta(days=30))
    dev = commands.DeviceClock("M2", "piet", hlc=HLC(0, clock))
    other = closed_melding(dev, 1, tick, melder=Melder(naam="B. Bakker", telefoon="+31529456789"), text="Lamp stuk")
    store.ingest(other)
    store.audit("anna (kcc)", "persoonsgegevens_gelezen", mid, "DLF-K7-0001 via GET /api/v1/kcc/meldingen")
    wanted = person(telefoon="06 - 1234 5678")
    assert store.find_person(wanted) == {mid: "melder", other[0].melding_id: "genoemd"}
    doc = avg_cli.build_inzage(store, wanted, "telefoon")
    named, mine = sorted(doc.meldingen, key=lambda v: v.rol)
    assert (mine.rol, mine.referentie) == ("melder", "DLF-K7-0001")
    assert mine.uw_gegevens[0]["telefoon"] == "06 12345678" and mine.uw_gegevens[0]["naam"] == f"W. {NAME}"
    assert any(r["door"] == "anna (kcc)" for r in mine.inzage_door)
    # The other melding shows only the text naming them, never its own melder.
    encoded = msgspec.json.encode(named).decode()
    assert named.rol == "genoemd" and "Bakker" not in encoded and "529456789" not in encoded
    html = avg_cli.inzage_html(doc)
    assert "DLF-K7-0001" in html and "<script" not in html
    assert avg_cli.inzage_pdf(doc).startswith(b"%PDF")


def test_cli_inzage_and_wissen(store: ServerStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sync_server.cli import main

    mid, _ = loaded(store)
    store.close()
    db = str(store.path)
    assert main(["avg", "inzage", "--db", db, "--telefoon", "0031 6 12345678", "--uit", str(tmp_path / "uit")]) == 0
    out = capsys.readouterr().out
    assert "1 melding(en) gevonden" in out
    files = sorted(p.suffix for p in (tmp_path / "uit").iterdir())
    assert files == [".html", ".json", ".pdf"]
    # audit list by person (the phone in another writing): the inzage itself read their data.
    assert main(["audit", "list", "--db", db, "--telefoon", "+31612345678", "--alles"]) == 0
    listed = capsys.readouterr().out
    assert "persoonsgegevens_gelezen" in listed and "DLF-K7-0001" in listed and "avg inzage" in listed
    assert main(["avg", "wissen", "--db", db, "--email", EMAIL.upper(), "--yes"]) == 0
    assert "Gedaan: 1 melding(en)" in capsys.readouterr().out
    s = ServerStore(db)
    try:
        s.checkpoint()
        assert personal_in(files_bytes(s.path)) == []
        actions = [r[0] for r in s.conn().execute("SELECT action FROM audit WHERE actor LIKE 'beheer (os: %'")]
        assert actions.count("avg_inzage") == 1 and actions.count("avg_wissen") == 1
        assert "persoonsgegevens_gelezen" in actions
    finally:
        s.close()
    # Forgotten: the person is found nowhere any more, not even by the audit.
    assert main(["audit", "list", "--db", db, "--telefoon", "+31612345678", "--alles"]) == 0
    assert "Geen auditregels gevonden" in capsys.readouterr().out
    assert main(["audit", "list", "--db", db, "--gebruiker", "beheer", "--alles", "--van", "2000-01-01"]) == 0
    assert "avg_wissen" in capsys.readouterr().out
    assert main(["audit", "list", "--db", db, "--van", "gisteren"]) == 2


def test_a_laptop_snapshot_from_before_an_erasure_is_dropped_and_a_new_one_is_clean(store: ServerStore, tmp_path: Path) -> None:
    from sync_server import snapshot

    mid, _ = loaded(store)
    folder = tmp_path / "snapshots"
    before = snapshot.build(store.path, folder)
    assert before is not None and personal_in((folder / before.file).read_bytes())
    store.erase([mid], EventType.REPORTER_ANONYMISED, "verzoek", actor="x")
    service = snapshot.SnapshotService(store.path, folder, lag=1000, check_s=30, store=store)
    assert service.current() is None  # not served: it holds erased values
    assert not (folder / before.file).exists()
    assert service.due()  # a clean one is built at once, whatever the lag
    after = snapshot.build(store.path, folder)
    assert after is not None and after.server_seq > before.server_seq
    assert personal_in((folder / after.file).read_bytes()) == []
    assert personal_in((folder / snapshot.WORK_FILE).read_bytes()) == []
    assert service.current() == after


def test_a_database_from_before_secure_delete_is_vacuumed_once_at_serve(store: ServerStore) -> None:
    """Values deleted before this version may sit in free space: ``serve`` rewrites such a file once."""
    loaded(store)
    with store.write() as c:
        c.execute("DELETE FROM server_state WHERE key = 'secure_vacuum'")  # as a database of schema 6 has it
        c.execute("CREATE TABLE scratch AS SELECT * FROM events")
        c.execute("DROP TABLE scratch")  # its pages become free pages
    store.checkpoint()
    free = store.conn().execute("PRAGMA freelist_count").fetchone()[0]
    assert free > 0
    assert store.vacuum_once()
    assert store.conn().execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert store._state("secure_vacuum") == 1 and store.vacuum_once()
