"""``wijkteam-server gazetteer import FILE`` and ``gazetteer info``: the municipality's addresses.

The admin loads a BAG-derived CSV (layouts: ``shared.gazetteer``, docs/location.md) into the server
database; laptops download it from ``GET /api/v1/gazetteer`` (``sync_server.routes.gazetteer``) and
keep it for offline look-up.

Tables (``sync_server.storage.schema``):

* ``gazetteer``: one row per address (``openbare_ruimte``, ``huisnummer``, ``huisletter``,
  ``huisnummertoevoeging``, ``postcode``, ``woonplaats``, ``gemeente``, ``bag_id``, ``lat``, ``lon``
  WGS84 with 7 decimals), indexed on (postcode, huisnummer).
* ``gazetteer_meta``: ``version`` (sha256 of the canonical CSV, the download's ETag), ``count``,
  ``imported_at`` (UTC), ``source`` (file name), ``sample`` (``1`` for the made-up sample).

An import replaces the whole gazetteer in one transaction (``ServerStore.replace_gazetteer``): either every good row
is in, or (on any failure) the previous gazetteer stays as it was. Bad rows are reported with their
line number and skipped; a file without a single good row is refused.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from shared.gazetteer import (
    GazetteerAdres,
    GazetteerFormatError,
    RowError,
    read_gazetteer_csv,
    to_csv_text,
)
from sync_server.storage.engines import database_errors
from sync_server.store import ServerStore, StoreError


def _is_shipped_sample(path: Path) -> bool:
    try:
        shipped = Path(str(resources.files("shared").joinpath("data/sample_gazetteer.csv")))
        return path.resolve() == shipped.resolve()
    except OSError:
        return False


def gazetteer_import(
    db: str | Path,
    csv_path: str | Path,
    *,
    sample: bool | None = None,
    report: Callable[[RowError], None] | None = None,
) -> int:
    """Replace the server's gazetteer with the addresses of ``csv_path``; returns the number loaded.

    Args:
        db: the server database (a SQLite file, created with the server schema when missing, or a
            PostgreSQL URL).
        csv_path: a BAG-derived CSV (``shared.gazetteer`` layouts).
        sample: mark the data as made-up sample data; default: True only for the shipped sample file.
        report: called with each skipped row (line number + Dutch reason); default prints to stderr.

    Raises:
        StoreError: the file cannot be read, lacks required columns, or has no good row; the
            gazetteer in the database is then left unchanged.
    """
    csv_path = Path(csv_path)
    report = report or (lambda e: print(f"Overgeslagen {e}", file=sys.stderr))
    try:
        result = read_gazetteer_csv(csv_path)
    except GazetteerFormatError as exc:
        raise StoreError(f"{csv_path.name}: {exc.message}") from None
    except OSError as exc:
        raise StoreError(f"Kan {csv_path} niet lezen: {exc.strerror or exc}.") from None
    for err in result.errors:
        report(err)
    if not result.adressen:
        raise StoreError(f"{csv_path.name} bevat geen enkel geldig adres; het bestaande adresbestand blijft staan.")
    if sample is None:
        sample = _is_shipped_sample(csv_path)
    version = hashlib.sha256(to_csv_text(result.adressen).encode("utf-8")).hexdigest()
    rows = [
        (a.straat, a.huisnummer, a.huisletter, a.huisnummertoevoeging, a.postcode, a.woonplaats, a.gemeente,
         a.bag_id, a.lat, a.lon)
        for a in result.adressen
    ]
    meta = {
        "version": version,
        "count": str(len(rows)),
        "imported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": csv_path.name,
        "sample": "1" if sample else "0",
        "skipped": str(len(result.errors)),
    }
    store = ServerStore(db)
    try:
        store.replace_gazetteer(rows, meta)
    except database_errors() as exc:
        raise StoreError(f"Laden mislukt ({exc}); het bestaande adresbestand is ongewijzigd.") from None
    finally:
        store.close()
    return len(rows)


def gazetteer_rows(store: ServerStore) -> list[GazetteerAdres]:
    """Every stored address, ordered by woonplaats, street, number (the download's order)."""
    return [
        GazetteerAdres(straat=r[0], huisnummer=r[1], huisletter=r[2], huisnummertoevoeging=r[3], postcode=r[4],
                       woonplaats=r[5], gemeente=r[6], bag_id=r[7], lat=r[8], lon=r[9])
        for r in store.gazetteer_rows()
    ]  # fmt: skip


# -- CLI -----------------------------------------------------------------------------------------------


def _import(args: argparse.Namespace) -> int:
    from sync_server.cli_common import db_path

    skipped: list[RowError] = []

    def report(err: RowError) -> None:
        skipped.append(err)
        print(f"Overgeslagen {err}", file=sys.stderr)

    n = gazetteer_import(db_path(args), args.file, sample=True if args.sample else None, report=report)
    extra = f"; {len(skipped)} regel(s) overgeslagen" if skipped else ""
    from sync_server import audit
    from sync_server.cli_common import open_store

    store = open_store(args)
    try:
        audit.record_cli(store, "gazetteer_import", f"{n} adressen uit {Path(args.file).name}{extra}")
    finally:
        store.close()
    print(f"{n} adressen geladen uit {args.file}{extra}.")
    return 0


def _info(args: argparse.Namespace) -> int:
    from sync_server.cli_common import open_store

    store = open_store(args)
    try:
        meta = store.gazetteer_meta()
    finally:
        store.close()
    if not meta:
        print("Nog geen adresbestand geladen: wijkteam-server gazetteer import BESTAND.")
        return 0
    label = " (VOORBEELDADRESSEN)" if meta.get("sample") == "1" else ""
    print(f"{meta['count']} adressen uit {meta['source']}{label}, geladen {meta['imported_at']}, versie {meta['version'][:12]}.")
    return 0


def configure(sub: Any) -> None:
    """Add ``gazetteer import FILE`` and ``gazetteer info`` to ``wijkteam-server`` (``sync_server.cli.COMMANDS``)."""
    from sync_server.cli_common import add_command

    p = sub.add_parser("gazetteer", help="het adresbestand (BAG) van de gemeente", description="adresbestand (BAG)")
    g = p.add_subparsers(dest="gazetteer_command", required=True, metavar="{import,info}")
    imp = add_command(g, "import", "laad een BAG-adresbestand (CSV) en vervang het huidige")
    imp.add_argument("file", type=Path, help="CSV-bestand (kolommen: zie docs/location.md)")
    imp.add_argument("--sample", action="store_true", help="markeer als verzonnen voorbeeldadressen")
    imp.set_defaults(func=_import)
    add_command(g, "info", "toon wat er geladen is").set_defaults(func=_info)
