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
