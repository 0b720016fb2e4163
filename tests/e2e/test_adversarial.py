"""Adversarial laptops (issue 11, "Tests"): a real ``wijkteam-server`` process, real laptop stores and
the real sync client. A forged ``created``, a foreign device code, a backdated status change, a clock
two days ahead then corrected, a clock reset to 2001: each is refused (kept visible on the laptop as
*geweigerd*) or corrected, the admin releases or rejects through the CLI, the honest laptops lose
nothing, and every replica ends equal. (Control characters, oversized and deeply nested bodies are
trust-input's cases: tests/e2e/test_hostile_input.py.)"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import pytest

from shared import commands
from shared.enums import Status
from shared.events import Event, MeldingFields
from shared.hlc import pack, physical_ms, wall_ms
from shared.protocol import RefusalCode
from tests.e2e.conftest import ROOT, Laptop, ServerProcess
from tests.e2e.replicas import assert_replicas_equal
from wijkteam_tui.sync_client import SyncResult, sync_once

pytestmark = pytest.mark.e2e

DAY_MS = 24 * 3600 * 1000


def sync(lap: Laptop, server: ServerProcess, **kw: object) -> SyncResult:
    return sync_once(lap.store, server.url, lap.token, sleep=lambda _: None, **kw)  # type: ignore[arg-type]


def fixed(ms: int) -> Callable[[], int]:
    return lambda: ms


def register(lap: Laptop, text: str, *, clock_ms: int | None = None) -> str:
    """Register as the intake does: the stamp from the laptop's clock, the registration time from its wall clock."""
    dev = lap.store.device_clock(lap.name, clock=fixed(clock_ms) if clock_ms is not None else None)
    at = datetime.fromtimestamp(clock_ms / 1000, UTC) if clock_ms is not None else None
    return lap.store.register(dev, prefix="DLF", fields=MeldingFields(omschrijving=text), registered_at=at).melding_id


def raw_push(server: ServerProcess, token: str, device: str, events: list[Event]) -> dict:
    body = {"protocol": 1, "device_id": device, "events": msgspec.to_builtins(events)}
    resp = httpx.post(server.url + "/api/v1/sync/push", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def quarantine_number(server: ServerProcess, event_id: str) -> int:
    """The admin's number for a refused event, read from ``wijkteam-server quarantine list``."""
    out = server.cli("quarantine", "list")
    assert out.returncode == 0, out.stderr
    for line in out.stdout.splitlines():
        cols = line.split("\t")
        if len(cols) > 3 and cols[3] == event_id:
            return int(cols[0])
    raise AssertionError(f"{event_id} not waiting in the quarantine:\n{out.stdout}")


def test_adversarial_laptops(server: ServerProcess, make_laptop: Callable[[str], Laptop], tmp_path: Path) -> None:
    anna, bram, carl, dirk, eva, fien = (make_laptop(n) for n in ("anna", "bram", "carl", "dirk", "eva", "fien"))
    own = register(anna, "Omgewaaide boom")
    sync(anna, server)
    for lap in (bram, carl, eva):
        sync(lap, server)
    state = anna.store.get(own)
    assert state is not None
    created = anna.store.events_of(own)[0]

    # -- a forged created: bram claims anna's melding with an older stamp ---------------------------
    forger = commands.DeviceClock(bram.code, "bram", seq=50, hlc=_clock(physical_ms(created.hlc) - 60_000))
    forged = msgspec.structs.replace(
        commands.register(forger, prefix="DLF", counter=99, fields=MeldingFields(omschrijving="Van mij")),
        melding_id=own,
    )
    answer = raw_push(server, bram.token, bram.code, [forged])
    assert [q["code"] for q in answer["quarantined"]] == [RefusalCode.DUPLICATE_CREATED]

    # -- a foreign device code: bram's token, anna's device code in the event -------------------------
    foreign = commands.change_status(commands.DeviceClock(anna.code, "bram", seq=900), state, Status.GEANNULEERD, "weg")
    answer = raw_push(server, bram.token, bram.code, [foreign])
    assert [q["code"] for q in answer["quarantined"]] == [RefusalCode.FOREIGN_DEVICE]

    # -- a backdated status change: carl stamps it an hour before the melding was registered ----------
    early = commands.DeviceClock(carl.code, "carl", seq=1, hlc=_clock(physical_ms(created.hlc) - 3_600_000))
    back = commands.change_status(early, state, Status.AFGEHANDELD, "al lang klaar")
    answer = raw_push(server, carl.token, carl.code, [back])
    assert [q["code"] for q in answer["quarantined"]] == [RefusalCode.BEFORE_CREATED]

    # -- a clock two days ahead, then corrected ---------------------------------------------------------
    ahead = wall_ms() + 2 * DAY_MS
    first = register(dirk, "Lamp kapot (klok voor)", clock_ms=ahead)
    second = register(dirk, "Tegel los (klok voor)", clock_ms=ahead + 60_000)
    result = sync(dirk, server, push_batch=1)  # the second goes out only after the first's refusal
    assert result.quarantined == 1 and result.clock_fell_back and result.restamped == 1
    assert result.refused == 1 and result.pending == 0 and dirk.store.pending_count() == 0
    assert [r["code"] for r in dirk.store.refused_events()] == [RefusalCode.FUTURE_STAMP]
    assert dirk.store.get(first) is None  # not in the record, but kept as refused
    kept = dirk.store.get(second)
    assert kept is not None and kept.registered_at <= datetime.now(UTC) + timedelta(minutes=5)
    third = register(dirk, "Na het gelijkzetten")  # the corrected clock: accepted at once
    result = sync(dirk, server)
    assert result.quarantined == 0 and result.refused == 1
    assert dirk.store.get(third) is not None

    # -- a clock reset to 2001 --------------------------------------------------------------------------
    y2001 = int(datetime(2001, 9, 1, tzinfo=UTC).timestamp() * 1000)
    reset = register(eva, "Klok op 2001", clock_ms=y2001)  # eva synced before: its clock has seen today
    m = eva.store.get(reset)
    assert m is not None and m.registered_at.year == datetime.now(UTC).year
    assert eva.store.clock_behind_ms(y2001) > 20 * 365 * DAY_MS
    assert sync(eva, server).quarantined == 0
    never_synced = register(fien, "Nieuwe laptop op 2001", clock_ms=y2001)
    cmd = [str(Path(sys.executable).parent / "wijkteam")]
    if not Path(cmd[0]).exists():
        cmd = [sys.executable, "-m", "wijkteam_tui.cli"]
    fien.store.close()
    out = subprocess.run([*cmd, "sync", "--server", server.url, "--token", fien.token, "--db", str(fien.path)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    fien.reopen()
    assert out.returncode == 3, out.stdout + out.stderr
    assert "geweigerd" in out.stderr and "apparaatcode" in out.stderr
    assert [r["code"] for r in fien.store.refused_events()] == [RefusalCode.BEFORE_ISSUE]
    assert fien.store.get(never_synced) is None

    # -- the admin decides: dirk's first is released (restamped), fien's is rejected ---------------------
    dirk_first = dirk.store.refused_events()[0]["event_id"]
    fien_first = fien.store.refused_events()[0]["event_id"]
    release = server.cli("quarantine", "release", str(quarantine_number(server, dirk_first)), "--by", "beheer")
    assert release.returncode == 0, release.stderr
    forged_no = quarantine_number(server, forged.event_id)
    refused_release = server.cli("quarantine", "release", str(forged_no))
    assert refused_release.returncode == 1 and "reject" in refused_release.stderr
    assert server.cli("quarantine", "reject", str(quarantine_number(server, fien_first)), "--note", "klok").returncode == 0
    result = sync(dirk, server)
    assert (result.released, result.refused) == (1, 0)
    released = dirk.store.get(first)
    assert released is not None and released.registered_at <= datetime.now(UTC) + timedelta(minutes=5)
    history = dirk.store.get(first)
    assert history is not None and any("oorspronkelijk" in n.tekst for n in history.notes)
    result = sync(fien, server)
    assert (result.rejected, result.refused) == (1, 1)  # listed until fien dismisses it
    fien.store.dismiss_refused([fien_first])
    assert fien.store.refused_count() == 0

    # -- nothing lost, nothing forged, every replica equal ---------------------------------------------
    laptops = (anna, bram, carl, dirk, eva, fien)
    for _ in range(2):
        for lap in laptops:
            sync(lap, server)
    rows = assert_replicas_equal(*(lap.path for lap in laptops), server.db)
    assert rows[own]["device_id"] == anna.code and rows[own]["status"] == Status.GEMELD
    assert rows[own]["omschrijving"] == "Omgewaaide boom"
    assert {first, second, third, reset} <= set(rows) and never_synced not in rows
    for lap in laptops:
        assert lap.store.pending_count() == 0
    assert re.search(r"\d", server.cli("quarantine", "list", "--all").stdout)


def _clock(ms: int):  # noqa: ANN202
    from shared.hlc import HLC

    return HLC(pack(ms - 1), clock=fixed(ms))
