"""Every route of the server, registered in one place.

To add routes, write a module in this package (a ``Controller``, ``Router`` or handler functions) and
add it to ``ROUTERS`` with one line. Guard each with ``sync_server.auth.requires_role(...)``; public
routes live under ``/api/v1/public/`` or carry ``opt={"public": True}`` (see ``sync_server.auth``).
Handlers get the store by declaring a parameter ``store: Store`` (``sync_server.storage.api``) and the settings with
``settings: Settings``.
"""

from __future__ import annotations

from typing import Any

from sync_server.routes import config, gazetteer, kcc, open311, public, reports, system
from sync_server.routes.snapshot import SnapshotController
from sync_server.routes.sync import SyncController

ROUTERS: list[Any] = [
    *system.ROUTES,
    SyncController,
    SnapshotController,
    *kcc.ROUTES,
    *public.ROUTES,
    *open311.ROUTES,
    *gazetteer.ROUTES,
    *config.ROUTES,
    *reports.ROUTES,
]
