"""``wijkteam export``: the current meldingen as CSV, JSON Lines or GeoJSON.

* ``csv``: a table for people, by the CSV rules of ``shared.csvexport`` (UTF-8 with BOM, ``;`` and a
  decimal comma — ``,`` with ``comma=True`` —, Europe/Amsterdam dates, formula injection
  neutralised): labels instead of codes, no internal columns (ids, device, clocks, counters), the
  point also in RD New metres (EPSG:28992) for the municipality's GIS. Deleted meldingen are left
  out. Columns: ``shared.csvexport.melding_columns``.
* ``jsonl``: the machine format, one projection row (``shared.projection.COLUMNS``) per line without
  the internal ``status_timeline``; deleted meldingen included with ``deleted`` = 1.
* ``geojson``: one RFC 7946 FeatureCollection (WGS84, ``[lon, lat]``, ``shared.geo.melding_feature``:
  no reporter data) of the meldingen that are not deleted.

The reporter's name, phone number and e-mail address are written (csv and jsonl) only with
``personal=True`` (``--met-persoonsgegevens``); the command line then first records the export in the
server's audit (:func:`audit_on_server`) and writes nothing when that fails — see docs/server.md.
Rows are streamed, so exporting 100,000 meldingen does not hold them in memory.
"""

from __future__ import annotations

from typing import TextIO

import msgspec

from shared.csvexport import CsvWriter, melding_columns, melding_values, style
from shared.geo import iter_feature_collection_json
from wijkteam_store.local import LIST_COLUMNS, LocalStore

FORMATS = ("csv", "jsonl", "geojson")

#: The projection columns a JSON Lines export writes (internal bookkeeping left out).
EXPORT_COLUMNS: tuple[str, ...] = tuple(c for c in LIST_COLUMNS if c != "status_timeline")

#: Projection columns holding the reporter's personal data (left out unless asked for).
PERSONAL_FIELDS: tuple[str, ...] = ("melder_naam", "melder_telefoon", "melder_email")

#: Server route that records an export with personal data in the audit (``sync_server.routes.reports``).
AUDIT_PATH = "/api/v1/audit/exports"


class ExportRefused(Exception):
    """The export with personal data could not be recorded on the server (Dutch ``message``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def export(store: LocalStore, out: TextIO, fmt: str, *, personal: bool = False, comma: bool = False) -> int:
    """Write the meldingen to ``out`` (a text stream opened with ``newline=""``).

    Args:
        fmt: ``"csv"``, ``"jsonl"`` or ``"geojson"`` (see the module docstring).
        personal: include the reporter's name, phone and e-mail (csv, jsonl).
        comma: CSV with ``,`` and a decimal point instead of ``;`` and a decimal comma.

    Returns:
        The number of meldingen written.

    Raises:
        ValueError: unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"Onbekend formaat '{fmt}'; kies csv, jsonl of geojson.")
    n = 0
    if fmt == "jsonl":
        enc = msgspec.json.Encoder()
        cols = EXPORT_COLUMNS if personal else tuple(c for c in EXPORT_COLUMNS if c not in PERSONAL_FIELDS)
        for row in store.iter_rows():
            out.write(enc.encode({k: row[k] for k in cols}).decode() + "\n")
            n += 1
    elif fmt == "geojson":

        def counted():
            nonlocal n
            for row in store.iter_rows(include_deleted=False):
                n += 1
                yield row

        out.writelines(iter_feature_collection_json(counted()))
    else:
        writer = CsvWriter(out, style(comma))
        writer.header(melding_columns(personal))
        for row in store.iter_rows(include_deleted=False):
            writer.row(melding_values(row, personal))
        n = writer.rows
    return n


def audit_on_server(server_url: str | None, token: str | None, *, fmt: str, count: int, device: str | None,
                    timeout_s: float = 10.0, transport=None) -> str:
    """Record on the server that this laptop exports ``count`` meldingen with personal data
    (``POST /api/v1/audit/exports``), before anything is written. Returns the server's Dutch receipt.

    Raises:
        ExportRefused: no server configured, no connection, or the server refused (its ``detail``).
    """
    import httpx

    from wijkteam_tui import server_client

    if not (server_url and token):
        raise ExportRefused(
            "Exporteren met persoonsgegevens kan alleen met een ingestelde server (F9): "
            "de export wordt daar vastgelegd."
        )
    body = {"format": fmt, "count": count, "device": device or ""}
    try:
        with server_client.client(server_url, token, timeout_s=timeout_s, transport=transport) as client:
            r = client.post(AUDIT_PATH, json=body)
    except httpx.HTTPError:
        raise ExportRefused(
            "De server is niet bereikbaar; een export met persoonsgegevens wordt daar eerst vastgelegd. "
            "Probeer het opnieuw met verbinding, of exporteer zonder --met-persoonsgegevens."
        ) from None
    if r.status_code not in (200, 201):
        try:
            detail = r.json().get("detail") or ""
        except ValueError:
            detail = ""
        raise ExportRefused(f"De server legt de export niet vast ({r.status_code}){': ' + detail if detail else ''}.")
    try:
        return str(r.json().get("detail") or "Vastgelegd in het auditlog van de server.")
    except ValueError:
        return "Vastgelegd in het auditlog van de server."
