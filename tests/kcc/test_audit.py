"""Audit of personal-data reads and ``wijkteam-server audit list``."""

from __future__ import annotations

import json

import pytest
from litestar.testing import TestClient

from sync_server.audit import PERSONAL_DATA_READ, list_entries
from sync_server.cli import main
from tests.kcc.conftest import KccServer, bearer


def read(client: TestClient, srv: KccServer, name: str, role: str = "kcc") -> None:
    r = client.get(f"/api/v1/kcc/meldingen/{srv.refs[name]}", headers=bearer(srv.tokens[role]))
    assert r.status_code == 200


def test_every_read_is_an_entry(kcc_client: TestClient, kcc_server: KccServer) -> None:
    read(kcc_client, kcc_server, "boom")
    read(kcc_client, kcc_server, "boom", "admin")
    read(kcc_client, kcc_server, "lamp", "manager")
    entries = list_entries(kcc_server.store)
    assert [(e.actor, e.reference) for e in entries] == [
        ("test-manager (manager)", kcc_server.refs["lamp"]),
        ("test-admin (admin)", kcc_server.refs["boom"]),
        ("test-kcc (kcc)", kcc_server.refs["boom"]),
    ]
    assert all(e.action == PERSONAL_DATA_READ for e in entries)
    assert [e.reference for e in list_entries(kcc_server.store, reference=kcc_server.refs["boom"])] == [
        kcc_server.refs["boom"]
    ] * 2
    assert [e.actor for e in list_entries(kcc_server.store, actor="test-kcc")] == ["test-kcc (kcc)"]


def test_cli_audit_list(kcc_client: TestClient, kcc_server: KccServer, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(kcc_server.path)
    assert main(["audit", "list", "--db", db]) == 0
    assert "Geen auditregels" in capsys.readouterr().out
    read(kcc_client, kcc_server, "boom")
    assert main(["audit", "list", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "test-kcc (kcc)" in out and kcc_server.refs["boom"] in out and PERSONAL_DATA_READ in out
    assert kcc_server.tokens["kcc"] not in out
    assert main(["audit", "list", "--db", db, "--json", "--referentie", kcc_server.refs["boom"].lower()]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 1 and lines[0]["reference"] == kcc_server.refs["boom"]
    assert main(["audit", "list", "--db", db, "--referentie", "onzin!"]) == 2
    assert main(["audit", "list", "--db", db, "--alles"]) == 0
    assert "user_add" in capsys.readouterr().out
