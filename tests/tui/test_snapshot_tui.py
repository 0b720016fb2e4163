"""The TUI's first sync from a snapshot against a real server: the download shows in the status line
(MB and %), the UI's own connection is closed while the file is replaced and reopened after, and the
list shows the installed meldingen."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Laptop, ServerProcess
from tests.e2e.test_snapshot_e2e import build_snapshot, fill
from tests.tui.conftest import settle, to_list
from wijkteam_store.snapshot import device_row
from wijkteam_tui.config import Config
from wijkteam_tui.snapshot_client import side_files

pytestmark = pytest.mark.e2e


async def test_the_app_installs_a_snapshot_and_shows_its_download(tmp_path, app_factory, db_path) -> None:
    server = ServerProcess(tmp_path / "server.sqlite3", tmp_path / "server.log")
    server.start(env={"WIJKTEAM_SNAPSHOT_LAG": "0"})
    try:
        token, code = server.add_user("anna")
        assert code
        anna = Laptop(tmp_path / "anna.sqlite3", "anna", token, code)
        fill(anna, server, 800)  # 1,600 events: a snapshot of more than a megabyte
        build_snapshot(server)
        fill(anna, server, 3)
        anna.store.close()
        new_token, new_code = server.add_user("bram")
        config = Config(
            device_code=new_code, user="bram", prefix="DLF", server_url=server.url, token=new_token,
            sync_interval_s=3600,
        )
        app = app_factory(config=config, auto_sync=True)
        shown: list[str] = []
        show = app._sync_progress

        def recording(stage: str, done: int, total: int | None) -> None:
            show(stage, done, total)
            shown.append(app.sync_text)

        app._sync_progress = recording  # type: ignore[method-assign]
        async with app.run_test(size=(120, 30)) as pilot:
            await app.workers.wait_for_complete()
            await settle(pilot)
            assert app.sync_error is None, app.sync_error
            assert app.store.count(include_deleted=True) == 803  # the UI's store sees the new file
            await to_list(pilot)
            assert app.screen.query_one("#lijst").row_count > 0
            assert device_row(app.store).device_id == new_code
            assert "laatste sync" in app.sync_text
    finally:
        server.stop()
    downloads = [t for t in shown if "snapshot" in t and "MB" in t]
    assert downloads and "MB (100 %)" in downloads[-1] and "bezig met synchroniseren" in downloads[0]
    assert any("controleren en installeren" in t for t in shown)
    assert not any(p.exists() for p in side_files(db_path))
