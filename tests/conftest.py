"""Test-suite-wide settings. Fixtures belong in the conftest.py of the subfolder that uses them."""

from hypothesis import settings

# Hypothesis's per-example deadline is a timing assert; on two shared cores it only makes tests
# flaky. Example counts are set per test, kept modest so the suite stays fast.
settings.register_profile("wijkteam", deadline=None)
settings.load_profile("wijkteam")

import pytest


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own user data and config directories (platformdirs reads XDG_* on Linux),
    inherited by the server and laptop processes tests start, so no test reads or writes the real
    ones of whoever runs the suite."""
    home = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))


@pytest.fixture(autouse=True)
def _package_default_configuration():
    """Every test starts and ends on the package default municipality configuration: a test that
    activates another one (shared.gemeente.activate) cannot leak it into the next."""
    from shared.gemeente import activate

    activate(None)
    yield
    activate(None)


# -- the two store engines (issue 17): tests.backends -----------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path, monkeypatch: pytest.MonkeyPatch):
    """Where a server store lives: a SQLite file, then (second run of the test) an empty PostgreSQL
    schema of the session's private cluster, its side files (snapshots, erasure journal) in the test's
    own folder. The PostgreSQL run is skipped, with the reason, where no cluster can be started."""
    if request.param == "sqlite":
        yield tmp_path / "server.sqlite3"
        return
    from sync_server.storage.engines import DATA_DIR_ENV
    from tests import backends, pg_cluster

    try:
        url = backends.new_schema_url()
    except pg_cluster.Unavailable as exc:
        pytest.skip(f"PostgreSQL niet beschikbaar: {exc}")
    # Every test's schema is in the one test database, whose name the side files are named after.
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "pg-files"))
    yield url
    backends.drop_schema(url)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests import backends

    backends.stop()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config) -> None:  # noqa: ANN001 - pytest's hook
    from tests import backends

    line = backends.report_unavailable()
    if line:
        terminalreporter.write_line(line, yellow=True, bold=True)
