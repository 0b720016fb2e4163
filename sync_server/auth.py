"""Bearer-token authentication and role guards.

:class:`AuthMiddleware` reads ``Authorization: Bearer <token>``, looks up the sha256 of the token
(``ServerStore.token_info``) and puts a :class:`~sync_server.store.TokenInfo` in ``request.user``
(``None`` for an anonymous request). Every route answers 401 without a valid token, except public
ones:

* ``/health`` and ``/schema…`` (OpenAPI),
* ``/api/v1/public/…``,
* ``GET`` under ``/open311/`` (GeoReport v2 reads are public; its POST needs a token as ``api_key``),
* any handler declared with ``opt={"public": True}``.

A handler then states who may use it with a guard from :func:`requires_role`, which answers 403 for
other roles. A route without such a guard is open to every valid token.
"""

from __future__ import annotations

from collections.abc import Callable

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractMiddleware
from litestar.types import Receive, Scope, Send

from shared.enums import Role
from sync_server.storage.api import Store
from sync_server.store import TokenInfo

PUBLIC_PREFIXES = ("/health", "/schema", "/api/v1/public/")
PUBLIC_GET_PREFIXES = ("/open311/",)
PUBLIC_OPT = "public"


def bearer_token(headers: dict[str, str] | object) -> str:
    """The token of an ``Authorization: Bearer …`` header, or ``""``."""
    value = headers.get("authorization", "") if hasattr(headers, "get") else ""  # type: ignore[union-attr]
    scheme, _, token = (value or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def is_public(scope: Scope) -> bool:
    """Whether the route of ``scope`` may be used without a token (see the module docstring)."""
    return is_public_route(scope.get("path", ""), scope.get("method", ""), scope.get("route_handler"))


def is_public_route(path: str, method: str, handler: BaseRouteHandler | None) -> bool:
    """Whether ``method`` on ``path`` (a request path or a route template), served by ``handler``, may be
    used without a token; the rule of :func:`is_public`, which the OpenAPI document also follows."""
    if path.startswith(PUBLIC_PREFIXES) or path == "/health":
        return True
    if method in ("GET", "HEAD") and path.startswith(PUBLIC_GET_PREFIXES):
        return True
    return bool(handler is not None and handler.opt.get(PUBLIC_OPT))


class AuthMiddleware(AbstractMiddleware):
    """Sets ``scope["user"]`` (a ``TokenInfo`` or ``None``); 401 for a non-public route without a valid token."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from litestar import Litestar

        store: Store = Litestar.from_scope(scope).state.store
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        token = bearer_token(headers)
        info = store.token_info(token) if token else None
        scope["user"] = info
        scope["auth"] = None
        if info is None and not is_public(scope):
            if token:
                raise NotAuthorizedException(detail="Token onbekend of ingetrokken; vraag de beheerder om een nieuw token.")
            raise NotAuthorizedException(detail="Inloggen vereist: stuur een token als 'Authorization: Bearer …'.")
        await self.app(scope, receive, send)


def requires_role(*roles: Role) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """A guard letting only tokens with one of ``roles`` through.

    Raises (in the request):
        NotAuthorizedException (401): no valid token.
        PermissionDeniedException (403): another role; the detail names the roles allowed.
    """
    allowed = frozenset(Role(r) for r in roles)
    names = ", ".join(sorted(r.value for r in allowed))

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        info: TokenInfo | None = connection.scope.get("user")
        if info is None:
            raise NotAuthorizedException(detail="Inloggen vereist: stuur een token als 'Authorization: Bearer …'.")
        if info.role not in allowed:
            raise PermissionDeniedException(
                detail=f"De rol {info.role.value} mag dit niet; toegestaan: {names}."
            )

    guard.__name__ = f"requires_role({names})"
    guard.roles = allowed  # type: ignore[attr-defined]  # lets tests check every route's role matrix
    return guard


def allowed_roles(handler: BaseRouteHandler) -> frozenset[Role] | None:
    """The roles the :func:`requires_role` guards of ``handler`` and its layers let through (each guard
    narrows), or ``None`` when no such guard applies (any valid token, or the route decides itself)."""
    allowed: frozenset[Role] | None = None
    for layer in handler.ownership_layers:
        for guard in layer.guards or ():
            roles = getattr(guard, "roles", None)
            if roles is not None:
                allowed = frozenset(roles) if allowed is None else allowed & roles
    return allowed


#: Laptops: the roles that push and pull events.
LAPTOP_ROLES = (Role.WIJKUITVOERDER, Role.ADMIN)
