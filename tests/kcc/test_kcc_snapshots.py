"""Snapshots of the KCC screen at 80×24: results and detail. Look at the diff before updating.

Stable by construction: the server's answers are made by the real server code
(``sync_server.search``) from meldingen registered at a fixed instant, served through an httpx
mock transport; the app's clock is fixed and it does not sync.
"""

from __future__ import annotations

import json

from datetime import UTC, datetime
from functools import partial

import httpx
import msgspec
import pytest

from shared.enums import Status
from shared.model import Adres, Melder, Melding
from shared.search import classify
from shared.taxonomy import load_taxonomy
from sync_server.search import KccResults, detail, hit_from_row
from tests.kcc.helpers import make
from wijkteam_tui.app import make_app
from wijkteam_tui.config import Config
from wijkteam_tui.screens import kcc as kcc_screen
from wijkteam_tui.screens.kcc import KccClient, KccScreen

NOW = datetime(2026, 4, 28, 8, 0, tzinfo=UTC)
REG = datetime(2026, 4, 24, 8, 15, tzinfo=UTC)


def rows() -> list[tuple[dict, Melding]]:
    kerk = Adres(straat="Kerkstraat", huisnummer=12, postcode="7721EJ", woonplaats="Dalfsen")
    _, boom, boom_row = make(
        1, registered_at=REG, adres=msgspec.structs.replace(kerk, huisletter="A"),
        melder=Melder(naam="Jan Jansen", telefoon="+31612345678"), omschrijving="Grote tak [red]afgebroken[/red]",
    )  # fmt: skip
    _, lamp, lamp_row = make(
        2, registered_at=REG, adres=msgspec.structs.replace(kerk, huisletter="B"), categorie="verlichting/lantaarnpaal",
        melder=Melder(anoniem=True), omschrijving="Lamp brandt niet",
        status=[(Status.AFGEHANDELD, "Lamp vervangen.")],
    )  # fmt: skip
    return [(lamp_row, lamp), (boom_row, boom)]


def transport() -> httpx.MockTransport:
    tax = load_taxonomy()
    data = {r["reference"]: (r, m) for r, m in rows()}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/kcc/search":
            q = classify(json.loads(request.content)["q"])
            answer = KccResults(q.kind.value, q.describe(), [hit_from_row(r, tax) for r, _ in data.values()])
            return httpx.Response(200, content=msgspec.json.encode(answer))
        ref = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(200, content=msgspec.json.encode(detail(*data[ref], tax)))

    return httpx.MockTransport(handler)


def app(tmp_path, monkeypatch):
    """The app as ``wijkteam --kcc`` starts it; its KCC client talks to the mock transport."""
    monkeypatch.setattr(kcc_screen, "KccClient", partial(KccClient, transport=transport()))
    config = Config(server_url="http://kcc.test", token="wt_x")
    return make_app(tmp_path / "laptop.sqlite", config, kcc=True, clock=lambda: NOW, auto_sync=False)


async def open_kcc(pilot) -> None:
    await pilot.pause()
    assert isinstance(pilot.app.screen, KccScreen)
    await pilot.press(*"7721 ej 12", "enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("view", ["results", "detail"])
def test_kcc_screen(snap_compare, tmp_path, monkeypatch, view: str) -> None:
    async def run_before(pilot) -> None:
        await open_kcc(pilot)
        if view == "detail":
            await pilot.press("down", "enter")
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()

    assert snap_compare(app(tmp_path, monkeypatch), terminal_size=(80, 24), run_before=run_before)


def test_long_addresses_are_cut_so_the_expected_date_stays_visible() -> None:
    from wijkteam_tui.screens.kcc import _cut

    long = "Burgemeester van Roijensingel 112 bis, 7721 EJ Dalfsen"
    assert _cut(long, 34) == long[:33] + "…" and len(_cut(long, 34)) == 34
    assert _cut("Kerkstraat 12 A, Dalfsen", 34) == "Kerkstraat 12 A, Dalfsen"


@pytest.mark.parametrize("width", [80, 120])
async def test_verwacht_klaar_is_never_cut(tmp_path, monkeypatch, width: int) -> None:
    """The longest values a result row can hold (reference, status, the longest date, address and
    categorie) never push "Verwacht klaar" off the screen (issue 14)."""
    from textual.widgets import DataTable

    resident = {
        "reference": "ABCDE-K7X-000142", "open": True, "status": "in_behandeling", "status_text": "In behandeling",
        "registered_date": "2026-09-29", "expected_date": "2026-09-30",
    }  # fmt: skip
    hit = {
        "melding_id": "m1", "reference": "ABCDE-K7X-000142", "open": True, "status_label": "In behandeling",
        "status": "in_behandeling", "registered_date": "2026-09-29", "categorie_naam": None, "wijk": None,
        "wijk_naam": None, "deadline": None, "public_note": None,
        "adres": "Burgemeester van Roijensingel 112 bis, 7721 EJ Dalfsen", "categorie": "verlichting/paal_schade",
        "registered_at": "2026-09-29T08:00:00Z", "resident": resident,
    }  # fmt: skip
    the_app = app(tmp_path, monkeypatch)
    async with the_app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        screen = the_app.screen
        assert isinstance(screen, KccScreen)
        # two hits, so no detail is fetched (one hit opens its detail at once)
        answer = {"kind": "naam", "results": [hit, {**hit, "melding_id": "m2"}], "searched": "Gezocht op naam: x"}
        screen._show_results(msgspec.convert(answer, KccResults))
        await pilot.pause()
        table = screen.query_one("#kcc-results", DataTable)
        titles = [str(c.label) for c in table.ordered_columns]
        i = titles.index("Verwacht klaar")
        right = sum(c.get_render_width(table) for c in table.ordered_columns[: i + 1])
        assert right <= table.scrollable_content_region.width
        assert str(table.get_row_at(0)[i]) == "30 september 2026"
