"""Test-suite-wide settings. Fixtures belong in the conftest.py of the subfolder that uses them."""

from hypothesis import settings

# Hypothesis's per-example deadline is a timing assert; on two shared cores it only makes tests
# flaky. Example counts are set per test, kept modest so the suite stays fast.
settings.register_profile("wijkteam", deadline=None)
settings.load_profile("wijkteam")
