"""Personal data under the AVG, end to end with real processes (issue 16, "Tests").

A melding with a reporter, closed long enough ago, is anonymised by ``wijkteam-server avg retention``;
after their next sync two laptops no longer hold the name or the phone number anywhere in their
files (raw bytes, WAL included), nor does the server; the KCC detail says "geanonimiseerd"; the
barometer figures of that period are the same. ``avg inzage`` finds the person by a phone number
written another way. A laptop that typed the phone number into a note while offline, not knowing
of the erasure, does not bring it back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import pytest
from rich.console import Console

from shared import commands
from shared.enums import Kanaal, Status, VierB
from shared.events import MeldingFields
from shared.hlc import wall_ms
from shared.model import Melder
from shared.search import KccDetail
from tests.e2e.conftest import Laptop, ServerProcess
from tests.e2e.test_sync_e2e import act, sync
from wijkteam_tui.screens.kcc import render_detail

pytestmark = pytest.mark.e2e

NAME = "Zwanenburg"
PHONE = "+31612345678"
DAY_MS = 24 * 3600 * 1000


def raw_bytes(db: Path) -> bytes:
    """Every byte a database holds on disk: the file and its WAL (and a rollback journal, if any)."""
    return b"".join(p.read_bytes() for s in ("", "-wal", "-journal") if (p := db.with_name(db.name + s)).exists())


def personal_in(db: Path) -> list[str]:
    data = raw_bytes(db)
    # The name as typed and as the search index folds it; the phone number's digits in any form.
    return [v for v in (NAME, NAME.lower(), "612345678") if v.encode() in data]


def at_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def closed_long_ago(lap: Laptop, start_ms: int, text: str, melder: Melder | None) -> str:
    """Register a melding ``start_ms``, call back a day later, close it two days later; its id."""
    t = [start_ms]
    clock = lambda: t[0]  # noqa: E731 - the laptop's wall clock, moved by hand
    dev = lap.store.device_clock(lap.name, clock=clock)
    fields = MeldingFields(omschrijving=text, categorie="groen/boom", vier_b=VierB.BETROKKENHEID, melder=melder)
    m = lap.store.register(dev, prefix="DLF", fields=fields, registered_at=at_ms(start_ms))
    t[0] += DAY_MS
    if melder is not None:
        act(lap, lambda d: commands.log_callback(d, lap.store.get(m.melding_id), kanaal=Kanaal.TELEFOON, tekst="Gebeld",
                                               at=at_ms(t[0]), now=at_ms(t[0])), clock=clock)  # fmt: skip
    t[0] += DAY_MS
    act(lap, lambda d: commands.change_status(d, lap.store.get(m.melding_id), Status.IN_BEHANDELING), clock=clock)
    t[0] += DAY_MS
    act(lap, lambda d: commands.change_status(d, lap.store.get(m.melding_id), Status.AFGEHANDELD, "klaar",
                                              voor_melder="Opgelost"), clock=clock)  # fmt: skip
    return m.melding_id


def figures(server: ServerProcess, period: str) -> dict[str, object]:
    out = server.cli("report", "--period", period, "--format", "json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    return {k: report[k] for k in ("totaal", "groups", "months", "criteria", "certificate_level")}


def kcc_detail_text(server: ServerProcess, reference: str) -> str:
    token, _ = server.add_user("kcc-anna", "kcc")
    r = httpx.get(f"{server.url}/api/v1/kcc/meldingen/{reference}", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    console = Console(width=120, record=True)
    console.print(render_detail(msgspec.json.decode(r.content, type=KccDetail)))
    return console.export_text()


def test_retention_anonymises_and_every_copy_forgets(
    server: ServerProcess, make_laptop: Callable[..., Laptop], tmp_path: Path
) -> None:
    pytest.importorskip("sync_server.gemeente_config", reason="the retention periods come with issue 13's configuration")
    anna, bram = make_laptop("anna"), make_laptop("bram")
    for lap in (anna, bram):
        server.issued_days_ago(lap.code, 800)
    start = wall_ms() - 700 * DAY_MS  # closed about 23 months ago: past the 365 days of the default
    mid = closed_long_ago(anna, start, f"Boom omgewaaid; mw. {NAME} belt 06-12345678", Melder(naam=f"W. {NAME}", telefoon=PHONE))
    for i in range(6):
        closed_long_ago(anna, start + (i + 1) * 3_600_000, f"Tak op de weg {i}",
                        Melder(naam="Piet", telefoon="+31687654321") if i % 2 else None)  # fmt: skip
    for lap in (anna, bram, anna):
        sync(lap, server)
    reference = anna.store.get(mid).reference  # type: ignore[union-attr]
    assert personal_in(server.db) and personal_in(anna.path) and personal_in(bram.path)  # not vacuous

    # A resident's request first: found by the phone number written another way.
    out = server.cli("avg", "inzage", "--telefoon", "06 - 12 34 56 78", "--uit", str(tmp_path / "inzage"))
    assert out.returncode == 0, out.stderr
    assert "1 melding(en) gevonden" in out.stdout and reference in out.stdout
    doc = json.loads(next((tmp_path / "inzage").glob("*.json")).read_text())
    assert [m["referentie"] for m in doc["meldingen"]] == [reference]

    period = f"{at_ms(start).year}-Q{(at_ms(start).month - 1) // 3 + 1}"
    before = figures(server, period)
    dry = server.cli("avg", "retention", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "melder anonimiseren: 365 dagen na sluiting: 4 melding(en)" in dry.stdout and "er is niets veranderd" in dry.stdout
    assert personal_in(server.db)
    done = server.cli("avg", "retention")
    assert done.returncode == 0, done.stderr
    assert "Gedaan: 4 melding(en)" in done.stdout
    assert server.cli("avg", "retention").stdout.count("Niets te doen") == 1  # idempotent

    for lap in (anna, bram):
        sync(lap, server)
    assert personal_in(server.db) == []
    assert personal_in(anna.path) == []
    assert personal_in(bram.path) == []
    m = bram.store.get(mid)
    assert m is not None and m.anonymised and "[geanonimiseerd]" in m.omschrijving
    assert figures(server, period) == before
    assert "geanonimiseerd op" in kcc_detail_text(server, reference)
    audit = server.cli("audit", "list", "--gebruiker", "beheer", "--alles")
    assert "avg_bewaartermijn" in audit.stdout and "avg_inzage" in audit.stdout and "os: " in audit.stdout


def test_erasure_on_request_is_not_undone_by_a_laptop_that_typed_the_number_offline(
    server: ServerProcess, make_laptop: Callable[..., Laptop]
) -> None:
    anna, bram = make_laptop("anna"), make_laptop("bram")
    mid = closed_long_ago(anna, wall_ms() - 10 * DAY_MS, "Lantaarnpaal stuk", Melder(naam=f"A. {NAME}", telefoon=PHONE))
    for lap in (anna, bram):
        server.issued_days_ago(lap.code, 30)
        sync(lap, server)
    # bram, offline, notes the number again: he has not heard of the erasure yet.
    act(bram, lambda d: commands.add_note(d, bram.store.get(mid), f"{NAME} belde: 06 1234 5678, graag terugbellen"))
    out = server.cli("avg", "wissen", "--telefoon", "0612345678", "--yes")
    assert out.returncode == 0, out.stderr
    assert personal_in(server.db) == []
    result = sync(bram, server)  # pushes (deferred: the server erased after bram's last pull), pulls, pushes again
    assert result.pending == 0 and result.quarantined == 0  # type: ignore[attr-defined]
    sync(anna, server)
    for db in (server.db, anna.path, bram.path):
        assert personal_in(db) == [], db
    notes = [n.tekst for n in anna.store.get(mid).notes]  # type: ignore[union-attr]
    assert any("[geanonimiseerd] belde: [geanonimiseerd], graag terugbellen" == n for n in notes), notes
    quarantine = server.cli("quarantine", "list", "--all")
    assert NAME not in quarantine.stdout
