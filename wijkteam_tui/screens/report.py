"""The barometer report screen for a manager: the figures of the PDF, with terminal charts.

Open it with ``ReportScreen(db_path, server_url=…, token=…)``. It computes on the laptop's own
database (offline) or, when a server and token are configured and the source is "server", asks
``GET /api/v1/reports/barometer`` for the server's figures (falling back to the local data when the
server cannot be reached). The computation runs in a thread worker with a progress bar; the figures
are those of ``shared.barometer`` (rules in docs/barometer.md) and the tables those of the PDF
(``wijkteam_reports.document``): page one (municipality, moment, server_seq, hash, certificate level,
criteria, comparison with the previous period and a year earlier), every indicator per group, the
months, the data quality, and the monthly trend as a chart.

With a server configured, the screen first asks the token's role (``GET /api/v1/me``): a role that may
not see the report (``shared.barometer.REPORT_ROLES``) gets that message at once, and nothing is
computed — also not from the local data. A 403 from the report itself says the same.

Keys: ``[`` / ``]`` previous/next period, ``p`` period field, ``g`` next grouping, ``b`` data source,
``r`` recompute, ``e`` export (pdf, xlsx, html and csv), ``escape`` back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Input, Label, ProgressBar
from textual_plotext import PlotextPlot

from shared.barometer import (
    GROUP_BY,
    GROUP_LABELS,
    INDICATORS,
    MONTH_INDICATORS,
    REPORT_ROLES,
    BarometerReport,
    Period,
    current_quarter,
    format_value,
    origin_note,
    parse_period,
    shift_period,
)
from shared.deadlines import local_date, utcnow
from shared.errors import ValidationError
from wijkteam_reports.document import (
    cell_text,
    criteria_table,
    document,
    headline_table,
    local_minute,
    meta_table,
)
from wijkteam_tui.screens.base import WijkteamScreen
from wijkteam_tui.threads import to_ui

#: Groupings the ``g`` key cycles through ("" = totals only).
GROUPINGS: tuple[str, ...] = ("", *GROUP_BY)

Fetch = Callable[[Period, Sequence[str]], BarometerReport]

#: Asks the token's role on the server (``None``: cannot tell, e.g. offline).
RoleCheck = Callable[[], "str | None"]


class ServerUnavailable(Exception):
    """The server could not be reached (the screen then uses the local data)."""


class NotAllowed(Exception):
    """The token's role may not see the barometer (Dutch ``message``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def not_allowed_text(role: str | None) -> str:
    """The message for a role that may not see the barometer."""
    who = f"Uw rol ({role})" if role else "Dit token"
    need = " of ".join(sorted(REPORT_ROLES))
    return f"{who} mag de barometer niet inzien; daarvoor is de rol {need} nodig. Vraag het de beheerder."


def fetch_from_server(server_url: str, token: str, *, timeout_s: float = 60.0) -> Fetch:
    """A fetch function asking the server's ``/api/v1/reports/barometer`` (JSON).

    The returned function raises :class:`ServerUnavailable` when there is no connection, and
    ``ValidationError`` (field ``server``) with the server's Dutch ``detail`` for a 4xx/5xx answer.
    """

    def fetch(period: Period, group_by: Sequence[str]) -> BarometerReport:
        import httpx
        import msgspec

        from wijkteam_tui import server_client

        params = {"from": period.start.isoformat(), "to": period.end.isoformat(), "group_by": ",".join(group_by)}
        try:
            with server_client.client(server_url, token, timeout_s=timeout_s) as client:
                resp = client.get("/api/v1/reports/barometer", params=params)
        except httpx.HTTPError as exc:
            raise ServerUnavailable(str(exc)) from None
        if resp.status_code == 403:
            raise NotAllowed(not_allowed_text(None))
        if resp.status_code != 200:
            try:
                detail = resp.json().get("detail", "")
            except ValueError:
                detail = resp.text[:200]
            raise ValidationError("server", f"De server weigert het rapport ({resp.status_code}): {detail}")
        try:
            return server_client.decode_json(resp, BarometerReport)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise ValidationError(
                "server", "De server gaf een rapport dat deze versie van Wijkteam niet kent; vraag de beheerder."
            ) from None

    return fetch


def compute_local(db_path: str | Path, period: Period, group_by: Sequence[str], progress=None) -> BarometerReport:
    """The report over the laptop's own database (read only).

    Raises:
        ValidationError: field ``bron`` when the database cannot be read.
    """
    import sqlite3

    from wijkteam_reports.sql import build_report, open_readonly

    try:
        conn = open_readonly(db_path)
    except (FileNotFoundError, sqlite3.Error):
        raise ValidationError("bron", f"Geen lokale gegevens gevonden in {db_path}.") from None
    try:
        return build_report(conn, period, group_by=group_by, progress=progress)
    except sqlite3.Error as exc:
        raise ValidationError("bron", f"De lokale database kan niet gelezen worden: {exc}") from None
    finally:
        conn.close()


class ReportScreen(WijkteamScreen):
    """The barometer for a period: the figures of the PDF (page one, indicators per group, months,
    data quality) and two charts.

    Args:
        db_path: the laptop's database (the local data source).
        server_url, token: the sync server; when both are set the server is the default source and
            the token's role is checked first.
        fetch: replaces the server call (tests); implies a server source.
        role_check: replaces the role question (tests); default ``GET /api/v1/me`` when a server is set.
        export_dir: where ``e`` writes the exports (default: the user's documents folder).
        today: the Europe/Amsterdam date that picks the initial period (the current quarter).
        demo: the local database holds sample data (``wijkteam --demo``): a local report, and what
            is exported from it, says so on every page.
    """

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("left_square_bracket", "shift(-1)", "Vorige periode", id="report.prev"),
        Binding("right_square_bracket", "shift(1)", "Volgende periode", id="report.next"),
        Binding("p", "focus_period", "Periode", id="report.period"),
        Binding("g", "next_grouping", "Groepering", id="report.group"),
        Binding("b", "toggle_source", "Bron", id="report.source"),
        Binding("r", "refresh_report", "Vernieuwen", id="report.refresh"),
        Binding("e", "export", "Exporteren", id="report.export"),
        Binding("escape", "back", "Terug", id="report.back"),
    ]

    DEFAULT_CSS = """
    ReportScreen #report-bar { height: 3; }
    ReportScreen #report-bar Label { padding: 1 1 0 0; }
    ReportScreen #periode { width: 30; }
    ReportScreen #err-periode { color: $error; height: auto; }
    ReportScreen #voortgang-rij { height: auto; }
    ReportScreen #stap { height: auto; }
    ReportScreen #banner { background: $error; color: $text; text-style: bold; width: 100%; height: auto; }
    ReportScreen #rapportkop { height: auto; padding: 0 0 1 0; }
    ReportScreen .kop { text-style: bold; padding: 1 0 0 0; }
    ReportScreen DataTable { height: auto; max-height: 30; }
    ReportScreen #grafieken { height: 16; }
    ReportScreen PlotextPlot { width: 1fr; }
    """

    def __init__(
        self,
        db_path: str | Path,
        *,
        server_url: str | None = None,
        token: str | None = None,
        fetch: Fetch | None = None,
        role_check: RoleCheck | None = None,
        export_dir: str | Path | None = None,
        today: date | None = None,
        demo: bool = False,
    ) -> None:
        super().__init__()
        self.demo = demo
        self.db_path = Path(db_path)
        self._fetch = fetch or (fetch_from_server(server_url, token) if server_url and token else None)
        if role_check is None and server_url and token:
            role_check = partial(_server_role, server_url, token)
        self._role_check = role_check
        self.source = "server" if self._fetch else "lokaal"
        self.export_dir = Path(export_dir) if export_dir else None
        self.period = current_quarter(today or local_date(utcnow()))
        self.grouping = "wijk"
        self.report: BarometerReport | None = None
        self.refused: str | None = None

    # -- layout --------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Label("Barometer", classes="screen-title")
        with Horizontal(id="report-bar"):
            yield Label("Periode")
            yield Input(self.period.label, id="periode", compact=True, placeholder="2026-Q3, 2026-03, 2026")
            yield Label("", id="groepering")
            yield Label("", id="bron")
        yield Label("", id="err-periode")
        with Horizontal(id="voortgang-rij"):
            yield ProgressBar(total=1.0, show_eta=False, id="voortgang")
            yield Label("", id="stap")
        with VerticalScroll(id="rapport"):
            yield Label("", id="banner")
            yield Label("", id="rapportkop")
            yield Label("", id="niveau", classes="kop")
            yield DataTable(id="criteria", cursor_type="row")
            yield Label("Kerncijfers vergeleken", classes="kop")
            yield DataTable(id="kerncijfers", cursor_type="row")
            with Horizontal(id="grafieken"):
                yield PlotextPlot(id="trend")
                yield PlotextPlot(id="per-groep")
            yield Label("Indicatoren", classes="kop")
            yield DataTable(id="indicatoren", zebra_stripes=True, cursor_type="row")
            yield Label("Per maand (naar registratiedatum)", classes="kop")
            yield DataTable(id="maanden", zebra_stripes=True, cursor_type="row")
            yield Label("Datakwaliteit", classes="kop")
            yield DataTable(id="datakwaliteit", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#banner", Label).display = False
        self._show_choices()
        self.query_one("#indicatoren", DataTable).focus()
        self.compute()

    def _show_choices(self) -> None:
        g = GROUP_LABELS.get(self.grouping, "alleen totaal") if self.grouping else "alleen totaal"
        self.query_one("#groepering", Label).update(Text(f"Groepering: {g}"))
        self.query_one("#bron", Label).update(Text(f"Bron: {'server' if self.source == 'server' else 'lokale gegevens'}"))

    # -- actions -------------------------------------------------------------------------------------

    def action_shift(self, steps: int) -> None:
        self.period = shift_period(self.period, steps)
        self.query_one("#periode", Input).value = self.period.label
        self.compute()

    def action_focus_period(self) -> None:
        self.query_one("#periode", Input).focus()

    def action_next_grouping(self) -> None:
        i = GROUPINGS.index(self.grouping)
        self.grouping = GROUPINGS[(i + 1) % len(GROUPINGS)]
        self._show_choices()
        self.compute()

    def action_toggle_source(self) -> None:
        if self._fetch is None:
            self.notify("Geen server ingesteld: alleen de lokale gegevens.", severity="warning")
            return
        self.source = "lokaal" if self.source == "server" else "server"
        self._show_choices()
        self.compute()

    def action_refresh_report(self) -> None:
        self.compute()

    def action_back(self) -> None:
        self.app.pop_screen()

    @on(Input.Submitted, "#periode")
    def _period_submitted(self, event: Input.Submitted) -> None:
        try:
            self.period = parse_period(event.value)
        except ValidationError as exc:
            self.query_one("#err-periode", Label).update(Text(exc.message))
            return
        self.query_one("#err-periode", Label).update("")
        self.query_one("#indicatoren", DataTable).focus()
        self.compute()

    # -- computing -----------------------------------------------------------------------------------

    def compute(self) -> None:
        """Start (or restart) the computation of the current period, grouping and source."""
        if self.refused:
            self._refuse(self.refused)
            return
        bar = self.query_one("#voortgang", ProgressBar)
        bar.display = True
        bar.update(progress=0)
        self.query_one("#stap", Label).update(Text("Bezig met berekenen…"))
        self._compute(self.period, (self.grouping,) if self.grouping else (), self.source)

    @work(thread=True, exclusive=True, group="report")
    def _compute(self, period: Period, group_by: tuple[str, ...], source: str) -> None:
        def progress(fraction: float, text: str) -> None:
            to_ui(self, self._progress, fraction, text)

        note = ""
        try:
            if self._role_check is not None and self.refused is None:
                role = self._role_check()
                if role is not None and role not in REPORT_ROLES:
                    raise NotAllowed(not_allowed_text(role))
            local = source != "server" or self._fetch is None
            if not local:
                try:
                    progress(0.1, "Rapport opvragen bij de server")
                    report = self._fetch(period, group_by)
                    progress(1.0, "Klaar (gegevens van de server)")
                except ServerUnavailable:
                    note = "Server niet bereikbaar: berekend op de lokale gegevens."
                    local = True
            if local:
                report = compute_local(self.db_path, period, group_by, progress)
                if self.demo:  # the demo database's meldingen are made up: say so on every page
                    report.herkomst_note = origin_note({"demo": max(report.totaal.received, 1)})
        except NotAllowed as exc:
            to_ui(self, self._refuse, exc.message)
            return
        except ValidationError as exc:
            to_ui(self, self._failed, exc.message)
            return
        to_ui(self, self._show, report, note)

    def _progress(self, fraction: float, text: str) -> None:
        self.query_one("#voortgang", ProgressBar).update(progress=fraction)
        self.query_one("#stap", Label).update(Text(text))

    def _failed(self, message: str) -> None:
        self.query_one("#voortgang", ProgressBar).display = False
        self.query_one("#stap", Label).update(Text(message))
        self.notify(message, severity="error")

    def _refuse(self, message: str) -> None:
        """A role that may not see the report: say so, show no progress and no figures."""
        self.refused = message
        self.query_one("#voortgang", ProgressBar).display = False
        self.query_one("#stap", Label).update(Text(message, style="bold"))
        self.query_one("#rapport").display = False
        self.notify(message, severity="error")

    def _show(self, report: BarometerReport, note: str = "") -> None:
        self.report = report
        made = local_minute(report.made_at)
        self._progress(1.0, note or f"Berekend {made} (Nederlandse tijd)")
        if note:
            self.notify(note, severity="warning")
        doc = document(report)
        banner = self.query_one("#banner", Label)
        banner.display = bool(report.herkomst_note)
        banner.update(Text(report.herkomst_note or ""))
        self.query_one("#rapportkop", Label).update(Text("\n".join(f"{k}: {v}" for k, v in meta_table(report).rows)))
        self._fill_indicators(report)
        self._fill_criteria(report)
        self._fill_table("#kerncijfers", headline_table(report))
        self._fill_months(report)
        self._fill_table("#datakwaliteit", next(t for s in doc.sections for t in s.tables if t.key == "datakwaliteit"))
        self._draw_charts(report)

    def _fill_table(self, selector: str, t) -> None:
        table = self.query_one(selector, DataTable)
        table.clear(columns=True)
        for i, c in enumerate(t.columns):
            table.add_column(Text(c.header), key=f"c{i}")
        for row in t.rows:
            table.add_row(*[Text(cell_text(v, c.kind)) for v, c in zip(row, t.columns)])

    def _fill_indicators(self, report: BarometerReport) -> None:
        table = self.query_one("#indicatoren", DataTable)
        table.clear(columns=True)
        groups = next(iter(report.groups.values()), [])
        table.add_column("Indicator", key="indicator")
        table.add_column("Totaal", key="totaal")
        for i, g in enumerate(groups):
            table.add_column(Text(g.label), key=f"g{i}")
        for info in INDICATORS:
            cells = [format_value(getattr(report.totaal, info.field), info.kind)]
            cells += [format_value(getattr(g.indicators, info.field), info.kind) for g in groups]
            table.add_row(info.label, *cells, key=info.field)

    def _fill_months(self, report: BarometerReport) -> None:
        table = self.query_one("#maanden", DataTable)
        table.clear(columns=True)
        table.add_column("Indicator", key="indicator")
        for m in report.months:
            table.add_column(m.maand, key=m.maand)
        for info in MONTH_INDICATORS:
            table.add_row(
                info.label, *[format_value(getattr(m.indicators, info.field), info.kind) for m in report.months],
                key=info.field,
            )

    def _fill_criteria(self, report: BarometerReport) -> None:
        self._fill_table("#criteria", criteria_table(report))
        self.query_one("#niveau", Label).update(
            Text(f"Certificeringsniveau {report.period_label}: {report.certificate_level or 'geen'}")
        )

    def _draw_charts(self, report: BarometerReport) -> None:
        trend = self.query_one("#trend", PlotextPlot)
        plt = trend.plt
        plt.clear_data()
        plt.clear_figure()
        months = [m.maand[2:] for m in report.months]
        plt.multiple_bar(
            months,
            [[m.indicators.received for m in report.months], [m.indicators.closed for m in report.months]],
            labels=["ontvangen", "afgehandeld"],
        )
        plt.title("Trend per maand")
        trend.refresh()
        per = self.query_one("#per-groep", PlotextPlot)
        plt = per.plt
        plt.clear_data()
        plt.clear_figure()
        groups = next(iter(report.groups.values()), [])
        # n.v.t. is left out of the chart rather than drawn as 0 %.
        shown = [(g.label[:12], g.indicators.pct_within_norm) for g in groups if g.indicators.pct_within_norm is not None]
        if shown:
            plt.bar([s[0] for s in shown], [s[1] for s in shown], orientation="horizontal")
            plt.xlim(0, 100)
            plt.title("% binnen norm per " + GROUP_LABELS[next(iter(report.groups))].lower())
        else:
            plt.title("% binnen norm: n.v.t.")
        per.refresh()

    # -- export --------------------------------------------------------------------------------------

    def action_export(self) -> None:
        if self.report is None:
            self.notify("Nog geen rapport om te exporteren.", severity="warning")
            return
        self._export(self.report)

    @work(thread=True, exclusive=True, group="report-export")
    def _export(self, report: BarometerReport) -> None:
        from wijkteam_reports.render import render

        folder = self.export_dir or _documents_dir()
        stem = "barometer-" + report.period_label.replace(" ", "_").replace("/", "-")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            written = []
            for fmt in ("pdf", "xlsx", "html", "csv"):
                path = folder / f"{stem}.{fmt}"
                out = render(report, fmt)
                if isinstance(out, bytes):
                    path.write_bytes(out)
                else:
                    path.write_text(out, encoding="utf-8", newline="")
                written.append(path.name)
        except OSError as exc:
            to_ui(self, partial(self.notify, severity="error"), f"Exporteren mislukt: {exc}")
            return
        to_ui(self, self.notify, f"Geëxporteerd naar {folder}: {', '.join(written)}")


def _server_role(server_url: str, token: str) -> str | None:
    from wijkteam_tui.screens.kcc import token_role

    return token_role(server_url, token)


def _documents_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_documents_dir()) / "Wijkteam"


__all__ = ["NotAllowed", "ReportScreen", "ServerUnavailable", "compute_local", "fetch_from_server"]
