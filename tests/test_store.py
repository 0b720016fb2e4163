"""The local store: transactions, counters, projection + FTS in step with events, sync interface."""

from __future__ import annotations

import sqlite3

import pytest

from shared import commands
from shared.enums import Status, VierB
from shared.errors import ValidationError
from shared.events import MeldingFields
from shared.fold import fold
from shared.model import Adres, Melder
from shared.projection import COLUMNS, projection_row
from wijkteam_store.local import (
    SCHEMA_VERSION,
    LocalStore,
    NoDeviceCode,
    StoreError,
    fts_query,
)

FIELDS = MeldingFields(
    omschrijving="Lamp brandt niet",
    categorie="verlichting/lantaarnpaal",
    vier_b=VierB.BETROUWBAARHEID,
    adres=Adres(
        straat="Kerkstraat",
        huisnummer=12,
        huisletter="A",
        postcode="7721EJ",
        woonplaats="Dalfsen",
    ),
    melder=Melder(naam="Jan Jansen", telefoon="+31612345678"),
    wijk="Dalfsen",
)


@pytest.fixture
def store(tmp_path):
    s = LocalStore(tmp_path / "s.sqlite", busy_timeout_ms=50)
    s.set_device_code("K7")
    yield s
    s.close()


def test_schema_and_pragmas(store):
    assert store.schema_version() == SCHEMA_VERSION
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    cols = [r[1] for r in store.conn.execute("PRAGMA table_info(meldingen)")]
    assert cols == list(COLUMNS)


def test_reopen_does_not_migrate_twice(tmp_path):
    path = tmp_path / "x.sqlite"
    LocalStore(path).close()
    s = LocalStore(path)
    assert (
        s.conn.execute("SELECT count(*) FROM schema_version").fetchone()[0]
        == SCHEMA_VERSION
    )
    s.close()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "x.sqlite"
    LocalStore(path).close()
    c = sqlite3.connect(path)
    c.execute("INSERT INTO schema_version VALUES (99)")
    c.commit()
    c.close()
    with pytest.raises(StoreError, match="schemaversie 99"):
        LocalStore(path)


def test_register_numbers_and_projects(store):
    a = store.register(store.device_clock("u"), prefix="DLF", fields=FIELDS)
    b = store.register(store.device_clock("u"), prefix="DLF", fields=FIELDS)
    assert (a.reference, b.reference) == ("DLF-K7-0001", "DLF-K7-0002")
    row = store.search("DLF-K7-0002")[0]
    assert row["melding_id"] == b.melding_id
    assert row == projection_row(fold(store.events_of(b.melding_id)))
    assert store.get(a.melding_id).deadline == a.deadline


def test_failed_register_uses_no_counter(store):
    with pytest.raises(ValidationError):
        store.register(
            store.device_clock("u"),
            prefix="DLF",
            fields=MeldingFields(categorie="groen/boom"),
        )
    assert (
        store.register(store.device_clock("u"), prefix="DLF", fields=FIELDS).reference
        == "DLF-K7-0001"
    )
    assert store.count() == 1


def test_locked_database_stores_nothing(store):
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreError, match="bezet"):
        store.register(store.device_clock("u"), prefix="DLF", fields=FIELDS)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.count() == 0
    assert (
        store.register(store.device_clock("u"), prefix="DLF", fields=FIELDS).reference
        == "DLF-K7-0001"
    )


def test_no_device_code(tmp_path):
    s = LocalStore(tmp_path / "n.sqlite")
    with pytest.raises(NoDeviceCode):
        s.device_clock("u")
    s.close()


def test_next_counter_needs_transaction(store):
    with pytest.raises(RuntimeError):
        store.next_melding_counter()


def test_search_filters_and_fts_follow_edits(store):
    m = store.register(store.device_clock("u"), prefix="DLF", fields=FIELDS)
    store.register(
        store.device_clock("u"),
        prefix="DLF",
        fields=MeldingFields(
            omschrijving="Boom omgewaaid",
            categorie="groen/boom",
            vier_b=VierB.BREDE_BLIK,
            locatie_omschrijving="bij de speeltuin",
            wijk="Lemelerveld",
        ),
    )
    assert store.count() == 2
    assert store.count("kerkstr 12") == 1
    assert store.count("speeltuin") == 1
    assert store.count("0612345678") == 1
    assert store.count("jansen") == 1
    assert store.count(categorie="groen") == 1
    assert store.count(categorie="verlichting/lantaarnpaal") == 1
    assert store.count(wijk="Lemelerveld") == 1
    assert store.wijken() == ["Dalfsen", "Lemelerveld"]
    dev = store.device_clock("u")
    store.append(commands.edit(dev, m, {"omschrijving": "Paal scheef"}), dev)
    assert store.count("lamp") == 0
    assert store.count("paal scheef") == 1
    dev = store.device_clock("u")
    store.append(
        [
            commands.change_status(
                dev, store.get(m.melding_id), Status.AFGEHANDELD, "Klaar"
            )
        ],
        dev,
    )
    assert store.count(status="open") == 1
    assert (
        store.count("dlf-k7") == 2
        and store.count("DLF-K7-0002") == 1
        and store.count("dlf k7 ooo2") == 1
    )
    assert store.count("K7 0002") == 1 and store.count(cap=1) == 1
    assert (
        store.count("dlf") == 2 and store.count("dl") == 0
    )  # the prefix alone lists all references
    assert store.count(status="afgehandeld") == 1
    assert [r["reference"] for r in store.search(offset=1, limit=1)] == [
        "DLF-K7-0001"
    ]  # newest first


def test_overdue_filter(store):
    from datetime import UTC, datetime, timedelta

    m = store.register(store.device_clock("u"), prefix="DLF", fields=FIELDS)
    assert store.count(overdue=True, now=m.deadline - timedelta(seconds=1)) == 0
    assert store.count(overdue=True, now=m.deadline + timedelta(seconds=1)) == 1
    assert store.count(overdue=False, now=datetime(2100, 1, 1, tzinfo=UTC)) == 0


def test_fts_query():
    assert fts_query("K7 0001") == '"K7"* AND "0001"*'
    assert fts_query("k") is None  # one letter matches nearly everything: not searched
    assert fts_query('a"b') == '"a"* AND "b"*'
    assert fts_query("  ---  ") is None


def test_sync_interface(tmp_path, store):
    m = store.register(store.device_clock("u"), prefix="DLF", fields=FIELDS)
    dev = store.device_clock("u")
    store.append([commands.add_note(dev, m, "n1")], dev)
    pending = store.unacked_events(10)
    assert [e.device_seq for e in pending] == [1, 2]
    assert store.pending_count() == 2
    # another laptop's events arrive, plus our own echoed back
    other = LocalStore(tmp_path / "other.sqlite")
    other.set_device_code("M3")
    odev = other.device_clock("v")
    created = store.events_of(m.melding_id)[0]
    remote = commands.change_status(odev, fold([created]), Status.IN_BEHANDELING)
    store.apply_remote([pending[0], remote], next_after=17)
    assert store.pull_cursor() == 17
    assert store.pending_count() == 1  # the echoed one is acked
    assert store.get(m.melding_id).status == Status.IN_BEHANDELING
    store.apply_remote([remote], next_after=18)  # replay is harmless
    assert len(store.events_of(m.melding_id)) == 3
    assert store.device_clock("u").hlc.last >= remote.hlc
    store.mark_acked([pending[1].event_id])
    assert store.pending_count() == 0
    stamp = store.recv_hlc(remote.hlc + (10 << 16))
    assert store.device_clock("u").hlc.last == stamp > remote.hlc
    other.close()


def test_remote_event_before_its_creation(store, tmp_path):
    other = LocalStore(tmp_path / "o.sqlite")
    other.set_device_code("M3")
    m = other.register(other.device_clock("v"), prefix="DLF", fields=FIELDS)
    odev = other.device_clock("v")
    note = commands.add_note(odev, m, "later")
    created = other.events_of(m.melding_id)[0]
    store.apply_remote([note], next_after=1)
    assert store.get(m.melding_id) is None
    store.apply_remote([created], next_after=2)
    assert len(store.get(m.melding_id).notes) == 1
    other.close()


def test_migration_2_rekeys_rows_by_registration_time(tmp_path):
    from wijkteam_store.local import sort_key

    path = tmp_path / "old.sqlite"
    s = LocalStore(path)
    s.set_device_code("K7")
    first = s.register(s.device_clock("u"), prefix="DLF", fields=FIELDS)
    second = s.register(s.device_clock("u"), prefix="DLF", fields=FIELDS)
    # Make it look like a version-1 file: small counter rowids, FTS on those rowids.
    with s.transaction():
        s.conn.execute(
            "UPDATE meldingen SET rowid = 2 WHERE melding_id = ?", (first.melding_id,)
        )
        s.conn.execute(
            "UPDATE meldingen SET rowid = 1 WHERE melding_id = ?", (second.melding_id,)
        )
        s.conn.execute("DELETE FROM meldingen_fts")
        s.conn.execute("DELETE FROM schema_version WHERE version >= 2")
        s.conn.execute("DROP INDEX meldingen_open_deadline")
        for col in ("status", "categorie", "wijk"):
            s.conn.execute(f"DROP INDEX meldingen_{col}")
            s.conn.execute(f"CREATE INDEX meldingen_{col} ON meldingen({col})")
    s.close()
    s = LocalStore(path)
    assert s.schema_version() == SCHEMA_VERSION
    rows = s.conn.execute(
        "SELECT rowid, registered_at FROM meldingen ORDER BY rowid"
    ).fetchall()
    assert [r[0] for r in rows] == [sort_key(r[1]) for r in rows]
    assert [r["reference"] for r in s.search("kerkstraat")] == [
        "DLF-K7-0002",
        "DLF-K7-0001",
    ]
    s.close()


def test_sqlite_utils_view_on_the_same_connection(store):
    store.register(store.device_clock("u"), prefix="DLF", fields=FIELDS)
    assert store.db["meldingen"].count == 1
    assert store.db["events"].pks == ["event_id"]


def _make_it_schema_4(path) -> None:
    """Turn a current laptop file into the layout of schema 4: a ``state`` column, no ``status_timeline``
    (and no ``bron``, which schema 10 added)."""
    c = sqlite3.connect(path)
    c.execute("ALTER TABLE meldingen DROP COLUMN bron")
    c.execute("ALTER TABLE meldingen DROP COLUMN status_timeline")
    c.execute("ALTER TABLE meldingen ADD COLUMN state TEXT")
    c.execute("UPDATE meldingen SET state = '{\"history\": []}'")
    c.execute("DELETE FROM schema_version WHERE version >= 5")
    c.commit()
    c.close()


def test_migration_5_drops_state_and_fills_the_status_timeline(tmp_path):
    path = tmp_path / "old.sqlite"
    s = LocalStore(path)
    s.set_device_code("K7")
    dev = s.device_clock("u")
    plain = s.register(dev, prefix="DLF", fields=FIELDS)
    reopened = s.register(dev, prefix="DLF", fields=FIELDS)
    for naar, note in ((Status.AFGEHANDELD, "Lamp vervangen"), (Status.HEROPEND, "Brandt weer niet")):
        s.append([commands.change_status(dev, s.get(reopened.melding_id), naar, note)], dev)
    expected = {r["melding_id"]: r for r in s.iter_rows()}
    assert expected[reopened.melding_id]["status_timeline"] is not None
    s.close()
    _make_it_schema_4(path)

    c = sqlite3.connect(path)
    c.execute("UPDATE meldingen SET state = ?", ("x" * 20_000,))  # as bulky as a real state column
    c.commit()
    big = c.execute("PRAGMA page_count").fetchone()[0]
    c.close()
    s = LocalStore(path)
    assert s.schema_version() == SCHEMA_VERSION
    # Every projection column (a column added by a migration comes last in the table).
    assert sorted(r[1] for r in s.conn.execute("PRAGMA table_info(meldingen)")) == sorted(COLUMNS)
    assert s.conn.execute("PRAGMA page_count").fetchone()[0] < big - 5  # the freed pages are given back
    assert {r["melding_id"]: r for r in s.iter_rows()} == expected
    assert s.get(plain.melding_id).history  # detail views fold the events, history included
    assert s.search("lamp")  # FTS still in step
    s.close()


def test_a_new_server_log_resends_own_events_and_pulls_from_the_start(store):
    mine = store.register(store.device_clock("u"), prefix="DLF", fields=FIELDS)
    other = commands.register(commands.DeviceClock("M2", "piet"), prefix="DLF", counter=1, fields=FIELDS)
    store.apply_remote([other], next_after=7)
    store.mark_acked([e.event_id for e in store.events_of(mine.melding_id)])
    assert store.pending_count() == 0
    assert store.note_server_log(0) is False  # a server without a log id changes nothing
    assert store.note_server_log(1234) is False  # the first id seen is remembered
    assert store.note_server_log(1234) is False and store.pull_cursor() == 7
    assert store.note_server_log(999) is True  # restored from a backup
    assert store.pull_cursor() == 0
    assert [e.device_id for e in store.unacked_events(10)] == ["K7"]  # own events only: a token speaks for its device
    assert store.note_server_log(999) is False


def test_device_code_cannot_change_while_its_events_wait(store):
    m = store.register(store.device_clock("u"), prefix="DLF", fields=FIELDS)
    with pytest.raises(StoreError, match="nog 1 wijziging van apparaat K7"):
        store.set_device_code("M3")
    assert store.device_code() == "K7"
    store.mark_acked([e.event_id for e in store.events_of(m.melding_id)])
    store.set_device_code("M3")  # once the server has them, the code may change
    assert store.device_code() == "M3"


def test_events_stranded_under_an_earlier_code_do_not_block_the_push(store):
    store.register(store.device_clock("u"), prefix="DLF", fields=FIELDS)
    # A file from before the refusal: the code changed while K7's event waited.
    store.conn.execute("UPDATE device SET device_id = 'M3' WHERE id = 1")
    store.register(store.device_clock("u"), prefix="DLF", fields=FIELDS)
    assert [e.device_id for e in store.unacked_events(10)] == ["M3"]  # what this token may send
    assert store.pending_count() == 2  # the stranded one still shows as waiting
