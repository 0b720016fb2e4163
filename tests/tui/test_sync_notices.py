"""What a sync brings is shown (issue 14 §3): the melding on screen refreshes; an own change that lost
a concurrent edit is told with the melding and the value that won; a melding registered on another
laptop near one of ours (same categorie, ≤ 50 m, same day) is flagged as a possible duplicate —
never merged — and can be linked with ``d``; F5 without a server says how to set one up."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared import commands
from shared.enums import Status, VierB
from shared.events import MeldingFields
from shared.hlc import HLC
from shared.model import Adres, Melder, Punt
from wijkteam_store.local import LocalStore
from wijkteam_tui.config import Config
from wijkteam_tui.screens.detail import DetailScreen
from wijkteam_tui.screens.dialogs import ConfirmModal

from .conftest import NOW, settle
from .test_flow import SIZE, rendered

SERVER = Config(device_code="K7", user="tester", server_url="https://x.example", token="t", sync_interval_s=3600)
PUNT = Punt(52.506761, 6.2582183)


class Result:
    def __init__(self, pulled: int) -> None:
        self.pushed, self.pulled, self.quarantined, self.skew_ms = 0, pulled, 0, 0
        self.finished_at = NOW


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _fields(omschrijving: str) -> MeldingFields:
    return MeldingFields(
        omschrijving=omschrijving, categorie="verlichting/lantaarnpaal", vier_b=VierB.BETROKKENHEID,
        adres=Adres(straat="Kerkstraat", huisnummer=12, huisletter="A", postcode="7721EJ", woonplaats="Dalfsen"),
        punt=PUNT, melder=Melder(naam="Jan", telefoon="+31612345678"),
    )  # fmt: skip


class FakeServer:
    """Stands in for ``sync_once``: acknowledges what is pushed and, once armed, delivers events made
    on another laptop (K8) as a pull would."""

    def __init__(self) -> None:
        self.deliver: list = []
        self.seq = 0

    def __call__(self, store, url, token, **_kw):
        pending = store.unacked_events(1000)
        store.mark_acked([e.event_id for e in pending])
        events, self.deliver = self.deliver, []
        if events:
            self.seq += len(events)
            store.apply_remote(events, self.seq)
        return Result(len(events))


def _own_melding(db_path) -> tuple[str, str]:
    with LocalStore(db_path) as store:
        store.set_device_code("K7")
        dev = store.device_clock("tester", clock=lambda: _ms(NOW - timedelta(hours=2)))
        m = store.register(dev, prefix="DLF", fields=_fields("Lamp kapot"), registered_at=NOW - timedelta(hours=2))
        store.mark_acked([e.event_id for e in store.unacked_events(10)])  # it reached the server earlier
        created = store.events_of(m.melding_id)[0]
        return m.melding_id, created.event_id


async def test_a_lost_concurrent_edit_is_told_and_the_melding_on_screen_refreshes(app_factory, db_path):
    melding_id, created_id = _own_melding(db_path)
    server = FakeServer()
    app = app_factory(config=SERVER, sync_fn=server, auto_sync=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(DetailScreen(melding_id))
        await settle(pilot)
        # We change the description here; another laptop changed it too, from the same version,
        # a minute later (it wins on every laptop alike).
        screen = app.screen
        state = app.store.get(melding_id)
        dev = app.store.device_clock("tester", clock=app.hlc_clock)
        app.store.append(commands.edit(dev, state, {"omschrijving": "Lamp kapot, paal scheef"}), dev)
        klaas = commands.DeviceClock("K8", "klaas", hlc=HLC(clock=lambda: _ms(NOW + timedelta(minutes=1))))
        server.deliver = commands.edit(klaas, state, {"omschrijving": "Lamp vervangen nodig"})
        await pilot.press("f5")
        await settle(pilot)
        assert app.screen is screen
        fields = rendered(screen.query_one("#detail-fields"))
        assert "Lamp vervangen nodig" in fields  # refreshed without leaving the screen
        told = [str(n.message) for n in app._notifications]
        assert any(
            "DLF-K7-0001" in t and "omschrijving" in t and "klaas" in t and "«Lamp vervangen nodig»" in t
            and "«Lamp kapot, paal scheef»" in t
            for t in told
        ), told
        # A later round that brings nothing new says nothing again.
        count = len(app._notifications)
        await pilot.press("f5")
        await settle(pilot)
        assert len(app._notifications) == count


async def test_same_problem_on_two_laptops_is_flagged_not_merged(app_factory, db_path):
    melding_id, _ = _own_melding(db_path)
    server = FakeServer()
    klaas = commands.DeviceClock("K8", "klaas", hlc=HLC(clock=lambda: _ms(NOW - timedelta(hours=1))))
    fields = _fields("Lantaarnpaal brandt niet")
    fields.punt = Punt(PUNT.lat + 0.0001, PUNT.lon)  # about 11 m away
    server.deliver = [
        commands.register(klaas, prefix="DLF", counter=7, fields=fields, registered_at=NOW - timedelta(hours=1))
    ]
    theirs = server.deliver[0].melding_id
    app = app_factory(config=SERVER, sync_fn=server, auto_sync=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)  # the first round (on start) brings it
        told = [str(n.message) for n in app._notifications]
        assert any("DLF-K8-0007" in t and "DLF-K7-0001" in t and "niets is samengevoegd" in t for t in told), told
        await app.push_screen(DetailScreen(melding_id))
        await settle(pilot)
        notes = rendered(app.screen.query_one("#detail-notes"))
        assert "Mogelijk dubbel" in notes and "DLF-K8-0007 (11 m)" in notes
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
    with LocalStore(db_path) as store:
        ours, other = store.get(melding_id), store.get(theirs)
        assert (ours.status, ours.duplicaat_van) == (Status.GEANNULEERD, "DLF-K8-0007")
        assert other.status == Status.GEMELD  # never merged: the other stays as it was
        assert [r["reference"] for r in store.duplicates_of("DLF-K8-0007")] == ["DLF-K7-0001"]
        assert store.possible_duplicates(theirs) == []  # settled: no longer flagged


async def test_far_apart_or_a_day_apart_is_not_flagged(app_factory, db_path):
    melding_id, _ = _own_melding(db_path)
    server = FakeServer()
    klaas = commands.DeviceClock("K8", "klaas", hlc=HLC(clock=lambda: _ms(NOW)))
    far = _fields("Lamp kapot")
    far.punt = Punt(PUNT.lat + 0.001, PUNT.lon)  # about 110 m
    late = _fields("Lamp kapot")
    server.deliver = [
        commands.register(klaas, prefix="DLF", counter=1, fields=far, registered_at=NOW - timedelta(hours=1)),
        commands.register(klaas, prefix="DLF", counter=2, fields=late, registered_at=NOW + timedelta(days=1, hours=1)),
    ]
    app = app_factory(config=SERVER, sync_fn=server, auto_sync=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not any("Mogelijk dubbel" in str(n.title) for n in app._notifications)
    with LocalStore(db_path) as store:
        assert store.possible_duplicates(melding_id) == []


async def test_f5_without_a_server_says_how_to_set_one_up(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await settle(pilot)
        told = " ".join(str(n.message) for n in app._notifications)
        assert "Geen server ingesteld" in told and "Instellingen (F9)" in told and "token" in told


async def test_work_a_colleague_assigns_to_me_is_told_after_the_sync(app_factory, db_path):
    """A melding another laptop gave to this laptop's user is announced with its reference and shows
    in Mijn werkvoorraad; one given to someone else, or taken away again, is not announced."""
    from wijkteam_tui.screens.werkvoorraad import WerkvoorraadScreen

    melding_id, _ = _own_melding(db_path)
    server = FakeServer()
    klaas = commands.DeviceClock("K8", "klaas", hlc=HLC(clock=lambda: _ms(NOW - timedelta(minutes=30))))
    app = app_factory(config=SERVER, sync_fn=server, auto_sync=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WerkvoorraadScreen) and sum(screen.counts.values()) == 0
        state = app.store.get(melding_id)
        other = commands.register(klaas, prefix="DLF", counter=9, fields=_fields("Paal scheef"),
                                  registered_at=NOW - timedelta(hours=1))  # fmt: skip
        server.deliver = [commands.assign(klaas, state, "tester"), other]
        count = len(app._notifications)
        await pilot.press("f5")
        await settle(pilot)
        told = [str(n.message) for n in list(app._notifications)[count:]]
        # (the other laptop's new melding, not assigned to me, is not announced as mine)
        assert [t for t in told if "toegewezen" in t] == ["DLF-K7-0001 is aan u toegewezen; zie Mijn werkvoorraad."], told
        assert sum(screen.counts.values()) == 1  # refreshed: it is in my werkvoorraad now

        # to a colleague: nothing for me
        from shared.fold import fold

        other_state = fold([other])
        server.deliver = [commands.assign(klaas, other_state, "piet")]
        count = len(app._notifications)
        await pilot.press("f5")
        await settle(pilot)
        assert not any("toegewezen" in str(n.message) for n in list(app._notifications)[count:])
