"""Issue 14 in the domain: second melders (``melder_added``), assignment (``assigned``), who still
waits for a call-back, the history of a category change, times entered by hand, the status the
dialog proposes, and the migrations that fill the new projection columns on both ends."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from shared import commands
from shared.enums import Kanaal, Status, VierB
from shared.errors import ValidationError
from shared.events import MeldingFields
from shared.fold import conflict_notes, fold
from shared.hlc import HLC
from shared.model import Adres, Melder
from shared.projection import projection_row
from shared.status import FORWARD, allowed_next, proposed_next
from wijkteam_store.local import SCHEMA_VERSION, LocalStore

NOW = datetime(2026, 4, 24, 8, 15, tzinfo=UTC)
JAN = Melder(naam="Jan Jansen", telefoon="+31612345678")
PIET = Melder(naam="Piet", email="piet@voorbeeld.nl")
FIELDS = MeldingFields(
    omschrijving="Lamp kapot", categorie="verlichting/lantaarnpaal", vier_b=VierB.BETROKKENHEID, melder=JAN
)


def _registered(dev: commands.DeviceClock) -> list:
    return [commands.register(dev, prefix="DLF", counter=1, fields=FIELDS, registered_at=NOW)]


def test_a_second_melder_is_counted_and_listed():
    dev = commands.DeviceClock("K7", "jan")
    events = _registered(dev)
    m = fold(events)
    events.append(commands.add_melder(dev, m, kanaal=Kanaal.MONDELING, melder=PIET, at=NOW, omschrijving="Ook kapot"))
    m = fold(events)
    assert m.melder_count == 2
    (second,) = m.melders
    assert (second.melder, second.kanaal, second.omschrijving, second.user) == (PIET, Kanaal.MONDELING, "Ook kapot", "jan")
    assert m.history[-1].summary == "Tweede melder toegevoegd (via Mondeling)"
    assert projection_row(m)["melder_count"] == 2
    # a caller who left nothing is still counted
    events.append(commands.add_melder(dev, m, kanaal=Kanaal.TELEFOON, melder=Melder(), at=NOW))
    m = fold(events)
    assert m.melder_count == 3 and m.melders[1].melder is None
    assert m.history[-1].summary == "Melder 3 toegevoegd (via Telefoon)"


class Clock:
    """A laptop clock the test moves on (events are stamped with it)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    def later(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def test_everyone_who_can_be_answered_is_owed_a_call_back_once_it_progressed():
    clock = Clock(NOW)
    dev = commands.DeviceClock("K7", "jan", hlc=HLC(clock=clock.ms))
    events = _registered(dev)
    m = fold(events)
    events.append(commands.add_melder(dev, m, kanaal=Kanaal.TELEFOON, melder=PIET, at=NOW))
    m = fold(events)
    assert m.terugbellen() == (0, None)  # nothing to tell yet
    # A call-back before the work was planned does not count for the news that follows.
    at = clock.later(minutes=10)
    events.append(commands.log_callback(dev, m, kanaal=Kanaal.TELEFOON, at=at, now=at))
    clock.later(hours=1)
    events.append(commands.change_status(dev, fold(events), Status.IN_BEHANDELING))
    assert fold(events).terugbellen() == (0, None)  # in behandeling is not yet news
    clock.later(hours=1)
    events.append(commands.change_status(dev, fold(events), Status.INGEPLAND))
    m = fold(events)
    waiting, since = m.terugbellen()
    assert waiting == 2 and since == clock.now
    row = projection_row(m)
    assert row["terugbellen"] == 2 and row["terugbellen_sinds"] is not None
    at = clock.later(hours=1)
    events.append(commands.log_callback(dev, m, kanaal=Kanaal.TELEFOON, at=at, now=at))
    assert fold(events).terugbellen()[0] == 1
    piet = m.melders[0].event_id
    events.append(commands.log_callback(dev, m, kanaal=Kanaal.EMAIL, at=at, melder=piet, now=at))
    m = fold(events)
    assert m.terugbellen() == (0, None)
    assert "aan melder 2 via E-mail" in m.history[-1].summary
    # Closed: news again for both.
    clock.later(days=1)
    events.append(commands.change_status(dev, m, Status.AFGEHANDELD, voor_melder="Lamp vervangen"))
    assert fold(events).terugbellen() == (2, clock.now)


def test_an_anonymous_or_contactless_melder_is_not_waited_for():
    dev = commands.DeviceClock("K7", "jan")
    events = [commands.register(dev, prefix="DLF", counter=1, fields=MeldingFields(
        omschrijving="x", categorie="verlichting/lantaarnpaal", vier_b=VierB.BETROKKENHEID, melder=Melder(anoniem=True)
    ), registered_at=NOW)]  # fmt: skip
    events.append(commands.add_melder(dev, fold(events), kanaal=Kanaal.TELEFOON, melder=Melder(naam="Zonder nummer"), at=NOW))
    events.append(commands.change_status(dev, fold(events), Status.AFGEHANDELD, voor_melder="klaar"))
    assert fold(events).terugbellen() == (0, None)


def test_a_letter_writer_can_be_answered_by_letter():
    brief = Melder(naam="A. Schrijver", postadres=Adres(straat="Kerkstraat", huisnummer=12, postcode="7721EJ", woonplaats="Dalfsen"))
    assert brief.has_contact
    assert not Melder(naam="A. Schrijver").has_contact


def test_anonymising_scrubs_every_melder():
    dev = commands.DeviceClock("K7", "jan")
    events = _registered(dev)
    events.append(commands.add_melder(dev, fold(events), kanaal=Kanaal.TELEFOON, melder=PIET, at=NOW))
    events.append(commands.anonymise_reporter(dev, fold(events)))
    m = fold(events)
    assert m.melder is not None and m.melder.gewist and not m.melder.has_details
    assert all(x.melder is not None and x.melder.gewist and not x.melder.has_details for x in m.melders)
    assert "piet@" not in str([h.details for h in m.history])
    assert projection_row(m)["melder_naam"] == ""
    assert m.terugbellen() == (0, None)  # nobody can be called back any more


def test_call_back_rules():
    dev = commands.DeviceClock("K7", "jan")
    m = fold(_registered(dev))
    with pytest.raises(ValidationError, match="hoort niet bij de melding"):
        commands.log_callback(dev, m, kanaal=Kanaal.TELEFOON, melder="iemand-anders", now=NOW)
    with pytest.raises(ValidationError, match="in de toekomst") as exc:
        commands.log_callback(dev, m, kanaal=Kanaal.TELEFOON, at=NOW + timedelta(hours=1), now=NOW)
    assert exc.value.field == "tijdstip"
    with pytest.raises(ValidationError, match="in de toekomst"):
        commands.add_melder(dev, m, kanaal=Kanaal.TELEFOON, melder=PIET, at=NOW + timedelta(days=1), now=NOW)
    # a minute ahead (the clock turning over while typing "now") is fine
    commands.log_callback(dev, m, kanaal=Kanaal.TELEFOON, at=NOW + timedelta(minutes=1), now=NOW)


def test_assignment_shows_who_assigned_whom_and_conflicts_like_a_field():
    jan = commands.DeviceClock("K7", "jan")
    events = _registered(jan)
    m = fold(events)
    assert (m.behandelaar, m.aan_team, m.assignment_text()) == (None, False, "niet toegewezen")
    events.append(commands.assign(jan, m, "piet"))
    m = fold(events)
    assert m.behandelaar == "piet" and m.history[-1].summary == "Toegewezen aan piet" and m.history[-1].user == "jan"
    assert projection_row(m)["behandelaar"] == "piet"
    with pytest.raises(ValidationError, match="al toegewezen aan piet"):
        commands.assign(jan, m, "piet")
    events.append(commands.assign(jan, m, None, aan_team=True))
    m = fold(events)
    assert (m.behandelaar, m.aan_team, m.assignment_text()) == (None, True, "het team")
    assert m.history[-1].summary == "Toegewezen aan het team"
    assert projection_row(m)["aan_team"] == 1
    # Two laptops reassign the same state before they sync: the later wins everywhere, flagged.
    klaas = commands.DeviceClock("K8", "klaas")
    klaas.hlc.recv(max(e.hlc for e in events))
    a = commands.assign(jan, m, "jan")
    b = commands.assign(klaas, m, "klaas")
    both = fold([*events, a, b])
    assert both.behandelaar == fold([*events, b, a]).behandelaar
    notes = conflict_notes(both)
    assert len(notes) == 1 and "behandelaar overschreven" in next(iter(notes.values()))
    events.append(commands.assign(jan, m, None))
    assert fold(events).history[-1].summary == "Niet meer toegewezen"


def test_a_category_change_names_old_and_new_category_and_deadline():
    dev = commands.DeviceClock("K7", "jan")
    events = _registered(dev)  # lantaarnpaal: 5 working days from Friday 24 April → Monday 4 May
    events += commands.edit(dev, fold(events), {"categorie": "verlichting/paal_schade"})  # 3 days
    line = fold(events).history[-1].summary
    assert line == (
        "Gewijzigd: categorie Verlichting › Lantaarnpaal defect → Verlichting › Lantaarnpaal beschadigd of scheef; "
        "streefdatum 04-05-2026 → 30-04-2026"  # King's Day skipped
    ), line
    events += commands.edit(dev, fold(events), {"categorie": "riolering/verstopping"})  # also 3 days
    assert fold(events).history[-1].summary.endswith("; streefdatum blijft 30-04-2026")
    # other fields keep the plain list
    events += commands.edit(dev, fold(events), {"omschrijving": "Paal scheef"})
    assert fold(events).history[-1].summary == "Gewijzigd: omschrijving"


@pytest.mark.parametrize("current", list(Status))
def test_the_proposed_status_is_the_next_step_forward(current):
    assert proposed_next(current) in allowed_next(current)
    assert FORWARD[Status.INGEPLAND] == Status.AFGEHANDELD
    assert FORWARD[Status.GEMELD] == Status.IN_BEHANDELING


def _old_laptop_file(path, make) -> dict:
    """A laptop file with meldingen made by ``make(store, dev)``, turned into schema 7 (without the
    werkvoorraad columns); returns the projection rows as the current code writes them."""
    s = LocalStore(path)
    s.set_device_code("K7")
    make(s, s.device_clock("u"))
    expected = {r["melding_id"]: r for r in s.iter_rows()}
    s.close()
    c = sqlite3.connect(path)
    for col in ("behandelaar", "aan_team", "melder_count", "terugbellen", "terugbellen_sinds"):
        c.execute(f"DROP INDEX IF EXISTS meldingen_{'werkvoorraad' if col == 'behandelaar' else col}")
    c.execute("DROP INDEX IF EXISTS meldingen_terugbellen")
    c.execute("DROP INDEX IF EXISTS meldingen_werkvoorraad")
    for col in ("behandelaar", "aan_team", "melder_count", "terugbellen", "terugbellen_sinds"):
        c.execute(f"ALTER TABLE meldingen DROP COLUMN {col}")
    c.execute("DELETE FROM schema_version WHERE version >= 8")
    c.commit()
    c.close()
    return expected


def test_laptop_migration_fills_the_werkvoorraad_columns(tmp_path):
    def make(s, dev):
        open_one = s.register(dev, prefix="DLF", fields=FIELDS)
        closed = s.register(dev, prefix="DLF", fields=FIELDS)
        s.append([commands.change_status(dev, closed, Status.AFGEHANDELD, voor_melder="klaar")], dev)
        assert open_one

    path = tmp_path / "old.sqlite"
    expected = _old_laptop_file(path, make)
    s = LocalStore(path)
    try:
        assert s.schema_version() == SCHEMA_VERSION
        got = {r["melding_id"]: r for r in s.iter_rows()}
        assert got == expected
        assert sorted(r["terugbellen"] for r in got.values()) == [0, 1]
        indexes = {r[1] for r in s.conn.execute("PRAGMA index_list(meldingen)")}
        assert {"meldingen_werkvoorraad", "meldingen_terugbellen"} <= indexes
    finally:
        s.close()


def test_server_migration_fills_the_werkvoorraad_columns(tmp_path):
    from sync_server.store import ServerStore

    path = tmp_path / "server.db"
    store = ServerStore(path)

    def build(dev, next_counter):
        events = [commands.register(dev, prefix="DLF", counter=next_counter(), fields=FIELDS, registered_at=NOW)]
        events.append(commands.change_status(dev, fold(events), Status.AFGEHANDELD, voor_melder="klaar"))
        return events

    made = store.append_server_events("srv", build)
    mid = made[0].melding_id
    expected = store.projection(mid)
    assert expected["terugbellen"] == 1
    store.close()
    c = sqlite3.connect(path)
    for col in ("behandelaar", "aan_team", "melder_count", "terugbellen", "terugbellen_sinds"):
        c.execute(f"ALTER TABLE meldingen DROP COLUMN {col}")
    c.execute("UPDATE server_state SET value = 4 WHERE key = 'schema_version'")
    c.commit()
    c.close()
    store = ServerStore(path)
    try:
        assert store.projection(mid) == expected
    finally:
        store.close()
