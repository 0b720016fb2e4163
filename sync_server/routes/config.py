"""``GET /api/v1/config``: the municipality configuration in force, for laptops; any valid token.

* ``GET /api/v1/config`` → ``application/json``: the document of ``shared.gemeente.encode_config``
  (version, naam, prefix, taxonomy, wijken with polygons, …). ``ETag`` names the version and its
  content; a laptop sends it back as ``If-None-Match`` and gets ``304`` while nothing changed, so a
  sync costs one small request. Before the first ``wijkteam-server config import`` it is the package
  default (version 0).
* ``GET /api/v1/config/info`` → ``{"version", "etag", "naam", "imported_at"}`` (a cheap check).

Loaded by ``wijkteam-server config import`` (``sync_server.gemeente_config``). ``/ready`` gets the
check ``configuratie``: the configuration in force loads (:func:`config_loaded`).
"""

from __future__ import annotations

import msgspec
from litestar import Request, Response, get

from shared.gemeente import ConfigError, GemeenteConfig
from sync_server.gemeente_config import stored
from sync_server.routes.system import READY_CHECKS, Check
from sync_server.settings import Settings
from sync_server.storage.api import Store
from sync_server.storage.engines import database_errors

#: Header naming the version of the document (also in the ETag), for logs and clients.
VERSION_HEADER = "X-Wijkteam-Config-Version"


class ConfigInfo(msgspec.Struct):
    """Which configuration is in force: version (0: package default), ETag, municipality, UTC import time."""

    version: int
    etag: str
    naam: str
    imported_at: str


@get("/api/v1/config/info", sync_to_thread=True, tags=["configuratie"], summary="Welke gemeenteconfiguratie geldt")
def config_info(store: Store) -> ConfigInfo:
    """Version, ETag, municipality name and import time of the configuration in force."""
    cur = stored(store)
    return ConfigInfo(cur.version, cur.etag, cur.config.naam, cur.imported_at)


@get("/api/v1/config", sync_to_thread=True, tags=["configuratie"], summary="Download de gemeenteconfiguratie (JSON)")
def config_download(request: Request, store: Store) -> Response[GemeenteConfig]:
    """The configuration document; 304 when ``If-None-Match`` names the current ETag.

    The body is the stored canonical JSON as is (bytes pass through); the annotation documents its
    shape in the OpenAPI schema."""
    cur = stored(store)
    headers = {"ETag": cur.etag, VERSION_HEADER: str(cur.version), "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == cur.etag:
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=cur.body, media_type="application/json", headers=headers)


def config_loaded(store: Store, _: Settings) -> Check:
    """The newest stored configuration decodes and passes validation (a ``/ready`` check)."""
    name = "configuratie"
    try:
        cur = stored(store)
        config = cur.config
    except ConfigError as exc:
        return Check(name, False, f"De gemeenteconfiguratie is onbruikbaar: {exc.message}")
    except database_errors() as exc:
        return Check(name, False, f"De gemeenteconfiguratie is niet te lezen: {exc}.")
    return Check(name, True, f"Gemeenteconfiguratie versie {cur.version} ({config.naam}) geladen.")


READY_CHECKS.append(config_loaded)

ROUTES = [config_info, config_download]
