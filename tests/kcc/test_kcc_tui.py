"""The KCC mode of the TUI against a real ``wijkteam-server serve`` process on 127.0.0.1."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import DataTable, Input, Static

from sync_server.audit import list_entries
from sync_server.store import ServerStore
from tests.e2e.conftest import ServerProcess
from tests.kcc.conftest import _fill
from wijkteam_tui.app import make_app
from wijkteam_tui.config import Config
from wijkteam_tui.screens.kcc import KccScreen

pytestmark = pytest.mark.e2e
SIZE = (100, 30)


class Running:
    def __init__(self, proc: ServerProcess, refs: dict[str, str], kcc_token: str, wijk_token: str) -> None:
        self.proc = proc
        self.refs = refs
        self.kcc_token = kcc_token
        self.wijk_token = wijk_token


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    db = tmp_path / "server.sqlite3"
    store = ServerStore(db)
    refs = _fill(store)
    store.close()
    proc = ServerProcess(db, tmp_path / "server.log")
    kcc_token, _ = proc.add_user("anna", "kcc")
    wijk_token, _ = proc.add_user("piet", "wijkuitvoerder")
    proc.start()
    try:
        yield Running(proc, refs, kcc_token, wijk_token)
    finally:
        proc.stop()


def text_of(widget: Static) -> str:
    """The plain text a Static shows (Rich renderables rendered at the test width)."""
    content = widget.content
    if isinstance(content, str):
        return content
    console = Console(width=SIZE[0], record=True, file=io.StringIO())
    console.print(content)
    return console.export_text()


async def search(pilot, app, query: str) -> None:
    box = app.screen.query_one("#kcc-query", Input)
    box.focus()
    box.value = ""
    await pilot.press(*query, "enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_kcc_mode_live(running: Running, tmp_path: Path) -> None:
    config = Config(server_url=running.proc.url, token=running.kcc_token)
    app = make_app(tmp_path / "laptop.sqlite", config, kcc=True, auto_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, KccScreen)
        screen = app.screen
        # Phone as the caller says it: two hits for Kerkstraat 12 by postcode, one by phone.
        await search(pilot, app, "7721 ej 12")
        table = screen.query_one("#kcc-results", DataTable)
        assert table.row_count == 2
        assert [str(table.get_row_at(i)[0]) for i in range(2)] == [running.refs["lamp"], running.refs["boom"]]
        assert "postcode en huisnummer" in text_of(screen.query_one("#kcc-message", Static))
        # Enter on the second row opens the detail: open, expected date, what to tell, history.
        await pilot.press("down", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.has_class("-detail")
        detail = text_of(screen.query_one("#kcc-detail", Static))
        assert running.refs["boom"] in detail and "open" in detail
        assert "Wat u de melder kunt vertellen" in detail and "Verwacht klaar" in detail
        assert "Jan Jansen" in detail and "Historie" in detail and "Geregistreerd als" in detail
        # Escape goes back to the list, never out of KCC mode.
        await pilot.press("escape")
        assert not screen.has_class("-detail") and isinstance(app.screen, KccScreen)
        # One hit opens its detail at once; the phone number in another spelling.
        await search(pilot, app, "+31 6 1234 5678")
        assert table.row_count == 1
        assert screen.has_class("-detail")
        assert "gesloten" not in text_of(screen.query_one("#kcc-detail", Static))
        await search(pilot, app, running.refs["lamp"].lower())
        detail = text_of(screen.query_one("#kcc-detail", Static))
        assert "gesloten" in detail and "Lamp vervangen." in detail
        # Nothing found says so; an empty box says what to type.
        await search(pilot, app, "zzzzqqq")
        assert table.row_count == 0
        assert "niets gevonden" in text_of(screen.query_one("#kcc-message", Static))
        # Read-only: the new-melding key does not open the intake.
        await pilot.press("escape", "f2")
        await pilot.pause()
        assert isinstance(app.screen, KccScreen)
    # The detail reads with reporter data are in the audit, under the agent's name, and so is the
    # search by phone number that found the melding (the agent learned its address from the number).
    store = ServerStore(running.proc.db)
    try:
        entries = list_entries(store)
    finally:
        store.close()
    assert [e.actor for e in entries] == ["anna (kcc)"] * 4
    assert [e.reference for e in entries if "via zoeken op telefoon" in e.detail] == [running.refs["boom"]]
    assert {e.reference for e in entries} == {running.refs["boom"], running.refs["lamp"]}
    out = running.proc.cli("audit", "list")
    assert out.returncode == 0 and "anna (kcc)" in out.stdout


async def test_wrong_role_is_said_plainly(running: Running, tmp_path: Path) -> None:
    config = Config(server_url=running.proc.url, token=running.wijk_token)
    app = make_app(tmp_path / "laptop.sqlite", config, kcc=True, auto_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await search(pilot, app, "Jansen")
        msg = app.screen.query_one("#kcc-message", Static)
        assert "geen KCC-rechten" in text_of(msg) and msg.has_class("-error")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_server_unreachable(tmp_path: Path) -> None:
    config = Config(server_url=f"http://127.0.0.1:{free_port()}", token="wt_x")
    app = make_app(tmp_path / "laptop.sqlite", config, kcc=True, auto_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await search(pilot, app, "DLF-K7-0001")
        msg = app.screen.query_one("#kcc-message", Static)
        assert "niet bereikbaar" in text_of(msg)
        assert isinstance(app.screen, KccScreen)


async def test_not_configured(tmp_path: Path) -> None:
    app = make_app(tmp_path / "laptop.sqlite", Config(), kcc=True, auto_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "Geen server ingesteld" in text_of(app.screen.query_one("#kcc-message", Static))
