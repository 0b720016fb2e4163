"""``wijkteam-server demo --count N``: sample meldingen on the server, labelled as such, reaching the
KCC look-up and a laptop; refused on a server that holds real meldingen."""

from __future__ import annotations

from shared.events import MeldingFields
from shared.projection import COLUMNS
from sync_server.cli import main
from sync_server.demo_cli import fill_server_demo
from tests.backends import sql
from tests.server.conftest import auth
from wijkteam_store.local import LocalStore
from wijkteam_tui.sync_client import sync_once


def test_demo_meldingen_are_labelled_and_numbered_by_the_server(server, capsys):
    assert main(["demo", "--count", "40", "--db", str(server.path)]) == 0
    assert "40 voorbeeldmeldingen gemaakt (DLF-00-0001 … DLF-00-0018)" in capsys.readouterr().out
    rows = sql(server.store, "SELECT reference, bron, omschrijving, device_id FROM meldingen")
    assert len(rows) == 40 and "bron" in COLUMNS
    assert {(bron, device) for _, bron, _, device in rows} == {("demo", "00")}
    assert all(text.startswith("VOORBEELD: ") for _, _, text, _ in rows)
    m = server.store.melding(sql(server.store, "SELECT melding_id FROM meldingen LIMIT 1")[0][0])
    assert m.registered_by == "demo" and m.bron == "demo"
    # A second run continues the server's numbering: no reference twice.
    assert main(["demo", "--count", "5", "--db", str(server.path)]) == 0
    refs = [r[0] for r in sql(server.store, "SELECT reference FROM meldingen")]
    assert len(refs) == len(set(refs)) == 45
    assert sql(server.store, "SELECT count(*) FROM reference_clashes")[0][0] == 0


def test_a_server_with_real_meldingen_is_refused_without_force(server, capsys):
    from shared import commands

    server.store.append_server_events(
        "open311:test",
        lambda dev, nxt: [commands.register(dev, prefix="DLF", counter=nxt(), fields=MeldingFields(omschrijving="Echt"))],
    )
    assert main(["demo", "--count", "3", "--db", str(server.path)]) == 1
    assert "al 1 echte meldingen" in capsys.readouterr().err
    assert sql(server.store, "SELECT count(*) FROM meldingen")[0][0] == 1
    assert main(["demo", "--count", "3", "--db", str(server.path), "--force"]) == 0


def test_the_kcc_finds_demo_meldingen_and_a_laptop_receives_them(server, client, tmp_path):
    refs = fill_server_demo(server.store, 25, seed=7)
    r = client.post("/api/v1/kcc/search", json={"q": refs[3]}, headers=auth(server.tokens["kcc"]))
    assert r.status_code == 200 and [h["reference"] for h in r.json()["results"]] == [refs[3]]
    detail = client.get(f"/api/v1/kcc/meldingen/{refs[3]}", headers=auth(server.tokens["kcc"]))
    assert detail.status_code == 200 and "VOORBEELD" in detail.text
    token, code = server.laptop("anna")
    lap = LocalStore(tmp_path / "anna.sqlite3")
    lap.set_device_code(code)
    try:
        sync_once(lap, "http://testserver", token, client=client)
        assert lap.count() == 25
        assert {row["bron"] for row in lap.iter_rows()} == {"demo"}
    finally:
        lap.close()
