"""``/api/v1/sync/snapshot``: who may fetch it, what it announces, and byte ranges for resuming."""

from __future__ import annotations

import hashlib
import sqlite3

import msgspec
import pytest
from litestar.testing import TestClient

from shared import commands
from shared.enums import EventType
from shared.events import MeldingFields
from shared.model import Melder
from shared.protocol import SnapshotInfo
from sync_server.routes.snapshot import RangeNotSatisfiable, byte_range
from sync_server.snapshot import SnapshotService, build, read_current, snapshot_dir
from tests.server.conftest import Server, auth
from tests.server.test_sync_api import make_events, push_json
from wijkteam_store.local import SCHEMA_VERSION, LocalStore


def _built(server: Server, client: TestClient, n: int = 30) -> bytes:
    token, code = server.laptop("anna")
    assert push_json(client, token, code, make_events(code, n)).status_code == 200
    published = build(server.path, snapshot_dir(server.path))
    assert published is not None and published.server_seq == n
    return (snapshot_dir(server.path) / published.file).read_bytes()


def test_only_laptop_roles_get_it_and_none_yet_is_a_404(server: Server, client: TestClient) -> None:
    assert client.get("/api/v1/sync/snapshot").status_code == 401
    assert client.get("/api/v1/sync/snapshot/info", headers=auth(server.tokens["kcc"])).status_code == 403
    assert client.get("/api/v1/sync/snapshot", headers=auth(server.tokens["manager"])).status_code == 403
    resp = client.get("/api/v1/sync/snapshot/info", headers=auth(server.tokens["wijkuitvoerder"]))
    assert resp.status_code == 404 and "nog geen snapshot" in resp.json()["detail"]
    assert client.get("/api/v1/sync/snapshot", headers=auth(server.tokens["admin"])).status_code == 404
    # the protocol header is checked as on push and pull
    no_protocol = {"Authorization": f"Bearer {server.tokens['wijkuitvoerder']}"}
    assert client.get("/api/v1/sync/snapshot/info", headers=no_protocol).status_code == 400


def test_info_and_the_whole_file(server: Server, client: TestClient) -> None:
    data = _built(server, client)
    token = server.tokens["wijkuitvoerder"]
    info = msgspec.json.decode(client.get("/api/v1/sync/snapshot/info", headers=auth(token)).content, type=SnapshotInfo)
    assert (info.server_seq, info.log_id, info.store_schema, info.log_seq) == (30, server.store.log_id(), SCHEMA_VERSION, 30)
    assert (info.length, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    resp = client.get("/api/v1/sync/snapshot", headers=auth(token))
    assert resp.status_code == 200 and resp.content == data
    assert resp.headers["content-length"] == str(len(data))
    assert resp.headers["etag"] == f'"{info.sha256}"'
    assert resp.headers["x-wijkteam-snapshot-sha256"] == info.sha256
    assert resp.headers["x-wijkteam-snapshot-seq"] == "30"
    assert resp.headers["x-wijkteam-log-id"] == str(info.log_id)
    assert resp.headers["accept-ranges"] == "bytes"
    assert resp.headers["cache-control"] == "no-store"
    # more pushes: the info shows how far the log has moved past the snapshot
    token2, code2 = server.laptop("bram")
    push_json(client, token2, code2, make_events(code2, 5))
    info = msgspec.json.decode(client.get("/api/v1/sync/snapshot/info", headers=auth(token)).content, type=SnapshotInfo)
    assert (info.server_seq, info.log_seq) == (30, 35)


def test_ranges_resume_a_download(server: Server, client: TestClient) -> None:
    data = _built(server, client)
    token = server.tokens["wijkuitvoerder"]
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    resp = client.get("/api/v1/sync/snapshot", headers={**auth(token), "Range": "bytes=1000-", "If-Range": etag})
    assert resp.status_code == 206 and resp.content == data[1000:]
    assert resp.headers["content-range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"
    assert resp.headers["content-length"] == str(len(data) - 1000)
    resp = client.get("/api/v1/sync/snapshot", headers={**auth(token), "Range": "bytes=10-19"})
    assert resp.status_code == 206 and resp.content == data[10:20]
    resp = client.get("/api/v1/sync/snapshot", headers={**auth(token), "Range": "bytes=-50"})
    assert resp.status_code == 206 and resp.content == data[-50:]
    # the laptop's partial file is of another (older) snapshot: the whole current one comes
    resp = client.get("/api/v1/sync/snapshot", headers={**auth(token), "Range": "bytes=1000-", "If-Range": '"old"'})
    assert resp.status_code == 200 and resp.content == data
    resp = client.get("/api/v1/sync/snapshot", headers={**auth(token), "Range": f"bytes={len(data)}-"})
    assert resp.status_code == 416 and resp.headers["content-range"] == f"bytes */{len(data)}"
    # a range this server does not honour (several at once): the whole file, as RFC 9110 allows
    resp = client.get("/api/v1/sync/snapshot", headers={**auth(token), "Range": "bytes=0-1,5-6"})
    assert resp.status_code == 200 and resp.content == data


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("bytes=0-", (0, 100)), ("bytes=5-9", (5, 10)), ("bytes=90-200", (90, 100)),
     ("bytes=-10", (90, 100)), ("bytes=-500", (0, 100)), ("items=0-1", None), ("bytes=-", None)],
)
def test_byte_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=7-3", "bytes=-0"])
def test_byte_range_outside_the_file(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, 100)


def test_a_rebuild_applies_only_the_new_events_and_keeps_the_previous_file(server: Server, client: TestClient) -> None:
    _built(server, client, 12)
    folder = snapshot_dir(server.path)
    first = read_current(folder)
    assert first is not None
    token, code = server.laptop("bram")
    push_json(client, token, code, make_events(code, 4))
    pages: list[tuple[int, int]] = []
    second = build(server.path, folder, progress=lambda at, target: pages.append((at, target)))
    assert second is not None and second.server_seq == 16
    assert pages == [(16, 16)]  # one page: the working copy went on from 12
    assert {p.name for p in folder.glob("laptop-*.sqlite3")} == {first.file, second.file}
    assert build(server.path, folder) == second  # nothing new: nothing rebuilt
    conn = sqlite3.connect(folder / second.file)
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 16
    assert conn.execute("SELECT pull_cursor, server_log_id FROM device").fetchone() == (16, server.store.log_id())
    conn.close()


def test_a_restored_log_gets_a_new_working_copy(server: Server, client: TestClient) -> None:
    _built(server, client, 12)
    folder = snapshot_dir(server.path)
    server.store.renew_log_id()
    published = build(server.path, folder)
    assert published is not None and published.log_id == server.store.log_id() and published.server_seq == 12
    conn = sqlite3.connect(folder / published.file)
    assert conn.execute("SELECT server_log_id FROM device").fetchone()[0] == server.store.log_id()
    conn.close()


def test_when_a_rebuild_is_due(server: Server, client: TestClient) -> None:
    service = SnapshotService(server.path, snapshot_dir(server.path), lag=10, check_s=60, store=server.store)
    token, code = server.laptop("anna")
    push_json(client, token, code, make_events(code, 10))
    assert not service.due()  # 10 events, not more than the lag
    push_json(client, token, code, make_events(code, 1, start=11))
    assert service.due()
    build(server.path, snapshot_dir(server.path))
    assert not service.due()
    push_json(client, token, code, make_events(code, 10, start=12))
    assert not service.due()
    push_json(client, token, code, make_events(code, 1, start=22))
    assert service.due()
    build(server.path, snapshot_dir(server.path))
    server.store.renew_log_id()  # a restore: the snapshot is of another log
    assert service.due()


def test_a_snapshot_carries_the_municipality_configuration(server: Server, client: TestClient, tmp_path) -> None:
    from tests.server.test_gemeente_config import DATA, NAMES, _edit, _import

    folder = tmp_path / "gemeente"
    folder.mkdir()
    for name in NAMES:
        (folder / name).write_bytes((DATA / name).read_bytes())
    _edit(folder / "gemeente.toml", "voorbeeld = true", "voorbeeld = false")
    assert _import(server, folder) == 0
    data = _built(server, client)
    laptop = tmp_path / "laptop.sqlite3"
    laptop.write_bytes(data)
    store = LocalStore(laptop)
    config = store.gemeente_config()
    assert config is not None and not config.voorbeeld
    assert store.gemeente_config_etag() == client.get("/api/v1/config", headers=auth(server.tokens["wijkuitvoerder"])).headers["etag"]
    store.close()


def test_after_an_erasure_the_old_snapshot_goes_and_the_new_one_holds_no_byte_of_it(
    server: Server, client: TestClient
) -> None:
    token, code = server.laptop("anna")
    dev = commands.DeviceClock(code, "anna")
    made = [
        commands.register(dev, prefix="DLF", counter=n, fields=MeldingFields(
            omschrijving=f"Tegel {n}", melder=Melder(naam=f"Zwanenburg{n}", telefoon="+31612345678")))
        for n in range(1, 40)
    ]
    body = {"protocol": 1, "device_id": code, "events": msgspec.to_builtins(made)}
    assert client.post("/api/v1/sync/push", json=body, headers=auth(token)).status_code == 200
    folder = snapshot_dir(server.path)
    first = build(server.path, folder)
    assert first is not None and b"Zwanenburg7" in (folder / first.file).read_bytes()
    service = SnapshotService(server.path, folder, lag=1000, check_s=60, store=server.store)
    server.store.erase([made[6].melding_id], EventType.PURGED, "verzoek van de melder", actor="test")
    assert service.current() is None and not (folder / first.file).exists()  # neither served nor kept
    assert service.due()
    second = build(server.path, folder)
    assert second is not None
    data = (folder / second.file).read_bytes()
    assert b"Zwanenburg7" not in data and b"zwanenburg7" not in data
    assert b"Zwanenburg8" in data  # the others are still there
