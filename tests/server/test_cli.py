"""``wijkteam-server`` admin commands, run in-process through ``main(argv)``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sync_server.cli import main
from sync_server.store import ServerStore


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_user_add_prints_token_once_and_stores_only_its_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    code, out, _ = run(capsys, "user", "add", "anna", "--role", "wijkuitvoerder", "--db", str(db))
    assert code == 0
    token = re.search(r"Token[^:]*: (\S+)", out).group(1)  # type: ignore[union-attr]
    device = re.search(r"Apparaatcode: (\S+)", out).group(1)  # type: ignore[union-attr]
    assert device != "00"
    assert token.encode() not in db.read_bytes()
    store = ServerStore(db)
    try:
        info = store.token_info(token)
        assert info is not None and (info.name, info.role.value, info.device_code) == ("anna", "wijkuitvoerder", device)
    finally:
        store.close()
    code, out, _ = run(capsys, "--db", str(db), "user", "list")
    assert code == 0 and "anna\twijkuitvoerder" in out and token not in out
    code, out, _ = run(capsys, "--db", str(db), "user", "add", "kees", "--role", "kcc")
    assert code == 0 and "Apparaatcode" not in out


def test_device_codes_are_never_issued_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "s.db")
    assert run(capsys, "--db", db, "user", "add", "anna", "--role", "admin", "--device", "K7")[0] == 0
    code, _, err = run(capsys, "--db", db, "user", "add", "bram", "--role", "wijkuitvoerder", "--device", "k7")
    assert code == 1 and "K7 is al uitgegeven" in err
    code, _, err = run(capsys, "--db", db, "user", "add", "srv", "--role", "wijkuitvoerder", "--device", "00")
    assert code == 1 and "00 is al uitgegeven" in err
    code, _, err = run(capsys, "--db", db, "user", "add", "anna", "--role", "kcc")
    assert code == 1 and "bestaat al" in err
    assert run(capsys, "--db", db, "user", "revoke", "anna")[0] == 0
    code, _, err = run(capsys, "--db", db, "user", "revoke", "anna")
    assert code == 1 and "al ingetrokken" in err
    code, _, err = run(capsys, "--db", db, "user", "add", "anna2", "--role", "wijkuitvoerder", "--device", "K7")
    assert code == 1 and "K7 is al uitgegeven" in err  # a revoked user's code stays reserved


def test_backup_and_empty_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "s.db")
    run(capsys, "--db", db, "user", "add", "anna", "--role", "manager")
    assert run(capsys, "--db", db, "backup", str(tmp_path / "b.db"))[0] == 0
    copy = ServerStore(tmp_path / "b.db")
    try:
        assert [u.name for u in copy.list_users()] == ["anna"]
    finally:
        copy.close()
    code, _, err = run(capsys, "--db", db, "backup", str(tmp_path / "b.db"))
    assert code == 1 and "bestaat al" in err
    assert "leeg" in run(capsys, "--db", db, "quarantine", "list")[1]
    assert "Geen dubbele" in run(capsys, "--db", db, "clashes", "list")[1]


def test_db_env_is_the_default(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIJKTEAM_SERVER_DB", str(tmp_path / "env.db"))
    assert run(capsys, "user", "add", "anna", "--role", "kcc")[0] == 0
    assert (tmp_path / "env.db").exists()
