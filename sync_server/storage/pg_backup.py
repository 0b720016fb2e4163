"""Backups of a PostgreSQL store with PostgreSQL's own tools (issue 17 §3; docs/server.md, "PostgreSQL").

``wijkteam-server backup`` runs ``pg_dump --format=custom`` (a consistent snapshot while the server
runs: pg_dump reads in one repeatable-read transaction); ``wijkteam-server restore`` runs
``pg_restore --clean --if-exists --single-transaction`` into the store's database and then does what
a SQLite restore does (``sync_server.cli``): a new log id, the server's reference counter past every
number it handed out, erasures made after the backup applied again.

The tools are looked up on ``$PATH``, then in ``$WIJKTEAM_PG_BIN``, then in the Debian/Ubuntu places
(``/usr/lib/postgresql/<version>/bin``, newest first): a dump needs a ``pg_dump`` at least as new as
the server.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from sync_server.storage.engines import display_location
from sync_server.store import StoreError

PG_BIN_ENV = "WIJKTEAM_PG_BIN"
TIMEOUT_S = 6 * 3600  # a dump of a very large database; the command is run by hand or by a timer


def tool(name: str) -> str:
    """The path of PostgreSQL client program ``name`` (``pg_dump``, ``pg_restore``).

    Raises:
        StoreError: not found (the message says where it was looked for).
    """
    found = shutil.which(name)
    if found:
        return found
    places = [Path(os.environ[PG_BIN_ENV])] if os.environ.get(PG_BIN_ENV) else []
    base = Path("/usr/lib/postgresql")
    if base.is_dir():
        versions = sorted((p for p in base.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True)
        places += [v / "bin" for v in versions]
    for place in places:
        if (place / name).is_file():
            return str(place / name)
    raise StoreError(
        f"{name} niet gevonden (op $PATH, in ${PG_BIN_ENV} of /usr/lib/postgresql/*/bin): installeer de "
        "PostgreSQL-clientprogramma's van dezelfde of een nieuwere versie dan de databaseserver."
    )


def _run(args: list[str], url: str) -> None:
    """Run a PostgreSQL tool; its error (without the URL's password) as a StoreError."""
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise StoreError(f"{Path(args[0]).name} kon niet draaien: {exc}") from None
    if out.returncode != 0:
        text = (out.stderr or out.stdout).strip().replace(url, display_location(url))
        text = re.sub(r"password=\S+", "password=***", text)
        raise StoreError(f"{Path(args[0]).name} mislukt: {text[-600:]}")


def dump(url: str, target: Path) -> None:
    """Write a consistent copy of the database of ``url`` to the new file ``target`` (pg_dump's
    custom format; the server may run meanwhile).

    Raises:
        StoreError: ``target`` exists, pg_dump is missing, or it failed (its message).
    """
    if target.exists():
        raise StoreError(f"{target} bestaat al; kies een nieuw bestand voor de reservekopie.")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _run([tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}", f"--dbname={url}"], url)
    except StoreError:
        target.unlink(missing_ok=True)  # never half a backup
        raise


def check_archive(source: Path) -> None:
    """Whether ``source`` is a pg_dump archive holding a wijkteam-server store.

    Raises:
        StoreError: missing file, not an archive, or no ``server_state`` table in it.
    """
    if not source.is_file():
        raise StoreError(f"{source} bestaat niet.")
    try:
        out = subprocess.run([tool("pg_restore"), "--list", str(source)], capture_output=True, text=True,
                             timeout=600, check=False)  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        raise StoreError(f"pg_restore kon niet draaien: {exc}") from None
    if out.returncode != 0 or not re.search(r"\bTABLE \S+ server_state\b", out.stdout):
        raise StoreError(f"{source} is geen reservekopie van wijkteam-server op PostgreSQL (pg_dump --format=custom).")


def restore(url: str, source: Path) -> None:
    """Replace the tables of the database of ``url`` by those in the archive ``source``, in one
    transaction (nothing changes when it fails).

    Raises:
        StoreError: pg_restore is missing or failed (its message).
    """
    _run(
        [tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
         f"--dbname={url}", str(source)],
        url,
    )  # fmt: skip
