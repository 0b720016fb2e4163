"""Build real projection rows for barometer tests: events made by shared.commands at chosen moments
(a fake HLC clock), folded, and turned into projection rows; and a SQLite ``meldingen`` table."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from shared.commands import DeviceClock, change_status, edit, log_callback, register
from shared.enums import Kanaal, MeldingType, Prioriteit, Status, VierB
from shared.events import MeldingFields
from shared.fold import fold
from shared.hlc import HLC
from shared.model import Adres, Melder
from shared.projection import COLUMNS, projection_row


def utc(text: str) -> datetime:
    """``"2025-03-03 09:00"`` (UTC) as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class World:
    """Makes meldingen at moments the test chooses and keeps their events.

    Each melding gets its own device clock: an HLC never runs backwards, so one clock shared by all
    would stamp a melding's early events after another melding's later ones.
    """

    def __init__(self) -> None:
        self.ms = 0
        self.counter = 0
        self.events: dict[str, list] = {}
        self.devs: dict[str, DeviceClock] = {}
        self.dev = self._new_dev()

    def _new_dev(self) -> DeviceClock:
        return DeviceClock("K7", "tester", hlc=HLC(clock=lambda: self.ms))

    def at(self, when: str) -> None:
        self.ms = int(utc(when).timestamp() * 1000)

    def state(self, mid: str):
        return fold(self.events[mid])

    def melding(
        self,
        registered: str,
        *,
        categorie: str | None = "groen/boom",
        wijk: str | None = "Centrum",
        kanaal: Kanaal = Kanaal.TELEFOON,
        vier_b: VierB | None = VierB.BETROUWBAARHEID,
        type_: MeldingType = MeldingType.MELDING,
        contact: bool = True,
        location: bool = True,
        prioriteit: Prioriteit | None = None,
    ) -> str:
        self.at(registered)
        self.counter += 1
        fields = MeldingFields(
            type=type_,
            kanaal=kanaal,
            omschrijving="Boom hangt over het fietspad",
            categorie=categorie,
            wijk=wijk,
            vier_b=vier_b,
            melder=Melder(naam="A. de Vries", telefoon="+31612345678") if contact else Melder(anoniem=True),
            adres=Adres(straat="Kerkstraat", huisnummer=12, huisletter="A", postcode="7721EJ", woonplaats="Dalfsen")
            if location
            else None,
            **({"prioriteit": prioriteit} if prioriteit else {}),
        )
        dev = self._new_dev()
        e = register(dev, prefix="DLF", counter=self.counter, fields=fields, registered_at=utc(registered))
        self.events[e.melding_id] = [e]
        self.devs[e.melding_id] = dev
        return e.melding_id

    def status(self, mid: str, when: str, naar: Status) -> None:
        self.at(when)
        self.events[mid].append(change_status(self.devs[mid], self.state(mid), naar, "notitie"))

    def callback(self, mid: str, when: str) -> None:
        self.at(when)
        self.events[mid].append(log_callback(self.devs[mid], self.state(mid), kanaal=Kanaal.TELEFOON, at=utc(when)))

    def edit(self, mid: str, when: str, **changes: Any) -> None:
        self.at(when)
        self.events[mid].extend(edit(self.devs[mid], self.state(mid), changes))

    def rows(self) -> list[dict[str, Any]]:
        return [projection_row(self.state(mid)) for mid in self.events]


def make_db(rows: list[dict[str, Any]], path: str = ":memory:") -> sqlite3.Connection:
    """A database with a ``meldingen`` table of ``COLUMNS`` holding ``rows``."""
    conn = sqlite3.connect(path)
    types = {str: "TEXT", int: "INTEGER", float: "REAL"}
    cols = ", ".join(f"{c} {types[t]}" for c, t in COLUMNS.items())
    conn.execute(f"CREATE TABLE meldingen ({cols}, PRIMARY KEY (melding_id))")
    names = list(COLUMNS)
    conn.executemany(
        f"INSERT INTO meldingen ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [[r[c] for c in names] for r in rows],
    )
    conn.commit()
    return conn


def make_summary_db(rows: list[dict[str, Any]]) -> sqlite3.Connection:
    """As :func:`make_db`, plus the server's summary table ``barometer_rows`` filled from the rows
    the way a server store's upgrade fills it."""
    from wijkteam_reports.summary import ensure_summary

    conn = make_db(rows)
    ensure_summary(conn, 0)
    conn.commit()
    return conn


#: What only a server database knows (its event log, quarantine, clashes) and what follows from it.
SERVER_ONLY = ("server_seq", "figures_hash", "made_at")
SERVER_QUALITY = ("events", "late_events", "pct_late", "quarantined", "reference_clashes")


def figures(report) -> dict:
    """The report as builtins without what only a server database can know, so a server store's
    report compares with the reference over its projection rows."""
    import msgspec

    data = msgspec.to_builtins(report)
    for key in SERVER_ONLY:
        data.pop(key, None)
    for key in SERVER_QUALITY:
        (data.get("data_quality") or {}).pop(key, None)
    return data
