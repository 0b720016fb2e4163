"""csv, xlsx and html outputs parsed back hold the same numbers as the API (JSON); md and the API's
roles, errors and downloads; the ``wijkteam-server report`` command."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest
from litestar.testing import TestClient

from shared.barometer import INDICATORS, MONTH_INDICATORS
from shared.enums import Kanaal, Role, Status, VierB
from shared.projection import COLUMNS
from sync_server.app import create_app
from sync_server.cli import main as server_main
from wijkteam_reports.render import KEY_COLUMNS, to_html
from sync_server.settings import Settings
from sync_server.store import ServerStore

from .helpers import World, make_db, utc

GROUPS = "wijk,categorie,kanaal,vier_b,type"


def sample_world() -> World:
    w = World()
    for i in range(12):
        mid = w.melding(
            f"2025-0{7 + i % 3}-{3 + i:02d} 09:00",
            wijk=["Centrum", "Noord", None][i % 3],
            categorie=["groen/boom", "verlichting/lantaarnpaal", None][i % 3] if i != 5 else "riolering/verstopping",
            kanaal=[Kanaal.TELEFOON, Kanaal.EMAIL, Kanaal.BALIE][i % 3],
            vier_b=None if i == 4 else VierB.BETROUWBAARHEID,
            contact=i % 4 != 0,
        )
        if i % 5 != 4:
            w.status(mid, f"2025-0{7 + i % 3}-{4 + i + i % 4 * 3:02d} 09:00", Status.AFGEHANDELD)
        if i % 2 == 0 and i % 5 != 4:
            w.callback(mid, f"2025-0{7 + i % 3}-{20 + i % 3:02d} 09:00")
        if i == 6:
            w.status(mid, "2025-09-25 09:00", Status.HEROPEND)
    return w


@pytest.fixture
def server(tmp_path):
    store = ServerStore(tmp_path / "server.sqlite3")
    rows = sample_world().rows()
    names = list(COLUMNS)
    with store.write() as c:
        c.executemany(
            f"INSERT INTO meldingen ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [[r[n] for n in names] for r in rows],
        )
    manager, _ = store.add_user("hoofd", Role.MANAGER)
    wuv, _ = store.add_user("piet", Role.WIJKUITVOERDER)
    app = create_app(Settings(db_path=tmp_path / "server.sqlite3"), store=store)
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {manager}"}, {"Authorization": f"Bearer {wuv}"}, tmp_path
    store.close()


def api(client, headers, **params):
    r = client.get("/api/v1/reports/barometer", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r


def expected_table(report: dict) -> list[tuple[str, str, dict]]:
    rows = [("Totaal", "", report["totaal"])]
    labels = {"wijk": "Wijk", "categorie": "Categorie", "kanaal": "Kanaal", "vier_b": "Vier B", "type": "Type"}
    for dim, groups in report["groups"].items():
        rows += [(labels[dim], g["key"] or "", g["indicators"]) for g in groups]
    rows += [("Maand", m["maand"], m["indicators"]) for m in report["months"]]
    return rows


def parse_nl(text: str):
    if text == "n.v.t.":
        return None
    return float(text.replace(",", "."))


def test_roles_and_errors(server):
    client, manager, wuv, _ = server
    url = "/api/v1/reports/barometer"
    assert client.get(url, params={"period": "2025-Q3"}).status_code == 401
    assert client.get(url, params={"period": "2025-Q3"}, headers=wuv).status_code == 403
    for params, field in [
        ({"period": "2025-Q9"}, "periode"),
        ({"from": "2025-07-01"}, "from"),
        ({"from": "2025-07-01", "to": "1 juli"}, "to"),
        ({"period": "2025-Q3", "group_by": "postcode"}, "group_by"),
        ({"period": "2025-Q3", "format": "pdf"}, "format"),
    ]:
        r = client.get(url, params=params, headers=manager)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["field"] == field and r.json()["detail"]


def test_api_from_to_equals_period_and_local_computation(server):
    client, manager, _, _ = server
    a = api(client, manager, period="2025-Q3", group_by=GROUPS).json()
    b = api(client, manager, **{"from": "2025-07-01", "to": "2025-09-30", "group_by": GROUPS}).json()
    assert a["totaal"] == b["totaal"] and a["groups"] == b["groups"]
    assert a["totaal"]["received"] == 12
    assert set(a["groups"]) == set(GROUPS.split(","))


def test_csv_parsed_back_equals_api(server):
    client, manager, _, _ = server
    report = api(client, manager, period="2025-Q3", group_by=GROUPS).json()
    text = api(client, manager, period="2025-Q3", group_by=GROUPS, format="csv").text
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == [*KEY_COLUMNS, *[i.label for i in INDICATORS]]
    expected = expected_table(report)
    assert len(rows) - 1 == len(expected)
    for row, (sectie, key, ind) in zip(rows[1:], expected, strict=True):
        assert (row[0], row[1]) == (sectie, key)
        for cell, info in zip(row[3:], INDICATORS, strict=True):
            assert parse_nl(cell) == ind[info.field], (sectie, key, info.field)


def test_xlsx_parsed_back_equals_api(server):
    from openpyxl import load_workbook

    client, manager, _, _ = server
    report = api(client, manager, period="2025-Q3", group_by=GROUPS).json()
    data = api(client, manager, period="2025-Q3", group_by=GROUPS, format="xlsx").content
    wb = load_workbook(io.BytesIO(data))
    ws = wb["Indicatoren"]
    rows = list(ws.iter_rows(values_only=True))
    expected = expected_table(report)
    assert len(rows) - 1 == len(expected)
    for row, (sectie, key, ind) in zip(rows[1:], expected, strict=True):
        assert (row[0], row[1] or "") == (sectie, key)
        for cell, info in zip(row[3:], INDICATORS, strict=True):
            assert (None if cell == "n.v.t." else cell) == ind[info.field]
    crit = list(wb["Criteria"].iter_rows(values_only=True))
    assert [r[0] for r in crit[1 : 1 + len(report["criteria"])]] == [c["indicator"] for c in report["criteria"]]
    for r, c in zip(crit[1:], report["criteria"]):
        assert (None if r[3] == "n.v.t." else r[3]) == c["value"]
        assert r[-1] == (c["level"] or "geen")


class _Cells(HTMLParser):
    """Collects ``data-value`` / n.v.t. cells per table (by table id or order) and svg elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list]] = []
        self.ids: list[str | None] = []
        self.row: list | None = None
        self.svgs = 0
        self._nvt = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append([])
            self.ids.append(a.get("id"))
        elif tag == "tr":
            self.row = []
            self.tables[-1].append(self.row)
        elif tag == "td" and self.row is not None:
            if "data-value" in a:
                self.row.append(float(a["data-value"]))
            elif a.get("class") == "nvt":
                self.row.append(None)
        elif tag == "svg":
            self.svgs += 1


def test_html_parsed_back_equals_api_and_has_charts(server):
    client, manager, _, _ = server
    report = api(client, manager, period="2025-Q3", group_by=GROUPS).json()
    html = api(client, manager, period="2025-Q3", group_by=GROUPS, format="html").text
    p = _Cells()
    p.feed(html)
    assert p.svgs == 3  # monthly trend, % within norm per categorie, backlog per wijk
    assert "<title>" in html and "@media print" in html
    totaal = p.tables[p.ids.index("totaal")]
    assert [r[0] for r in totaal] == [report["totaal"][i.field] for i in INDICATORS]
    # Group tables follow the criteria table, in report order; then the monthly table.
    tables = p.tables[p.ids.index("criteria") + 1 :]
    for table, (dim, groups) in zip(tables, report["groups"].items()):
        body = [r for r in table if r]
        assert body == [[g["indicators"][i.field] for i in INDICATORS] for g in groups], dim
    months = [r for r in tables[-1] if r]
    assert months == [[m["indicators"][i.field] for i in MONTH_INDICATORS] for m in report["months"]]


def test_markdown_holds_the_totals(server):
    client, manager, _, _ = server
    report = api(client, manager, period="2025-Q3", group_by=GROUPS).json()
    md = api(client, manager, period="2025-Q3", group_by=GROUPS, format="md").text
    assert md.startswith("# Barometer 2025-Q3")
    assert f"| Ontvangen | {report['totaal']['received']} |" in md
    assert "Certificeringsniveau" in md


def test_group_label_is_escaped_in_html():
    w = World()
    w.melding("2025-03-03 09:00", wijk="<script>alert(1)</script>")
    from shared.barometer import parse_period
    from wijkteam_reports.sql import build_report

    r = build_report(make_db(w.rows()), parse_period("2025-03"), as_of=utc("2025-04-10 00:00"), group_by=["wijk"])
    html = to_html(r)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_cli_report_writes_each_format(tmp_path, capsys):
    db = tmp_path / "server.sqlite3"
    make_db(sample_world().rows(), str(db)).close()
    for fmt in ("md", "csv", "xlsx", "html"):
        out = tmp_path / f"r.{fmt}"
        assert server_main(["report", "--db", str(db), "--period", "2025-Q3", "--format", fmt, "--out", str(out)]) == 0
        assert out.stat().st_size > 200
    csv_text = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    assert csv_text.splitlines()[1].startswith("Totaal;;Totaal;12;")
    assert server_main(["report", "--db", str(db), "--period", "2025-Q3"]) == 0
    assert "# Barometer 2025-Q3" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["--period", "2025-Q7"],
        [],
        ["--period", "2025-Q3", "--from", "2025-01-01", "--to", "2025-02-01"],
        ["--period", "2025-Q3", "--format", "xlsx"],
        ["--period", "2025-Q3", "--group-by", "straat"],
    ],
)
def test_cli_report_bad_input_is_a_dutch_message(tmp_path, capsys, args):
    db = tmp_path / "server.sqlite3"
    make_db([], str(db)).close()
    assert server_main(["report", "--db", str(db), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Fout: ") and "Traceback" not in err


def test_cli_report_missing_database(tmp_path, capsys):
    assert server_main(["report", "--db", str(tmp_path / "nope.sqlite3"), "--period", "2025"]) == 1
    assert "niet gevonden" in capsys.readouterr().err
    assert not (tmp_path / "nope.sqlite3").exists()
