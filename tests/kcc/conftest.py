"""A server app with a handful of real meldingen (made by shared.commands, stored like a push)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from shared.commands import delete
from shared.deadlines import utcnow
from shared.enums import MeldingType, Role, Status
from shared.fold import fold
from shared.model import Adres, Melder, Punt
from sync_server.app import create_app
from sync_server.settings import Settings
from sync_server.store import ServerStore
from tests.kcc.helpers import clock, make


@dataclass
class KccServer:
    """The app, its store, a token per role, and the references of the sample meldingen by name."""

    path: Path | str
    store: ServerStore
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)


def _fill(store: ServerStore) -> dict[str, str]:
    now = utcnow()
    kerk_a = Adres(straat="Kerkstraat", huisnummer=12, huisletter="A", postcode="7721EJ", woonplaats="Dalfsen")
    kerk_b = Adres(straat="Kerkstraat", huisnummer=12, huisletter="B", postcode="7721EJ", woonplaats="Dalfsen")
    molen = Adres(straat="Molenweg", huisnummer=3, postcode="7722AB", woonplaats="Dalfsen")
    samples = {
        "boom": make(
            1, registered_at=now - timedelta(days=3), adres=kerk_a, punt=Punt(lat=52.5091234, lon=6.2589876),
            melder=Melder(naam="Jan Jansen", telefoon="+31612345678", email="jan@example.nl"),
            omschrijving="Grote tak afgebroken na de storm",
        ),
        "lamp": make(
            2, registered_at=now - timedelta(days=2), adres=kerk_b, categorie="verlichting/lantaarnpaal",
            melder=Melder(naam="Piet de Vries", email="piet@example.nl"), omschrijving="Lamp brandt niet",
            status=[(Status.IN_BEHANDELING, ""), (Status.AFGEHANDELD, "Lamp vervangen.")],
        ),
        "kolk": make(
            3, registered_at=now - timedelta(days=1), adres=molen, categorie="riolering/verstopping",
            melder=Melder(anoniem=True), omschrijving="Verstopte kolk bij de speeltuin", wijk="Oost",
        ),
        "vraag": make(
            4, registered_at=now - timedelta(days=1), adres=molen, categorie="groen/plantsoen",
            melder=Melder(naam="Els Smit", telefoon="+31529456789"), omschrijving="Wanneer wordt er gemaaid?",
        ),
        "weg": make(
            5, registered_at=now - timedelta(days=1), adres=kerk_a,
            melder=Melder(naam="Jan Jansen", telefoon="+31612345678"), omschrijving="Dubbel ingevoerd",
        ),
        "oud": make(
            6, registered_at=now - timedelta(days=200), adres=molen, categorie="groen/boom",
            melder=Melder(anoniem=True), omschrijving="Boom scheef",
        ),
    }
    # Make "vraag" a question (not a service request) and delete "weg".
    from shared.commands import edit

    ev_vraag, st_vraag, _ = samples["vraag"]
    dev = clock("K7", now)
    dev.seq = 100
    ev_vraag = ev_vraag + edit(dev, st_vraag, {"type": MeldingType.VRAAG})
    ev_weg, st_weg, _ = samples["weg"]
    ev_weg = ev_weg + [delete(dev, st_weg, "dubbel")]
    all_events = []
    for name, (events, _, _) in samples.items():
        events = {"vraag": ev_vraag, "weg": ev_weg}.get(name, events)
        assert fold(events) is not None
        all_events.extend(events)
    store.ingest(all_events)
    return {name: state.reference for name, (_, state, _) in samples.items()}


@pytest.fixture
def kcc_server(store_location: Path | str) -> Iterator[KccServer]:
    path = store_location
    store = ServerStore(path)
    srv = KccServer(path=path, store=store, app=create_app(Settings(db_path=path), store=store))
    for role in Role:
        srv.tokens[role.value] = store.add_user(f"test-{role.value}", role)[0]
    srv.refs = _fill(store)
    yield srv
    store.close()


@pytest.fixture
def kcc_client(kcc_server: KccServer) -> Iterator[TestClient]:
    with TestClient(kcc_server.app) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
