"""What every ``wijkteam-server`` command shares: the ``--db`` option, the database it names and the
store opened on it. The main command (``sync_server.cli``) and each group of subcommands
(``avg_cli``, ``import_cli``, ``gazetteer_cli``, …) import these from here, so no subcommand module
needs the main one (issue 17 §1: no import loop between the server CLI and its sub-CLIs).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sync_server.settings import db_location, default_db_path
from sync_server.store import ServerStore, StoreError

_DB_HELP = f"databasebestand, of postgresql://gebruiker@host/database (standaard {default_db_path()})"


def add_command(sub: Any, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand parser that already has ``--db PATH``."""
    p = sub.add_parser(name, help=help, description=help)
    p.add_argument("--db", type=db_location, default=argparse.SUPPRESS, help=_DB_HELP)
    return p


def db_path(args: argparse.Namespace) -> Path | str:
    """The database of ``--db`` (given before or after the subcommand), else ``$WIJKTEAM_SERVER_DB``,
    else the ``db`` of the settings file ``$WIJKTEAM_SERVER_CONFIG`` (so admin commands act on the
    file ``serve`` uses), else the default.

    Raises:
        StoreError: the settings file is invalid (its message names file and line).
    """
    if getattr(args, "db", None):
        return db_location(args.db)
    import os

    from sync_server.server_config import CONFIG_ENV, SettingsError, load_settings
    from sync_server.settings import DB_ENV

    if not os.environ.get(DB_ENV) and os.environ.get(CONFIG_ENV):
        try:
            return load_settings()[0].db_path
        except SettingsError as exc:
            raise StoreError(exc.message) from None
    return default_db_path()


def open_store(args: argparse.Namespace) -> ServerStore:
    """The store of ``--db`` (created with its schema when missing), with its municipality
    configuration in force in this process (``sync_server.gemeente_config.activate_stored``)."""
    from sync_server.gemeente_config import activate_stored

    store = ServerStore(db_path(args))
    activate_stored(store)
    return store
