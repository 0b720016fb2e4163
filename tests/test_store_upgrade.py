"""A laptop database of every older schema version opens in this version with all its data (issue 17 §2).

Each older file is made as a laptop that stopped updating at that version has it: the migrations up to
that version, then the laptop's data in the tables and columns that version has (events, projection
and its full-text index, the device row, refused events). Opening it with :class:`LocalStore` must
bring it to :data:`SCHEMA_VERSION` with the same meldingen, the same list and search answers, the same
waiting work and cursor, and exactly the layout of a new file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared import commands
from shared.enums import Status, VierB
from shared.events import MeldingFields
from shared.model import Adres, Melder
from wijkteam_store.local import MIGRATIONS, SCHEMA_VERSION, LocalStore
from wijkteam_store.local.schema import record_version

FIELDS = MeldingFields(
    omschrijving="Lamp brandt niet",
    categorie="verlichting/lantaarnpaal",
    vier_b=VierB.BETROUWBAARHEID,
    adres=Adres(straat="Kerkstraat", huisnummer=12, postcode="7721EJ", woonplaats="Dalfsen"),
    melder=Melder(naam="Jan Jansen", telefoon="+31612345678", email="jan@example.nl"),
    wijk="dalfsen",
)
TREE = MeldingFields(
    omschrijving="Boom hangt over het fietspad",
    categorie="groen/boom",
    vier_b=VierB.BEREIKBAARHEID,
    adres=Adres(straat="Molenweg", huisnummer=3, postcode="7722AB", woonplaats="Dalfsen"),
    melder=Melder(naam="Els de Vries"),
)


@pytest.fixture(scope="module")
def laptop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A laptop file of this version with a few meldingen: sent and waiting events, a closed and
    reopened one (status timeline), a note, a refused event and a pull cursor."""
    path = tmp_path_factory.mktemp("laptop") / "jan.sqlite"
    with LocalStore(path) as s:
        s.set_device_code("K7")
        dev = s.device_clock("jan")
        lamp = s.register(dev, prefix="DLF", fields=FIELDS, registered_at=datetime(2026, 3, 2, 9, tzinfo=UTC))
        tree = s.register(dev, prefix="DLF", fields=TREE, registered_at=datetime(2026, 3, 3, 14, tzinfo=UTC))
        s.mark_acked([e.event_id for e in s.events_of(lamp.melding_id)])
        for status in (Status.IN_BEHANDELING, Status.AFGEHANDELD, Status.HEROPEND):
            state = s.get(tree.melding_id)
            s.append([commands.change_status(dev, state, status, "Gezien")], dev)
        s.append([commands.add_note(dev, s.get(lamp.melding_id), "Monteur komt dinsdag")], dev)
        refused = commands.add_note(dev, s.get(lamp.melding_id), "Te laat gestuurd")
        s.append([refused], dev)
        s.mark_sent([refused.event_id])
        s.mark_refused([(refused.event_id, "te_oud", "Ouder dan toegestaan")])
        s.conn.execute("UPDATE device SET pull_cursor = 42")
    return path


def _columns(conn: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA {schema}.table_info({table})")]


def older_file(path: Path, version: int, source: Path) -> None:
    """A file at schema ``version`` holding ``source``'s data in the tables and columns it has."""
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")

    @contextmanager
    def transaction() -> Iterator[None]:
        c.execute("BEGIN")
        yield
        c.execute("COMMIT")

    assert MIGRATIONS.run(c, 0, transaction=transaction, record=record_version, until=version) == version
    c.execute("ATTACH DATABASE ? AS src", (str(source),))
    c.execute("BEGIN")
    tables = [r[0] for r in c.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")]
    for table in ("events", "meldingen", "device", "refused"):
        if table not in tables:
            continue
        cols = [col for col in _columns(c, "main", table) if col in _columns(c, "src", table)]
        names = ", ".join(f'"{col}"' for col in cols)
        c.execute(f"DELETE FROM main.{table}")
        c.execute(f"INSERT INTO main.{table} (rowid, {names}) SELECT rowid, {names} FROM src.{table}")
    c.execute(
        "INSERT INTO main.meldingen_fts (rowid, reference, omschrijving, adres, melder) "
        "SELECT rowid, reference, omschrijving, adres, melder FROM src.meldingen_fts"
    )
    c.execute("COMMIT")
    c.execute("DETACH DATABASE src")
    c.close()


def _layout(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Every table, index and trigger with its SQL, and each table's columns."""
    out = []
    for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall():
        cols = [r[1:] for r in conn.execute(f"PRAGMA table_info({name})")] if kind == "table" else []
        out.append((kind, name, sql, cols))
    return out


def _what_a_user_sees(s: LocalStore) -> dict[str, Any]:
    rows = list(s.iter_rows())
    return {
        "rows": rows,
        "meldingen": [s.get(r["melding_id"]) for r in rows],
        "lamp": [r["melding_id"] for r in s.search("lamp")],
        "phone": [r["melding_id"] for r in s.search("06-12345678")],
        "reopened": s.count(status=Status.HEROPEND.value),
        "pending": s.pending_count(),
        "refused": s.refused_count(),
        "cursor": s.pull_cursor(),
        "device": s.device_code(),
        "seq": s.own_seq(),
    }


def test_the_laptop_file_has_what_the_upgrade_must_keep(laptop: Path) -> None:
    with LocalStore(laptop) as s:
        seen = _what_a_user_sees(s)
    assert len(seen["rows"]) == 2 and seen["lamp"] and seen["phone"]
    assert seen["pending"] > 0 and seen["refused"] == 1 and seen["cursor"] == 42 and seen["reopened"] == 1


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_a_file_of_an_older_version_opens_with_all_its_data(tmp_path: Path, laptop: Path, version: int) -> None:
    path = tmp_path / f"v{version}.sqlite"
    older_file(path, version, laptop)
    c = sqlite3.connect(path)
    keeps_refused = c.execute("SELECT 1 FROM sqlite_master WHERE name = 'refused'").fetchone() is not None
    c.close()
    with LocalStore(path) as s:
        assert s.schema_version() == SCHEMA_VERSION
        upgraded = _what_a_user_sees(s)
        layout = _layout(s.conn)
    with LocalStore(laptop) as s:
        expected = _what_a_user_sees(s)
    if not keeps_refused:  # before version 7 a laptop kept no refused events (the refused note is gone)
        expected["refused"] = 0
    assert upgraded == expected
    with LocalStore(tmp_path / "new.sqlite") as s:
        assert layout == _layout(s.conn)
