"""``wijkteam export``: the current meldingen as JSON Lines, CSV or GeoJSON.

Columns are the projection's (``shared.projection.COLUMNS``) without the internal
``status_timeline`` (the barometer's JSON, :data:`EXPORT_COLUMNS`), so the CSV's columns stay where
they were before that column existed: every field, the reference, status, deadline (UTC ISO 8601) and ``event_count`` (number of history
events). The CSV adds ``rd_x``/``rd_y`` (RD New, EPSG:28992, metres, ``shared.geo.rd_columns``)
for the municipality's GIS. ``geojson`` writes one RFC 7946 FeatureCollection (WGS84, ``[lon, lat]``,
``shared.geo.melding_feature``: no melder name, phone or e-mail) of the meldingen that are not
deleted. Rows are streamed, so exporting 100,000 meldingen does not hold them in memory.
"""

from __future__ import annotations

import csv
from typing import TextIO

import msgspec

from shared.geo import iter_feature_collection_json, rd_columns
from wijkteam_store.local import LIST_COLUMNS, LocalStore

FORMATS = ("jsonl", "csv", "geojson")

#: Extra CSV columns after the projection's: the point in RD New metres (empty without a point).
RD_COLUMNS = ("rd_x", "rd_y")

#: The projection columns an export writes (internal bookkeeping left out).
EXPORT_COLUMNS: tuple[str, ...] = tuple(c for c in LIST_COLUMNS if c != "status_timeline")


def export(store: LocalStore, out: TextIO, fmt: str) -> int:
    """Write the meldingen to ``out``.

    Args:
        fmt: ``"jsonl"`` (one JSON object per line) or ``"csv"`` (header row, comma-separated,
            UTF-8, with ``rd_x``/``rd_y``): every melding, deleted ones included with ``deleted`` = 1.
            ``"geojson"``: a FeatureCollection of the meldingen that are not deleted (a melding
            without a point has ``geometry`` null).

    Returns:
        The number of meldingen written.

    Raises:
        ValueError: unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"Onbekend formaat '{fmt}'; kies jsonl, csv of geojson.")
    n = 0
    if fmt == "jsonl":
        enc = msgspec.json.Encoder()
        for row in store.iter_rows():
            out.write(enc.encode({k: row[k] for k in EXPORT_COLUMNS}).decode() + "\n")
            n += 1
    elif fmt == "geojson":

        def counted():
            nonlocal n
            for row in store.iter_rows(include_deleted=False):
                n += 1
                yield row

        out.writelines(iter_feature_collection_json(counted()))
    else:
        writer = csv.DictWriter(
            out, fieldnames=[*EXPORT_COLUMNS, *RD_COLUMNS], lineterminator="\n", extrasaction="ignore"
        )
        writer.writeheader()
        for row in store.iter_rows():
            out_row = {k: ("" if v is None else v) for k, v in row.items()}
            rd_x, rd_y = rd_columns(row.get("lat"), row.get("lon"))
            out_row["rd_x"] = "" if rd_x is None else f"{rd_x:.2f}"
            out_row["rd_y"] = "" if rd_y is None else f"{rd_y:.2f}"
            writer.writerow(out_row)
            n += 1
    return n
