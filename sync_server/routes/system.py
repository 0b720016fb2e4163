"""``GET /health`` (public readiness probe) and ``GET /api/v1/me`` (who the token belongs to)."""

from __future__ import annotations

import msgspec
from litestar import Request, get

from shared.protocol import PROTOCOL_VERSION
from sync_server.store import ServerStore, TokenInfo


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
def health(store: ServerStore) -> Health:
    """Readiness probe: answers once the server can read its database."""
    return Health(status="ok", protocol=PROTOCOL_VERSION, events=store.max_server_seq())


@get("/api/v1/me", sync_to_thread=False, tags=["systeem"])
def me(request: Request) -> Me:
    """The token's user (the TUI's settings screen shows it); any valid token."""
    info: TokenInfo = request.user
    return Me(name=info.name, role=info.role.value, device_code=info.device_code)


ROUTES = [health, me]
