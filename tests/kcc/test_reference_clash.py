"""A reference on two meldingen: the public status and the KCC never silently answer for one of them.

The clash is made the way it happens in the field: a second laptop that was (wrongly) given device
code K7 registers its own melding 1, so ``DLF-K7-0001`` arrives on the server twice through ingest.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar.testing import TestClient

from shared.commands import delete
from shared.deadlines import utcnow
from shared.enums import Status
from shared.model import Adres, Melder
from sync_server.audit import list_entries
from sync_server.clashes import PUBLIC_CLASH_MESSAGE, ReferenceClash, the_one
from tests.kcc.conftest import KccServer, bearer
from tests.kcc.helpers import clock, make

MOLEN = Adres(straat="Molenweg", huisnummer=9, postcode="7722AB", woonplaats="Dalfsen")


@pytest.fixture
def clash(kcc_server: KccServer):
    """A second melding with the reference of "boom" (``DLF-K7-0001``); returns (reference, its events)."""
    ref = kcc_server.refs["boom"]
    events, state, _ = make(
        1, registered_at=utcnow() - timedelta(hours=5), adres=MOLEN, categorie="afval/zwerfvuil",
        melder=Melder(naam="Karin Mulder", telefoon="+31687654321"), omschrijving="Zakken vuilnis naast de bak",
        status=[(Status.IN_BEHANDELING, "")],
    )  # fmt: skip
    assert state.reference == ref
    kcc_server.store.ingest(events)
    assert {c["reference"] for c in kcc_server.store.reference_clashes()} == {ref}
    return ref, events, state


def test_holders_and_the_one(kcc_server: KccServer, clash) -> None:
    ref, _, second = clash
    c = kcc_server.store
    rows = c.live_by_reference(ref)
    assert len(rows) == 2 and rows[0]["melding_id"] == second.melding_id  # newest registration first
    with pytest.raises(ReferenceClash) as info:
        the_one(c, ref)
    assert [r["melding_id"] for r in info.value.rows] == [r["melding_id"] for r in rows]
    assert the_one(c, ref, second.melding_id)["melding_id"] == second.melding_id
    assert the_one(c, ref, "not-a-melding") is None
    # A reference without a clash is simply its one melding.
    assert the_one(c, kcc_server.refs["lamp"])["reference"] == kcc_server.refs["lamp"]


def test_public_status_refuses_a_clash_in_dutch(kcc_client: TestClient, clash) -> None:
    ref, _, _ = clash
    r = kcc_client.get(f"/api/v1/public/status/{ref.lower()}")
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["detail"] == PUBLIC_CLASH_MESSAGE
    assert "meer dan één melding" in body["detail"]
    # Nothing of either melding is shown: not the status, not the street, not the reporter.
    for secret in ("Molenweg", "Kerkstraat", "gemeld", "in_behandeling", "Mulder", "Jansen", "afval", "groen"):
        assert secret not in r.text


def test_public_status_answers_again_once_the_clash_is_resolved(
    kcc_client: TestClient, kcc_server: KccServer, clash
) -> None:
    ref, _, second = clash
    dev = clock("K7", utcnow())
    dev.seq = 500
    kcc_server.store.ingest([delete(dev, second, "dubbele referentie")])
    r = kcc_client.get(f"/api/v1/public/status/{ref}")
    assert r.status_code == 200, r.text
    assert r.json()["straat"] == "Kerkstraat"  # the remaining one, "boom"


def test_kcc_detail_lists_both(kcc_client: TestClient, kcc_server: KccServer, clash) -> None:
    ref, _, second = clash
    r = kcc_client.get(f"/api/v1/kcc/meldingen/{ref}", headers=bearer(kcc_server.tokens["kcc"]))
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["reference"] == ref
    ids = [h["melding_id"] for h in body["meldingen"]]
    assert len(ids) == 2 and second.melding_id in ids
    assert {h["adres"] for h in body["meldingen"]} == {"Kerkstraat 12A, 7721 EJ Dalfsen", "Molenweg 9, 7722 AB Dalfsen"}
    # The message alone (all the TUI shows) names both, in Dutch.
    assert "hoort bij 2 meldingen" in body["detail"]
    assert "Kerkstraat 12A" in body["detail"] and "Molenweg 9" in body["detail"]
    # A list is not a personal-data read: no reporter details, nothing audited.
    for secret in ("Mulder", "Jansen", "687654321", "612345678"):
        assert secret not in r.text
    assert list_entries(kcc_server.store) == []


def test_kcc_detail_opens_the_chosen_one(kcc_client: TestClient, kcc_server: KccServer, clash) -> None:
    ref, _, second = clash
    listed = kcc_client.get(f"/api/v1/kcc/meldingen/{ref}", headers=bearer(kcc_server.tokens["kcc"])).json()
    for hit in listed["meldingen"]:
        r = kcc_client.get(
            f"/api/v1/kcc/meldingen/{ref}", params={"melding_id": hit["melding_id"]},
            headers=bearer(kcc_server.tokens["kcc"]),
        )  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["hit"]["melding_id"] == hit["melding_id"]
    chosen = kcc_client.get(
        f"/api/v1/kcc/meldingen/{ref}",
        params={"melding_id": second.melding_id},
        headers=bearer(kcc_server.tokens["kcc"]),
    ).json()
    assert chosen["melder"]["naam"] == "Karin Mulder" and chosen["omschrijving"] == "Zakken vuilnis naast de bak"
    # Each opened detail is a personal-data read, audited against the melding actually shown.
    assert {e.melding_id for e in list_entries(kcc_server.store)} == {
        h["melding_id"] for h in listed["meldingen"]
    }
    # A melding_id that does not carry this reference is not found under it.
    other = kcc_client.post(
        "/api/v1/kcc/search", json={"q": kcc_server.refs["lamp"]}, headers=bearer(kcc_server.tokens["kcc"])
    )
    lamp_id = other.json()["results"][0]["melding_id"]
    r = kcc_client.get(
        f"/api/v1/kcc/meldingen/{ref}", params={"melding_id": lamp_id}, headers=bearer(kcc_server.tokens["kcc"])
    )
    assert r.status_code == 404


def test_kcc_search_by_reference_lists_both(kcc_client: TestClient, kcc_server: KccServer, clash) -> None:
    ref, _, second = clash
    r = kcc_client.post("/api/v1/kcc/search", json={"q": ref.lower()}, headers=bearer(kcc_server.tokens["kcc"]))
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [h["reference"] for h in results] == [ref, ref]
    assert second.melding_id in {h["melding_id"] for h in results}


def test_single_reference_detail_is_unchanged(kcc_client: TestClient, kcc_server: KccServer, clash) -> None:
    r = kcc_client.get(f"/api/v1/kcc/meldingen/{kcc_server.refs['lamp']}", headers=bearer(kcc_server.tokens["kcc"]))
    assert r.status_code == 200 and r.json()["hit"]["reference"] == kcc_server.refs["lamp"]


async def test_kcc_screen_lists_both_and_opens_each(
    kcc_server: KccServer, kcc_client: TestClient, clash, tmp_path
) -> None:
    """The KCC screen shows both hits (it used to crash on the duplicate row key) and opens the chosen one."""
    import httpx
    from textual.widgets import DataTable, Static

    from tests.kcc.test_kcc_tui import text_of
    from wijkteam_tui.app import make_app
    from wijkteam_tui.config import Config
    from wijkteam_tui.screens.kcc import KccClient, KccScreen

    ref, _, second = clash

    def through_server(request: httpx.Request) -> httpx.Response:
        r = kcc_client.request(
            request.method, request.url.path, params=request.url.params, headers=dict(request.headers),
            content=request.content,
        )
        return httpx.Response(r.status_code, content=r.content, headers=r.headers)

    client = KccClient("http://kcc.test", kcc_server.tokens["kcc"], transport=httpx.MockTransport(through_server))
    app = make_app(tmp_path / "laptop.sqlite", Config(), auto_sync=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = KccScreen(client)
        await app.push_screen(screen)
        await pilot.pause()
        await pilot.press(*ref.lower(), "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = screen.query_one("#kcc-results", DataTable)
        assert table.row_count == 2
        assert "2 meldingen" in text_of(screen.query_one("#kcc-message", Static))
        row = next(i for i, h in enumerate(screen.results) if h.melding_id == second.melding_id)
        table.focus()
        table.move_cursor(row=row)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.has_class("-detail")
        assert screen.current is not None and screen.current.hit.melding_id == second.melding_id
        assert "Molenweg 9" in text_of(screen.query_one("#kcc-detail", Static))
        # Asked by reference alone, the server's answer names both meldingen.
        screen.run_detail(ref)
        await app.workers.wait_for_complete()
        await pilot.pause()
        message = text_of(screen.query_one("#kcc-message", Static))
        assert "hoort bij 2 meldingen" in message and "Kerkstraat 12A" in message and "Molenweg 9" in message


def test_open311_single_request_gives_every_melding_with_the_reference(kcc_client: TestClient, clash) -> None:
    ref, _, second = clash
    r = kcc_client.get(f"/open311/v2/requests/{ref}.json")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["service_request_id"] for x in body] == [ref, ref]
    assert body[0]["service_code"] == "afval/zwerfvuil"  # the newest registration first
    assert body[1]["service_code"] != body[0]["service_code"]
