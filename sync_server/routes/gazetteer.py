"""``GET /api/v1/gazetteer``: the municipality's addresses for laptops (offline look-up); any valid token.

* ``GET /api/v1/gazetteer`` → ``text/csv`` in ``shared.gazetteer.CANONICAL_COLUMNS`` order (WGS84
  with 7 decimals), read back with ``shared.gazetteer.parse_gazetteer_csv``. ``ETag`` is the
  import's version; send ``If-None-Match`` to get 304 when the laptop's copy is current.
  ``X-Wijkteam-Sample: 1`` marks made-up sample data. 404 with a Dutch ``detail`` before the first
  import.
* ``GET /api/v1/gazetteer/info`` → ``{"count", "version", "imported_at", "sample"}`` (cheap check).

Loaded by ``wijkteam-server gazetteer import FILE`` (``sync_server.gazetteer_cli``).
"""

from __future__ import annotations

import threading
from typing import Annotated

import msgspec
from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

from shared.gazetteer import to_csv_text
from sync_server import openapi
from sync_server.gazetteer_cli import gazetteer_rows
from sync_server.storage.api import Store

CSV = "text/csv; charset=utf-8"
_NOT_LOADED = "Nog geen adresbestand geladen; de beheerder laadt het met 'wijkteam-server gazetteer import BESTAND'."

# The CSV of the current version, so repeated downloads do not rebuild it (keyed by db path + version).
_cache: dict[tuple[str, str], bytes] = {}
_cache_lock = threading.Lock()


class GazetteerInfo(msgspec.Struct):
    """What is loaded: number of addresses, version (the download's ETag), UTC import time, sample flag."""

    count: int
    version: str
    imported_at: str
    sample: bool


def _etag(version: str) -> str:
    return f'"{version}"'


_NOT_LOADED_404 = openapi.route(errors={404: "Nog geen adresbestand geladen."})


@get(
    "/api/v1/gazetteer/info",
    sync_to_thread=True,
    tags=["adressen"],
    summary="Wat er aan adressen geladen is",
    opt=_NOT_LOADED_404,
)
def gazetteer_info(store: Store) -> GazetteerInfo:
    """Count, version and import time of the loaded gazetteer; 404 before the first import."""
    meta = store.gazetteer_meta()
    if not meta:
        raise NotFoundException(detail=_NOT_LOADED)
    return GazetteerInfo(int(meta["count"]), meta["version"], meta["imported_at"], meta.get("sample") == "1")


@get(
    "/api/v1/gazetteer",
    sync_to_thread=True,
    tags=["adressen"],
    summary="Download het adresbestand (CSV)",
    media_type=CSV,
    responses={304: ResponseSpec(None, description="De laptop heeft deze versie al (If-None-Match).")},
    opt=_NOT_LOADED_404,
)
def gazetteer_download(
    store: Store,
    if_none_match: Annotated[
        str | None, HeaderParameter(name="If-None-Match", description="ETag van de versie die de laptop heeft")
    ] = None,
) -> Response[bytes]:
    """The whole gazetteer as CSV (see the module docstring); 304 when ``If-None-Match`` matches."""
    meta = store.gazetteer_meta()
    if not meta:
        raise NotFoundException(detail=_NOT_LOADED)
    etag = _etag(meta["version"])
    headers = {"ETag": etag, "X-Wijkteam-Sample": "1" if meta.get("sample") == "1" else "0", "Cache-Control": "no-cache"}
    if if_none_match == etag:
        return Response(content=b"", status_code=304, headers=headers)
    key = (store.describe(), meta["version"])
    with _cache_lock:
        body = _cache.get(key)
    if body is None:
        body = to_csv_text(gazetteer_rows(store)).encode("utf-8")
        with _cache_lock:
            _cache.clear()
            _cache[key] = body
    return Response(content=body, media_type=CSV, headers=headers)


ROUTES = [gazetteer_info, gazetteer_download]
