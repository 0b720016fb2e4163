"""The TUI report screen: computes in a worker, shows the same figures as the report layer, period
picker, grouping, export, server source with fallback to local data."""

from __future__ import annotations

import csv
import io
from datetime import date

from textual.app import App
from textual.widgets import DataTable, Input, Label, ProgressBar

from shared.barometer import parse_period
from wijkteam_reports.sql import build_report
from wijkteam_tui.screens.report import NotAllowed, ReportScreen, ServerUnavailable, not_allowed_text

from .helpers import make_db
from .test_renderings import sample_world


class Host(App):
    def __init__(self, screen: ReportScreen) -> None:
        super().__init__()
        self._screen = screen

    def on_mount(self) -> None:
        self.push_screen(self._screen)


def cell(screen: ReportScreen, row: str, col: str = "totaal") -> str:
    table = screen.query_one("#indicatoren", DataTable)
    return str(table.get_cell(row, col))


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def db_file(tmp_path):
    path = tmp_path / "laptop.sqlite3"
    make_db(sample_world().rows(), str(path)).close()
    return path


async def test_local_report_shows_the_report_layer_figures(tmp_path):
    path = db_file(tmp_path)
    import sqlite3

    expected = build_report(sqlite3.connect(path), parse_period("2025-Q3"), group_by=["wijk"])
    screen = ReportScreen(path, today=date(2025, 8, 1), export_dir=tmp_path / "export")
    async with Host(screen).run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        assert screen.report is not None and screen.report.period_label == "2025-Q3"
        assert cell(screen, "received") == str(expected.totaal.received) == "12"
        assert cell(screen, "pct_within_norm") == f"{expected.totaal.pct_within_norm:.1f}".replace(".", ",")
        table = screen.query_one("#indicatoren", DataTable)
        assert [str(c.label) for c in table.columns.values()][2:] == [g.label for g in expected.groups["wijk"]]
        assert screen.query_one("#criteria", DataTable).row_count == len(expected.criteria)

        await pilot.press("left_square_bracket")  # previous quarter: nothing received
        await settle(pilot)
        assert screen.report.period_label == "2025-Q2"
        assert cell(screen, "received") == "0"
        assert cell(screen, "pct_within_norm") == "n.v.t."

        await pilot.press("g")  # next grouping after wijk: categorie
        await settle(pilot)
        assert list(screen.report.groups) == ["categorie"]


async def test_period_picker_validates_in_dutch(tmp_path):
    screen = ReportScreen(db_file(tmp_path), today=date(2025, 8, 1))
    async with Host(screen).run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        inp = screen.query_one("#periode", Input)
        inp.value = "vorig jaar"
        await pilot.press("enter")
        await settle(pilot)
        assert "Onbekende periode" in str(screen.query_one("#err-periode", Label).render())
        assert screen.report.period_label == "2025-Q3"
        inp.value = "2025-07"
        await pilot.press("enter")
        await settle(pilot)
        assert screen.report.period_label == "2025-07"
        assert str(screen.query_one("#err-periode", Label).render()) == ""


async def test_export_writes_files_with_the_same_numbers(tmp_path):
    out = tmp_path / "export"
    screen = ReportScreen(db_file(tmp_path), today=date(2025, 8, 1), export_dir=out)
    async with Host(screen).run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert sorted(p.name for p in out.iterdir()) == [
            "barometer-2025-Q3.csv", "barometer-2025-Q3.html", "barometer-2025-Q3.pdf", "barometer-2025-Q3.xlsx",
        ]
        text = (out / "barometer-2025-Q3.csv").read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
        assert rows[1][:3] == ["Totaal", "2025-Q3", str(screen.report.totaal.received)]
        assert (out / "barometer-2025-Q3.pdf").read_bytes().startswith(b"%PDF")


async def test_screen_shows_the_figures_of_the_pdf(tmp_path):
    from wijkteam_reports.document import cell_text, headline_table

    screen = ReportScreen(db_file(tmp_path), today=date(2025, 8, 1))
    async with Host(screen).run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        r = screen.report
        kop = str(screen.query_one("#rapportkop", Label).render())
        assert r.figures_hash in kop and "2025-Q3" in kop
        expected = headline_table(r)
        table = screen.query_one("#kerncijfers", DataTable)
        assert table.row_count == len(expected.rows)
        for i, row in enumerate(expected.rows):
            assert [str(c) for c in table.get_row_at(i)] == [cell_text(v, c.kind) for v, c in zip(row, expected.columns)]
        months = screen.query_one("#maanden", DataTable)
        assert [str(c.label) for c in months.columns.values()][1:] == [m.maand for m in r.months]
        assert screen.query_one("#datakwaliteit", DataTable).row_count == 7


async def test_a_role_without_the_report_is_told_at_once(tmp_path):
    calls = []

    def fetch(period, group_by):
        calls.append(period)
        raise AssertionError("no report may be asked for this role")

    screen = ReportScreen(db_file(tmp_path), fetch=fetch, role_check=lambda: "wijkuitvoerder", today=date(2025, 8, 1))
    async with Host(screen).run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        assert calls == [] and screen.report is None
        message = str(screen.query_one("#stap", Label).render())
        assert "wijkuitvoerder" in message and "manager" in message
        assert not screen.query_one("#voortgang", ProgressBar).display  # no bar left standing
        await pilot.press("b")  # the local data is not a way around it
        await settle(pilot)
        assert screen.report is None and calls == []


async def test_a_403_from_the_server_is_the_same_refusal(tmp_path):
    def fetch(period, group_by):
        raise NotAllowed(not_allowed_text(None))

    screen = ReportScreen(db_file(tmp_path), fetch=fetch, role_check=lambda: None, today=date(2025, 8, 1))
    async with Host(screen).run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        assert screen.report is None
        assert "mag de barometer niet inzien" in str(screen.query_one("#stap", Label).render())
        assert not screen.query_one("#voortgang", ProgressBar).display


async def test_server_source_and_fallback_to_local(tmp_path):
    path = db_file(tmp_path)
    calls = []
    import sqlite3

    def fetch(period, group_by):
        calls.append((period.label, tuple(group_by)))
        if len(calls) > 1:
            raise ServerUnavailable("geen verbinding")
        report = build_report(sqlite3.connect(path), period, group_by=group_by)
        report.totaal.received = 999  # tell server figures apart from local ones
        return report

    screen = ReportScreen(path, fetch=fetch, today=date(2025, 8, 1))
    async with Host(screen).run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        assert calls == [("2025-Q3", ("wijk",))]
        assert "server" in str(screen.query_one("#bron", Label).render())
        assert cell(screen, "received") == "999"
        await pilot.press("r")  # the server is gone now: local figures, with a warning
        await settle(pilot)
        assert len(calls) == 2
        assert cell(screen, "received") == "12"
        assert "lokale gegevens" in str(screen.query_one("#stap", Label).render())
        await pilot.press("b")  # switch to local explicitly: no server call
        await settle(pilot)
        assert len(calls) == 2 and cell(screen, "received") == "12"


async def test_missing_local_database_is_a_message_not_a_crash(tmp_path):
    screen = ReportScreen(tmp_path / "geen.sqlite3", today=date(2025, 8, 1))
    async with Host(screen).run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        assert screen.report is None
        assert "Geen lokale gegevens" in str(screen.query_one("#stap", Label).render())


async def test_demo_database_is_marked_on_screen_and_on_every_exported_page(tmp_path):
    from pypdf import PdfReader

    out = tmp_path / "export"
    screen = ReportScreen(db_file(tmp_path), today=date(2025, 8, 1), export_dir=out, demo=True)
    async with Host(screen).run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        banner = screen.query_one("#banner", Label)
        assert banner.display and "DEMOGEGEVENS" in str(banner.render())
        await pilot.press("e")
        await settle(pilot)
    pages = PdfReader(out / "barometer-2025-Q3.pdf").pages
    assert len(pages) > 3 and all("DEMOGEGEVENS" in p.extract_text() for p in pages)
