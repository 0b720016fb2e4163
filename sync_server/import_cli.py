"""``wijkteam-server import FILE.csv|FILE.xlsx --mapping MAPPING.toml [--dry-run]``: existing
registrations become real meldingen on the server.

Each row goes through ``shared.importing.read_row`` (the TUI's rules: postcode, house number,
phone, e-mail, texts, the categorie in force) and ``shared.importing.import_events`` (created at the
original registration time, closed at the original closing time, a history note naming file and
line). All rows that pass are stored in one transaction through ``ServerStore.append_server_events``
— so they sync to every laptop — together with their keys in the table ``import_rows``; a row whose
key is there already (the same file imported again, or the same row twice in one file) is skipped,
so nothing is ever created twice. ``--dry-run`` prints what would be created and every refused row
with its reason, and stores nothing.

Table (``sync_server.storage.schema``): ``import_rows``: ``key`` (``kenmerk:…`` or
``inhoud:<sha256>``, see ``shared.importing.ImportRow``), ``melding_id``, ``reference``, ``bron``,
``file``, ``line``, ``imported_at``.

Example mapping and file: ``docs/import/`` (docs/server.md, "Bestaande registraties importeren").
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.commands import DeviceClock
from shared.deadlines import utcnow
from shared.errors import ValidationError
from shared.events import Event
from shared.gemeente import ConfigError, gemeente, read_toml_struct
from shared.importing import (
    ImportMapping,
    ImportRow,
    RowRefusal,
    check_mapping,
    import_events,
    is_empty,
    read_row,
)
from shared.model import Adres, Punt
from shared.projection import iso
from sync_server import audit
from sync_server.store import ServerStore, StoreError


@dataclass
class ImportResult:
    """What an import did (or, with ``dry_run``, would do).

    Attributes:
        created: ``(row, reference)`` per melding created (reference ``None`` in a dry run).
        refused: rows not imported, with the reason.
        already: rows skipped because they were imported before (``(line, reference)``).
        duplicates: rows skipped because an earlier row of the same file is the same (``(line, first line)``).
        empty: rows without any value, skipped silently.
    """

    created: list[tuple[ImportRow, str | None]] = field(default_factory=list)
    refused: list[RowRefusal] = field(default_factory=list)
    already: list[tuple[int, str]] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    empty: int = 0


def read_table(path: Path, mapping: ImportMapping) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a .csv or .xlsx file below the header row: ``(line, {header: value})``.

    CSV: UTF-8 (with or without BOM), else Windows-1252 (what Excel writes in the Netherlands);
    separator from the mapping or the header row (``;`` or ``,``). XLSX: the mapping's sheet or
    the first; date cells arrive as dates.

    Raises:
        StoreError: unreadable file, unknown sheet, or a header row without the mapping's columns.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            rows = _xlsx_rows(path, mapping.blad)
        elif suffix in (".csv", ".txt"):
            rows = _csv_rows(path, mapping.scheidingsteken, mapping.kopregel)
        else:
            raise StoreError(f"{path.name}: alleen .csv en .xlsx kunnen worden ingelezen.")
    except OSError as exc:
        raise StoreError(f"Kan {path} niet lezen: {exc.strerror or exc}.") from None
    if len(rows) < mapping.kopregel:
        raise StoreError(f"{path.name} heeft geen regel {mapping.kopregel} met kolomkoppen.")
    header = [str(h).strip() if h is not None else "" for h in rows[mapping.kopregel - 1]]
    wanted = {c for c in msgspec_fields(mapping) if c}
    missing = sorted(wanted - set(header))
    if missing:
        raise StoreError(
            f"{path.name}: de kolom(men) {', '.join(repr(m) for m in missing)} uit de mapping staan niet in de "
            f"kopregel (regel {mapping.kopregel}: {', '.join(h for h in header if h)})."
        )
    out = []
    for offset, values in enumerate(rows[mapping.kopregel :], start=mapping.kopregel + 1):
        out.append((offset, {h: (values[i] if i < len(values) else None) for i, h in enumerate(header) if h}))
    return out


def msgspec_fields(mapping: ImportMapping) -> list[str]:
    """The column headers the mapping names."""
    import msgspec

    return [v for v in msgspec.structs.asdict(mapping.kolommen).values() if isinstance(v, str)]


def _csv_rows(path: Path, sep: str | None, kopregel: int) -> list[list[Any]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    lines = text.splitlines()
    header = lines[kopregel - 1] if len(lines) >= kopregel else ""
    sep = sep or (";" if header.count(";") >= header.count(",") else ",")
    return [row for row in csv.reader(io.StringIO(text), delimiter=sep)]


def _xlsx_rows(path: Path, sheet: str | None) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise StoreError(f"{path.name} is geen leesbaar .xlsx-bestand ({exc.__class__.__name__}).") from None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise StoreError(f"{path.name} heeft geen blad '{sheet}' (wel: {', '.join(wb.sheetnames)}).")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        return [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def _resolve_wijk(adres: Adres | None, punt: Punt | None) -> str | None:
    b = gemeente().wijken.resolve(adres, punt)
    return b.wijk if b.status == "wijk" else None


def run_import(store: ServerStore, path: Path, mapping: ImportMapping, *, dry_run: bool, user: str) -> ImportResult:
    """Read ``path`` by ``mapping`` and create its meldingen (nothing when ``dry_run``).

    Raises:
        StoreError: the file cannot be read, or the mapping does not fit it.
        ValidationError: the mapping names a categorie that is unknown or retired.
    """
    g = gemeente()
    check_mapping(mapping, g.taxonomy)
    lookup = store.gazetteer_address
    result = ImportResult()
    seen: dict[str, int] = {}
    todo: list[ImportRow] = []
    now = utcnow()
    for line, row in read_table(path, mapping):
        if is_empty(row):
            result.empty += 1
            continue
        got = read_row(row, line, mapping, g.taxonomy, lookup=lookup, resolve_wijk=_resolve_wijk, now=now)
        if isinstance(got, RowRefusal):
            result.refused.append(got)
            continue
        if got.key in seen:
            result.duplicates.append((line, seen[got.key]))
            continue
        seen[got.key] = line
        known = store.imported_reference(got.key)
        if known:
            result.already.append((line, known))
            continue
        todo.append(got)
    if dry_run or not todo:
        result.created = [(r, None) for r in todo]
        return result
    made: list[tuple[ImportRow, list[Event]]] = []
    refused_in_build: list[RowRefusal] = []

    def build(dev: DeviceClock, next_counter: Any) -> list[Event]:
        made.clear()  # a transaction run again (a lost deadlock on PostgreSQL) builds afresh
        refused_in_build.clear()
        events: list[Event] = []
        for r in todo:
            try:
                evs = import_events(
                    dev, r, prefix=g.prefix, counter=next_counter(), taxonomy=g.taxonomy,
                    file_label=path.name, bron=mapping.bron,
                )  # fmt: skip
            except ValidationError as exc:
                refused_in_build.append(RowRefusal(r.line, f"{exc.field}: {exc.message}"))
                continue
            made.append((r, evs))
            events.extend(evs)
        return events

    def bookkeeping(_: list[Event]) -> list[tuple[Any, ...]]:
        at = iso(utcnow())
        return [(r.key, evs[0].melding_id, evs[0].payload["reference"], mapping.bron, path.name, r.line, at) for r, evs in made]

    store.append_server_events(user, build, imported=bookkeeping)
    result.created = [(r, evs[0].payload["reference"]) for r, evs in made]
    result.refused.extend(refused_in_build)
    result.refused.sort(key=lambda x: x.line)
    return result


def describe_row(row: ImportRow) -> str:
    """One Dutch line for a row that is (or would be) created."""
    from shared.deadlines import AMS

    f = row.fields
    parts = [row.registered_at.astimezone(AMS).strftime("%d-%m-%Y %H:%M")]
    if f.categorie:
        parts.append(g_label(f.categorie))
    where = f.adres.oneline() if f.adres else (f.locatie_omschrijving or "")
    if where:
        parts.append(where)
    if f.wijk:
        parts.append(f"wijk {f.wijk}")
    status = row.status.label
    if row.closed_at:
        status += " " + row.closed_at.astimezone(AMS).strftime("%d-%m-%Y")
    parts.append(status)
    return " · ".join(parts)


def g_label(code: str) -> str:
    """The categorie's label in the configuration in force (the code when unknown)."""
    tax = gemeente().taxonomy
    return tax.get(code).label if code in tax else code


def _run(args: argparse.Namespace) -> int:
    from sync_server.cli_common import open_store

    try:
        mapping = read_toml_struct(args.mapping, ImportMapping)
    except ConfigError as exc:
        print(f"Fout in de mapping: {exc.message}", file=sys.stderr)
        return 1
    store = open_store(args)
    try:
        user = f"import:{audit.os_user()}"
        result = run_import(store, Path(args.file), mapping, dry_run=args.dry_run, user=user)
        if not args.dry_run:
            audit.record_cli(
                store, "import", f"{len(result.created)} meldingen uit {Path(args.file).name}, {len(result.refused)} geweigerd"
            )
    except ValidationError as exc:
        print(f"Fout in de mapping: {exc.message}", file=sys.stderr)
        return 1
    finally:
        store.close()
    verb = "zou worden aangemaakt" if args.dry_run else "aangemaakt"
    for row, ref in result.created:
        print(f"regel {row.line}: {verb}{' als ' + ref if ref else ''}: {describe_row(row)}")
    if args.dry_run and len(result.created) != 1:
        verb = "zouden worden aangemaakt"
    for r in result.refused:
        print(f"regel {r.line}: geweigerd: {r.reason}")
    for line, first in result.duplicates:
        print(f"regel {line}: overgeslagen: gelijk aan regel {first}")
    for line, ref in result.already:
        print(f"regel {line}: overgeslagen: eerder geïmporteerd als {ref}")
    summary = (
        f"{len(result.created)} melding{'en' if len(result.created) != 1 else ''} {verb}, "
        f"{len(result.refused)} geweigerd, {len(result.duplicates)} dubbel in het bestand, "
        f"{len(result.already)} eerder geïmporteerd, {result.empty} lege regel{'s' if result.empty != 1 else ''}."
    )
    print(("Proef (--dry-run), er is niets opgeslagen: " if args.dry_run else "") + summary)
    if result.created and not args.dry_run:
        print("De meldingen gaan bij de volgende sync naar de laptops.")
    return 0


def configure(sub: Any) -> None:
    """Add ``import FILE --mapping MAPPING [--dry-run]`` to ``wijkteam-server``."""
    from sync_server.cli_common import add_command

    p = add_command(sub, "import", "maak meldingen van een bestaande registratie (CSV of XLSX) met een mapping")
    p.add_argument("file", type=Path, help="het bestand: .csv of .xlsx")
    p.add_argument("--mapping", type=Path, required=True, help="mapping (TOML): welke kolom wat is; zie docs/import/")
    p.add_argument("--dry-run", action="store_true", help="toon wat er zou gebeuren, sla niets op")
    p.set_defaults(func=_run)
