"""Adversarial input against a real ``wijkteam-server`` process (issue 11 §3): control characters in
every text field, oversized and deeply nested bodies, the known 500s, and a disk that stops taking
writes. Every refusal is a 4xx (or a quarantined event) with a Dutch ``detail``; the honest laptop
loses nothing; the server keeps answering and recovers by itself.

The other adversarial cases (forged ``created``, foreign device, backdating, clocks) are in
``test_adversarial.py``.
"""

from __future__ import annotations

import resource
import sqlite3
from collections.abc import Callable

import httpx
import msgspec
import pytest

from shared import commands
from shared.enums import Kanaal, Status
from shared.events import Event, MeldingFields
from shared.model import Adres, Melder
from shared.protocol import MAX_PUSH_BYTES
from tests.e2e.conftest import Laptop, ServerProcess
from tests.e2e.replicas import assert_replicas_equal
from wijkteam_tui.sync_client import SyncError, sync_once

#: Clears a terminal, sets its title, rings its bell.
ESC = "\x1b[2J\x1b]0;overgenomen\x07"
DEEP = 100_000


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Wijkteam-Protocol": "1"}


def sync(lap: Laptop, server: ServerProcess):
    return sync_once(lap.store, server.url, lap.token, sleep=lambda _: None, retries=0)


def push(server: ServerProcess, lap: Laptop, events: list[Event]) -> httpx.Response:
    body = {"protocol": 1, "device_id": lap.code, "events": msgspec.to_builtins(events)}
    return httpx.post(server.url + "/api/v1/sync/push", json=body, headers=auth(lap.token), timeout=60)


def with_payload(event: Event, path: tuple[str, ...], value: object) -> Event:
    payload = msgspec.json.decode(msgspec.json.encode(event.payload))
    node = payload
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return msgspec.structs.replace(event, payload=payload)


def hostile_events(lap: Laptop) -> list[tuple[str, Event]]:
    """One event per text field with ESC sequences in it (built past the laptop's own cleaning, as a
    modified client would), each with the field path the server must name."""
    dev = lap.store.device_clock(lap.name)
    dev.seq = 1000  # past the laptop's own events
    created = commands.register(
        dev, prefix="DLF", counter=900,
        fields=MeldingFields(omschrijving="x", melder=Melder(naam="x"), adres=Adres(straat="x", huisnummer=1, woonplaats="x")),
    )  # fmt: skip
    state = _fold([created])
    out: list[tuple[str, Event]] = []
    for path in (("omschrijving",), ("locatie_omschrijving",), ("melder", "naam"), ("adres", "straat"), ("adres", "woonplaats")):
        e = commands.register(dev, prefix="DLF", counter=901 + len(out), fields=MeldingFields(omschrijving="x"))
        out.append(("payload.fields." + ".".join(path), with_payload(e, ("fields", *path), "a" + ESC)))
    note = commands.add_note(dev, state, "x")
    out.append(("payload.tekst", with_payload(note, ("tekst",), "a" + ESC)))
    for field in ("notitie", "voor_melder"):
        status = commands.change_status(dev, state, Status.IN_BEHANDELING, "x", voor_melder="y")
        out.append((f"payload.{field}", with_payload(status, (field,), "a" + ESC)))
    callback = commands.log_callback(dev, state, kanaal=Kanaal.TELEFOON, tekst="x")
    out.append(("payload.tekst", with_payload(callback, ("tekst",), "a" + ESC)))
    out.append(("user", msgspec.structs.replace(commands.add_note(dev, state, "x"), user="jan" + ESC)))
    return [(field, msgspec.structs.replace(e, melding_id=created.melding_id) if e.type != "created" else e)
            for field, e in out]  # fmt: skip


def _fold(events):
    from shared.fold import fold

    return fold(events)


def test_control_characters_in_every_text_field_are_refused_with_the_field_named(
    server: ServerProcess, make_laptop: Callable[[str], Laptop]
) -> None:
    anna, bram = make_laptop("anna"), make_laptop("bram")
    own = anna.store.register(anna.store.device_clock("anna"), prefix="DLF", fields=MeldingFields(omschrijving="Tegel los"))
    assert sync(anna, server).pushed == 1
    cases = hostile_events(anna)
    resp = push(server, anna, [e for _, e in cases])
    assert resp.status_code == 200, resp.text
    refused = {q["event_id"]: q["reason"] for q in resp.json()["quarantined"]}
    for field, e in cases:
        assert refused[e.event_id].startswith(field + ": bevat een stuurteken (U+001B)"), (field, refused[e.event_id])
    # Nothing with an ESC reached the server's log or projection; the honest melding is there.
    conn = sqlite3.connect(server.db)
    try:
        assert conn.execute("SELECT count(*) FROM events WHERE payload LIKE ? OR user LIKE ?", ("%\\u001b%", "%\x1b%")).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM meldingen WHERE omschrijving LIKE ?", ("%\x1b%",)).fetchone() == (0,)
    finally:
        conn.close()
    sync(anna, server)
    sync(bram, server)
    assert bram.store.get(own.melding_id).omschrijving == "Tegel los"
    assert_replicas_equal(anna.path, bram.path, server.db)


@pytest.mark.parametrize("msgpack", [False, True])
def test_deeply_nested_bodies_are_400(server: ServerProcess, make_laptop: Callable[[str], Laptop], msgpack: bool) -> None:
    anna = make_laptop("anna")
    if msgpack:
        body, ctype = b"\x83\xa8protocol\x01\xa9device_id\xa2" + anna.code.encode() + b"\xa6events\x91" + b"\x91" * DEEP + b"\xc0", "application/msgpack"
    else:
        body, ctype = b'{"protocol": 1, "device_id": "' + anna.code.encode() + b'", "events": [' + b"[" * DEEP + b"]" * DEEP + b"]}", "application/json"
    r = httpx.post(server.url + "/api/v1/sync/push", content=body, headers={**auth(anna.token), "Content-Type": ctype}, timeout=60)
    assert r.status_code == 400 and "te diep genest" in r.json()["detail"]
    r = httpx.post(
        server.url + "/open311/v2/requests.json", content=b'{"api_key": "x", "d": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
        headers={"Content-Type": "application/json"}, timeout=60,
    )  # fmt: skip
    assert r.status_code in (400, 413) and r.json()[0]["description"]
    assert httpx.get(server.url + "/health", timeout=10).status_code == 200


def test_oversized_bodies_are_refused_before_they_are_read(server: ServerProcess, make_laptop: Callable[[str], Laptop]) -> None:
    anna = make_laptop("anna")
    big = b"a=" + b"x" * (60 * 1024 * 1024)
    # Unauthenticated Open311 form of 60 MB: refused on its announced length, nothing parsed.
    r = httpx.post(server.url + "/open311/v2/requests.json", content=big, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=120)
    assert r.status_code == 413 and "te groot" in r.json()[0]["description"]
    # A bad key in the header is refused before the body is even read.
    r = httpx.post(server.url + "/open311/v2/requests.json", content=b"a=b", headers={"Authorization": "Bearer fout"}, timeout=30)
    assert r.status_code == 401
    # A push over MAX_PUSH_BYTES, and an unauthenticated push of any size.
    over = b" " * (MAX_PUSH_BYTES + 1)
    r = httpx.post(server.url + "/api/v1/sync/push", content=over, headers={**auth(anna.token), "Content-Type": "application/json"}, timeout=120)
    assert r.status_code == 413 and r.json()["detail"] == "Het bericht is te groot."
    r = httpx.post(server.url + "/api/v1/sync/push", content=over, headers={"Content-Type": "application/json"}, timeout=120)
    assert r.status_code == 401
    assert httpx.get(server.url + "/health", timeout=10).status_code == 200


def test_known_500s_are_4xx_with_a_dutch_detail(server: ServerProcess, make_laptop: Callable[[str], Laptop]) -> None:
    anna = make_laptop("anna")
    manager, _ = server.add_user("mia", "manager")
    r = httpx.get(server.url + "/api/v1/sync/pull", params={"after": 2**63}, headers=auth(anna.token), timeout=30)
    assert r.status_code == 400 and r.json()["detail"].startswith("Ongeldige invoer: after")
    r = httpx.get(server.url + "/open311/v2/requests.json", params={"start_date": "9999-12-31"}, timeout=30)
    assert r.status_code == 400 and "start_date ligt buiten" in r.json()[0]["description"]
    r = httpx.get(server.url + "/api/v1/reports/barometer", params={"period": "9999"}, headers=auth(manager), timeout=30)
    assert r.status_code == 400 and "Een periode ligt tussen" in r.json()["detail"]
    # device_seq ≥ 2^63 used to fail the whole push every round: now that one event is refused.
    own = anna.store.register(anna.store.device_clock("anna"), prefix="DLF", fields=MeldingFields(omschrijving="Put"))
    dev = anna.store.device_clock("anna")
    dev.seq = 500
    bad = msgspec.structs.replace(commands.add_note(dev, own, "x"), device_seq=2**63)
    r = push(server, anna, [bad])
    assert r.status_code == 200 and r.json()["quarantined"][0]["reason"].startswith("device_seq:")
    assert sync(anna, server).pushed == 1  # the laptop's own events still go through


def test_a_disk_that_refuses_writes_answers_503_and_recovers_without_a_restart(
    server: ServerProcess, make_laptop: Callable[[str], Laptop]
) -> None:
    """The server process may no longer grow any file (RLIMIT_FSIZE 0: writes fail as on a full disk);
    pushes answer 503 with "De server kan niet opslaan", /ready says so, the laptop shows that
    message and keeps its work; with the limit lifted the same process stores again."""
    anna = make_laptop("anna")
    assert httpx.get(server.url + "/ready", timeout=10).status_code == 200
    assert server.proc is not None
    pid = server.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    m = anna.store.register(anna.store.device_clock("anna"), prefix="DLF", fields=MeldingFields(omschrijving="Lamp kapot"))
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, hard))
    try:
        with pytest.raises(SyncError) as exc:
            sync(anna, server)
        assert exc.value.message.startswith("De server kan niet opslaan:")
        assert "Serverfout" not in exc.value.message
        assert anna.store.pending_count() == 1  # kept on the laptop
        ready = httpx.get(server.url + "/ready", timeout=10)
        assert ready.status_code == 503 and ready.json()["status"] == "niet gereed"
        assert "De server kan niet opslaan" in ready.json()["detail"]
        assert httpx.get(server.url + "/health", timeout=10).status_code == 200  # alive, reads work
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
    assert httpx.get(server.url + "/ready", timeout=10).status_code == 200
    assert sync(anna, server).pushed == 1
    r = httpx.get(server.url + f"/api/v1/public/status/{m.reference}", timeout=10)
    assert r.status_code == 200
