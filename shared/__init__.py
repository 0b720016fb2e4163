"""Wijkteam's pure domain core.

Everything both ends agree on lives here once: the vocabulary (enums), the melding and its events,
the fold that turns events into the current state, the hybrid logical clock, references, validation,
working-day deadlines, the barometer indicators and the sync protocol messages.

This package imports no UI, web or database library (textual, litestar, httpx, sqlite_utils);
``tests/test_import_boundary.py`` checks that in a fresh interpreter.
"""
