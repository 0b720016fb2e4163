"""``GET /health`` (liveness), ``GET /ready`` (can the server do its work) and ``GET /api/v1/me``.

``/health`` answers as long as the process runs and can read its database: a load balancer or
systemd watchdog uses it to see the process is alive. ``/ready`` says whether the server can also
*store* what it is sent; each check in :data:`READY_CHECKS` gives a :class:`Check`, and the answer
is 200 when all pass, 503 otherwise (with every check and a Dutch ``detail`` naming what fails).
Other modules add their check by appending a function ``(store, settings) -> Check`` to
``READY_CHECKS`` (e.g. "configuration loaded").
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

import msgspec
from litestar import MediaType, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from shared.protocol import PROTOCOL_VERSION
from sync_server.settings import Settings
from sync_server.storage.api import Store
from sync_server.store import StorageUnavailable, TokenInfo


class Health(msgspec.Struct):
    """``status`` is ``"ok"`` once the database is open; ``protocol`` is the sync protocol version."""

    status: str
    protocol: int
    events: int


class Me(msgspec.Struct):
    """The token's user: name, role and the laptop's device code (``None`` for kcc/manager)."""

    name: str
    role: str
    device_code: str | None


@get("/health", sync_to_thread=True, tags=["systeem"], opt={"public": True})
def health(store: Store) -> Health:
    """Readiness probe: answers once the server can read its database."""
    return Health(status="ok", protocol=PROTOCOL_VERSION, events=store.max_server_seq())


class Check(msgspec.Struct):
    """One readiness check: ``name`` (``database_schrijfbaar``, ``schijfruimte``, …), ``ok`` and a
    Dutch ``detail`` for the admin."""

    name: str
    ok: bool
    detail: str


class Ready(msgspec.Struct):
    """``status`` ``"ok"`` or ``"niet gereed"``; ``detail`` names the failing checks in Dutch."""

    status: str
    detail: str
    checks: list[Check]


def database_writable(store: Store, _: Settings) -> Check:
    """A tiny durable write succeeds, and no write failed since the last one that succeeded."""
    name = "database_schrijfbaar"
    try:
        store.probe_write()
    except StorageUnavailable as exc:
        return Check(name, False, exc.message)
    return Check(name, True, "De database kan worden geschreven.")


def disk_space(store: Store, settings: Settings) -> Check:
    """Free space on the file system of the database is at least ``settings.min_free_bytes``."""
    name = "schijfruimte"
    try:
        free = shutil.disk_usage(store.path.parent).free
    except OSError as exc:
        return Check(name, False, f"Schijfruimte onbekend: {exc.strerror or exc}.")
    need = settings.min_free_bytes
    mb = 1024 * 1024
    if free < need:
        return Check(
            name, False,
            f"Nog {free // mb} MB vrij bij de database, minder dan de ondergrens van {need // mb} MB: "
            "maak ruimte vrij voordat de schijf vol is.",
        )  # fmt: skip
    return Check(name, True, f"{free // mb} MB vrij (ondergrens {need // mb} MB).")


#: The checks of ``/ready``, in order.
READY_CHECKS: list[Callable[[Store, Settings], Check]] = [database_writable, disk_space]


@get(
    "/ready",
    sync_to_thread=True,
    tags=["systeem"],
    opt={"public": True},
    summary="Kan de server opslaan (database schrijfbaar, genoeg schijfruimte)",
    responses={503: ResponseSpec(Ready, description="Niet gereed: 'detail' en 'checks' zeggen wat faalt.")},
)
def ready(store: Store, settings: Settings) -> Response[Ready]:
    """200 when every check passes; 503 with the failing checks otherwise."""
    checks = [check(store, settings) for check in READY_CHECKS]
    failing = [c for c in checks if not c.ok]
    answer = Ready(
        status="niet gereed" if failing else "ok",
        detail=" ".join(c.detail for c in failing) if failing else "Gereed.",
        checks=checks,
    )
    return Response(answer, status_code=503 if failing else 200, media_type=MediaType.JSON)


@get("/api/v1/me", sync_to_thread=False, tags=["systeem"])
def me(request: Request) -> Me:
    """The token's user (the TUI's settings screen shows it); any valid token."""
    info: TokenInfo = request.user
    return Me(name=info.name, role=info.role.value, device_code=info.device_code)


ROUTES = [health, ready, me]
