"""The Litestar application: ``create_app(settings)``.

Used by ``wijkteam-server serve`` (under uvicorn) and by the tests (``litestar.testing``). The store is
opened in the lifespan and reachable in handlers as the dependency ``store``; the token's user is
``request.user`` (``sync_server.auth``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import Provide

from shared.protocol import PROTOCOL_VERSION
from sync_server.auth import AuthMiddleware
from sync_server.errors import EXCEPTION_HANDLERS
from sync_server.gemeente_config import activate_stored
from sync_server.logs import AccessLog
from sync_server.openapi import openapi_config
from sync_server.settings import Settings
from sync_server.snapshot import SnapshotService, snapshot_dir
from sync_server.storage.api import Store
from sync_server.store import ServerStore


def _store(state: State) -> Store:
    return state.store


def _settings(state: State) -> Settings:
    return state.settings


def _snapshots(state: State) -> SnapshotService:
    return state.snapshots


#: Where the OpenAPI page's own scripts and style are served from (no CDN: the page works offline).
SCHEMA_ASSETS = "/schema/static"


def _swagger_offline() -> Any:
    """Swagger UI for ``/schema`` with its assets from the ``swagger-ui-bundle`` package, served by
    this server under :data:`SCHEMA_ASSETS` (Litestar's default loads them from a CDN)."""
    from litestar.openapi.plugins import SwaggerRenderPlugin

    return SwaggerRenderPlugin(
        path=["/", "/swagger"],
        js_url=f"{SCHEMA_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{SCHEMA_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{SCHEMA_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{SCHEMA_ASSETS}/favicon-32x32.png'>",
    )


def _schema_assets() -> Any:
    """The static-files router for :data:`SCHEMA_ASSETS` (public, like ``/schema``)."""
    import swagger_ui_bundle
    from litestar.static_files import create_static_files_router

    return create_static_files_router(
        path=SCHEMA_ASSETS, directories=[swagger_ui_bundle.swagger_ui_path], include_in_schema=False, name="schema-assets"
    )


def create_app(settings: Settings, *, store: ServerStore | None = None) -> Litestar:
    """The server app for ``settings``.

    Args:
        settings: where the database is (created with its schema on first start).
        store: an already open store (tests inject one with a fake clock); default opens
            ``settings.db_path`` and closes it at shutdown.
    """
    from sync_server.routes import ROUTERS

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own = store is None
        app.state.store = store or ServerStore(settings.db_path)
        activate_stored(app.state.store)
        # The laptop snapshot: served from its folder, rebuilt by a process of its own when it lags.
        app.state.snapshots = SnapshotService(
            settings.db_path,
            snapshot_dir(settings.db_path, settings.snapshot_dir),
            lag=settings.snapshot_lag,
            check_s=settings.snapshot_check_s,
            store=app.state.store,
        )
        app.state.snapshots.start()
        try:
            yield
        finally:
            app.state.snapshots.stop()
            if own:
                app.state.store.close()

    def follow_config(request: Request) -> None:
        # An admin imports a new configuration version with the CLI while the server runs: the next
        # request puts it in force (one indexed read; the document is decoded once per version).
        activate_stored(request.app.state.store)

    app = Litestar(
        route_handlers=[*ROUTERS, _schema_assets()],
        before_request=follow_config,
        lifespan=[lifespan],
        middleware=[AuthMiddleware],
        dependencies={
            "store": Provide(_store, sync_to_thread=False),
            "settings": Provide(_settings, sync_to_thread=False),
            "snapshots": Provide(_snapshots, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"settings": settings}),
        openapi_config=openapi_config(
            title="wijkteam-server",
            version=f"1 (syncprotocol {PROTOCOL_VERSION})",
            description="Sync, KCC-opvraag, openbare status en rapportages van Wijkteam.",
            path="/schema",
            render_plugins=[_swagger_offline()],
        ),
        request_max_body_size=settings.max_body_bytes,
        debug=settings.debug,
    )
    # One log line per request, outside routing so unmatched paths and errors are logged too.
    app.asgi_handler = AccessLog(app.asgi_handler)
    return app
