"""csv, xlsx and html outputs parsed back hold the same numbers as the API (JSON); md and the API's
roles, errors and downloads; the ``wijkteam-server report`` command."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest
from litestar.testing import TestClient

from shared.barometer import BLOCKS, INDICATORS, MONTH_INDICATORS
from shared.csvexport import BOM
from shared.enums import Kanaal, Role, Status, VierB
from shared.projection import COLUMNS
from sync_server.app import create_app
from sync_server.cli import main as server_main
from sync_server.settings import Settings
from sync_server.store import ServerStore
from wijkteam_reports.render import KEY_COLUMNS, to_html

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
    rows = [("Totaal", report["period_label"], report["totaal"])]
    rows += [("Vergelijking", f"{c['label']} ({c['period_label']})", c["totaal"]) for c in report["comparisons"]]
    labels = {"wijk": "Wijk", "categorie": "Categorie", "kanaal": "Kanaal", "vier_b": "Vier B", "type": "Type"}
    for dim, groups in report["groups"].items():
        rows += [(labels[dim], g["label"], g["indicators"]) for g in groups]
    rows += [("Maand", m["maand"], m["indicators"]) for m in report["months"]]
    return rows


def parse_nl(text: str):
    if text == "":
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
        ({"period": "2025-Q3", "format": "docx"}, "format"),
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
    raw = api(client, manager, period="2025-Q3", group_by=GROUPS, format="csv").content
    assert raw.startswith(BOM.encode())  # the shared CSV rules: BOM, ';', decimal comma
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == [*KEY_COLUMNS, *[i.label for i in INDICATORS]]
    expected = expected_table(report)
    assert len(rows) - 1 == len(expected)
    for row, (sectie, groep, ind) in zip(rows[1:], expected, strict=True):
        assert (row[0], row[1]) == (sectie, groep)
        for cell, info in zip(row[2:], INDICATORS, strict=True):
            assert parse_nl(cell) == ind[info.field], (sectie, groep, info.field)
    assert "n.v.t." not in raw.decode("utf-8-sig")  # no value is an empty cell


def test_xlsx_numbers_are_numbers_with_charts(server):
    from openpyxl import load_workbook

    client, manager, _, _ = server
    report = api(client, manager, period="2025-Q3", group_by=GROUPS).json()
    data = api(client, manager, period="2025-Q3", group_by=GROUPS, format="xlsx").content
    wb = load_workbook(io.BytesIO(data))
    labels = {"wijk": "Wijk", "categorie": "Categorie", "kanaal": "Kanaal", "vier_b": "Vier B", "type": "Type"}
    assert {f"Per {labels[d].lower()}" for d in GROUPS.split(",")} <= set(wb.sheetnames)
    empty_with_comment = 0
    for dim, groups in report["groups"].items():
        ws = wb[f"Per {labels[dim].lower()}"]
        assert ws.freeze_panes == "B2" and ws.auto_filter.ref.startswith("A1:")
        header = [c.value for c in ws[1]]
        assert header == [labels[dim], *[i.label for i in INDICATORS]]
        for g, row in zip(groups, ws.iter_rows(min_row=2), strict=True):
            assert row[0].value == g["label"]
            for cell, info in zip(row[1:], INDICATORS, strict=True):
                want = g["indicators"][info.field]
                if want is None:
                    assert cell.value is None and cell.comment is not None and "n.v.t." in cell.comment.text
                    empty_with_comment += 1
                    continue
                assert isinstance(cell.value, int | float) and not isinstance(cell.value, bool)
                if info.kind == "pct":
                    assert cell.number_format == "0.0%" and round(cell.value * 100, 1) == want
                else:
                    assert cell.value == want
    assert empty_with_comment > 0  # the sample has n.v.t. figures, so the rule was exercised
    # Native charts: the monthly trend and the criteria.
    assert len(wb["Per maand"]._charts) == 1 and len(wb["Criteria"]._charts) == 1
    crit = list(wb["Criteria"].iter_rows(min_row=2, max_row=1 + len(report["criteria"]), values_only=True))
    for r, c in zip(crit, report["criteria"], strict=True):
        assert r[1] == c["indicator"] and r[-1] == (c["level"] or "geen")
        if c["value"] is not None:
            assert isinstance(r[3], float | int)


class _Cells(HTMLParser):
    """Collects ``data-value`` / n.v.t. cells per table (by table id), headers and svg elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list]] = {}
        self.headers: dict[str, list[str]] = {}
        self.row: list | None = None
        self.current = ""
        self.in_th = False
        self.svgs = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.current = a.get("id") or ""
            self.tables[self.current] = []
            self.headers[self.current] = []
        elif tag == "tr":
            self.row = []
            self.tables[self.current].append(self.row)
        elif tag == "th":
            self.in_th = True
            self.headers[self.current].append("")
        elif tag == "td" and self.row is not None:
            if "data-value" in a:
                self.row.append(float(a["data-value"]))
            elif a.get("class") == "nvt":
                self.row.append(None)
        elif tag == "svg":
            self.svgs += 1

    def handle_endtag(self, tag):
        if tag == "th":
            self.in_th = False

    def handle_data(self, data):
        if self.in_th:
            self.headers[self.current][-1] += data


def test_html_parsed_back_equals_api_and_prints_on_a4(server):
    client, manager, _, _ = server
    report = api(client, manager, period="2025-Q3", group_by=GROUPS).json()
    html = api(client, manager, period="2025-Q3", group_by=GROUPS, format="html").text
    p = _Cells()
    p.feed(html)
    assert p.svgs == 3  # monthly trend, % within norm per categorie, backlog per wijk
    assert "<title>" in html and "@page { size: A4" in html
    # Every indicator of every group is in one of the group's block tables, with the API's value.
    for dim, groups in report["groups"].items():
        seen = set()
        for block, _, _ in BLOCKS:
            key = f"{dim}-{block}"
            fields = [i.field for i in INDICATORS if i.block == block]
            body = [r for r in p.tables[key] if r]
            assert body == [[g["indicators"][f] for f in fields] for g in groups], key
            seen.update(fields)
        assert seen == {i.field for i in INDICATORS}
    for block, _, in_months in BLOCKS:
        if in_months:
            fields = [i.field for i in MONTH_INDICATORS if i.block == block]
            assert [r for r in p.tables[f"maand-{block}"] if r] == [
                [m["indicators"][f] for f in fields] for m in report["months"]
            ]
    # Printed on A4 no table is wider than the page: wide tables are split into blocks.
    assert max(len(h) for h in p.headers.values()) <= 7


def test_markdown_holds_the_totals(server):
    client, manager, _, _ = server
    report = api(client, manager, period="2025-Q3", group_by=GROUPS).json()
    md = api(client, manager, period="2025-Q3", group_by=GROUPS, format="md").text
    assert md.startswith("# Barometer meldingen openbare ruimte")
    assert f"| Ontvangen | {report['totaal']['received']} |" in md
    assert "Certificeringsniveau" in md and report["figures_hash"] in md


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
    for fmt in ("md", "csv", "xlsx", "html", "pdf", "json"):
        out = tmp_path / f"r.{fmt}"
        assert server_main(["report", "--db", str(db), "--period", "2025-Q3", "--format", fmt, "--out", str(out)]) == 0
        assert out.stat().st_size > 200
    csv_text = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    assert csv_text.splitlines()[1].startswith("Totaal;2025-Q3;12;")
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    assert server_main(["report", "--db", str(db), "--period", "2025-Q3"]) == 0
    assert "# Barometer meldingen openbare ruimte" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["--period", "2025-Q7"],
        [],
        ["--period", "2025-Q3", "--from", "2025-01-01", "--to", "2025-02-01"],
        ["--period", "2025-Q3", "--format", "xlsx"],
        ["--period", "2025-Q3", "--format", "pdf"],
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


def test_api_as_of_and_pdf_download(server):
    client, manager, _, _ = server
    report = api(client, manager, period="2025-Q3").json()
    assert report["server_seq"] == 0  # meldingen written straight into the projection: no events
    same = api(client, manager, period="2025-Q3", as_of=0).json()
    assert same["figures_hash"] == report["figures_hash"]
    r = client.get("/api/v1/reports/barometer", params={"period": "2025-Q3", "as_of": 5}, headers=manager)
    assert r.status_code == 400 and r.json()["field"] == "as_of"
    pdf = api(client, manager, period="2025-Q3", format="pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert 'filename="barometer-2025-Q3.pdf"' in pdf.headers["content-disposition"]
