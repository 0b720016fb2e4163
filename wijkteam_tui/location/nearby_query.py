"""The nearby-duplicate query on a ``meldingen`` projection table (laptop or server: same columns).

The SQL narrows to open, not-deleted meldingen of the categorie inside a box around the point
registered in the last 12 weeks (``shared.nearby.candidate_bounds``); ``shared.nearby.find_nearby``
then applies the exact rule (50 m, status open). The intake calls :func:`nearby_candidates` once a
melding has a point and a categorie, and shows the hits with
``wijkteam_tui.location.widgets.NearbyModal``.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from shared.nearby import NearbyHit, candidate_bounds, find_nearby

_COLUMNS = (
    "melding_id", "reference", "registered_at", "categorie", "status", "deleted", "lat", "lon",
    "straat", "huisnummer", "huisletter", "huisnummertoevoeging", "postcode", "woonplaats",
    "locatie_omschrijving", "omschrijving",
)


def nearby_candidates(
    conn: sqlite3.Connection,
    *,
    lat: float,
    lon: float,
    categorie: str,
    now: datetime,
    exclude_id: str | None = None,
) -> list[NearbyHit]:
    """Possible duplicates of a melding at WGS84 (lat, lon) with ``categorie``, closest first.

    ``conn`` is a connection to a database with the ``meldingen`` projection
    (``shared.projection.COLUMNS``); ``now`` is aware UTC; ``exclude_id`` leaves out the melding
    itself (when re-checking a saved one). Read-only.
    """
    b = candidate_bounds(lat, lon, now)
    cur = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM meldingen "
        "WHERE categorie = ? AND is_open = 1 AND deleted = 0 "
        "AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? AND registered_at >= ?",
        (categorie, b["min_lat"], b["max_lat"], b["min_lon"], b["max_lon"], b["since"]),
    )
    rows = [dict(zip(_COLUMNS, r, strict=True)) for r in cur.fetchall()]
    return find_nearby(rows, lat=lat, lon=lon, categorie=categorie, now=now, exclude_id=exclude_id)
