"""The OpenAPI document (``/schema/openapi.json``): what Litestar infers, completed from each route.

Litestar documents path and query parameters, ``data`` bodies and typed answers by itself. What it
cannot see, :func:`describe` adds once, just before the document is first served (the schema router's
``before_request``, so building an app stays cheap), for every operation from facts of its handler:

* **security**: the bearer token (:data:`BEARER`), except on routes ``sync_server.auth`` serves without
  a token (``security: []``); a handler may state its own with Litestar's ``security=`` (Open311 POST).
* **errors**, each with the body the server really sends: ``shared.protocol.ErrorBody``, or the layer's
  ``opt[ERROR_BODY]`` (Open311's GeoReport array). Derived: 400 when the route takes input, 401 unless
  it is public, 403 with a ``requires_role`` guard (naming the roles), 413 when it reads a body (its
  ``request_max_body_size``), 426 on sync routes, 429 behind the public rate limit, 503 when it reads
  the database (every route with a token does). What only the route knows (404, 409, 416, …) it states
  with :func:`route`; answers it declares itself with Litestar's ``responses=`` are kept as they are.
* **bodies and answers a handler reads or writes as bytes** (push, verdicts, pull, …): described by
  msgspec, the decoder the server uses, from the types given to :func:`route`; as JSON, and on sync
  routes also as MessagePack, with the ``X-Wijkteam-Protocol`` header.

Raises nothing at run time; a route whose facts cannot be described is a programming error that the
tests (``tests/server/test_openapi.py``) catch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import msgspec
from litestar import Litestar, Request, Router
from litestar.handlers import HTTPRouteHandler
from litestar.middleware.rate_limit import RateLimitMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import (
    Components,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Parameter,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.routes import HTTPRoute

from shared.protocol import MIN_CLIENT_PROTOCOL, PROTOCOL_VERSION, ErrorBody
from sync_server import wire
from sync_server.auth import allowed_roles, is_public_route

#: Name of the bearer-token security scheme.
BEARER = "bearer"
#: Name of Open311's ``api_key`` security scheme (the same token, as a query parameter or body field).
API_KEY = "open311_api_key"
#: ``opt`` keys set by :func:`route` (and ``ERROR_BODY`` on a router).
ERRORS, BODY, ANSWER, SYNC, DOWNLOADS = (
    "openapi_errors",
    "openapi_body",
    "openapi_answer",
    "openapi_sync",
    "openapi_downloads",
)
#: ``opt`` key of a layer whose errors have another body than ``ErrorBody`` (its msgspec type).
ERROR_BODY = "openapi_error_body"
#: Form media type (Open311 POST).
FORM = "application/x-www-form-urlencoded"

_REF = "#/components/schemas/{name}"
_DESCRIBED = "_wijkteam_described"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER), description="Seconden tot een nieuwe poging zin heeft."
)
_RATE_LIMIT_HEADERS = {
    "Retry-After": _RETRY_AFTER,
    "RateLimit-Limit": OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER), description="Opvragingen per minuut."),
    "RateLimit-Remaining": OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER), description="Nog over deze minuut."),
    "RateLimit-Reset": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.INTEGER), description="Seconden tot een nieuwe minuut."
    ),
}


def route(
    *,
    body: type | None = None,
    body_media: Sequence[str] = (wire.JSON,),
    answer: type | None = None,
    sync: bool = False,
    downloads: Iterable[str] = (),
    errors: Mapping[int, str | tuple[str, type]] | None = None,
) -> dict[str, Any]:
    """The ``opt`` entries that tell :func:`describe` what only this route knows.

    Args:
        body: the msgspec type of a body the handler reads as bytes itself (Litestar sees no body).
        body_media: the media types that body may come in (``FORM``, ``wire.JSON``, …).
        answer: the msgspec type of the success answer the handler encodes itself (``wire.respond``).
        sync: a sync-protocol route: ``X-Wijkteam-Protocol`` header (required without a body), 426 for
            an old app, body and answer also as MessagePack.
        downloads: media types of files the success answer may be besides its JSON (barometer formats).
        errors: ``{status: description}`` or ``{status: (description, body type)}`` of the errors only
            this route gives (404, 409, 416, …, or 401/403 from a public route checking a key itself).
    """
    opt: dict[str, Any] = {}
    if body is not None:
        opt[BODY] = (body, (wire.JSON, wire.MSGPACK) if sync else tuple(body_media))
    if answer is not None:
        opt[ANSWER] = answer
    if sync:
        opt[SYNC] = True
    if downloads:
        opt[DOWNLOADS] = tuple(downloads)
    if errors:
        opt[ERRORS] = dict(errors)
    return opt


def openapi_config(*, title: str, version: str, description: str, path: str = "/schema", **more: Any) -> OpenAPIConfig:
    """Litestar's ``OpenAPIConfig`` with the bearer scheme, required by default, and a schema router
    that completes the document (:func:`describe`) before it is first served; ``more`` goes to
    ``OpenAPIConfig`` as it is (e.g. ``render_plugins``)."""
    return OpenAPIConfig(
        **more,
        title=title,
        version=version,
        description=description,
        path=path,
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="Het token van 'wijkteam-server user add' (of 'user rotate') als "
                    "'Authorization: Bearer …'. De rol (wijkuitvoerder, kcc, manager, admin) bepaalt "
                    "welke routes het mag gebruiken.",
                ),
                API_KEY: SecurityScheme(
                    type="apiKey",
                    name="api_key",
                    security_scheme_in="query",
                    description="Open311 (GeoReport v2): het token als api_key, in de query of als veld in de body.",
                ),
            }
        ),
        security=[{BEARER: []}],
        openapi_router=Router(
            path=path, route_handlers=[], include_in_schema=False, before_request=_describe_before_serving
        ),
    )


def _describe_before_serving(request: Request[Any, Any, Any]) -> None:
    describe(request.app)


@dataclass
class _Error:
    status: int
    description: str
    body: Any  # a msgspec type
    headers: dict[str, OpenAPIHeader] | None = None


def describe(app: Litestar) -> None:
    """Complete ``app.openapi_schema`` in place (see the module docstring); a second call does nothing."""
    doc = app.openapi_schema
    if getattr(doc, _DESCRIBED, False):
        return
    setattr(doc, _DESCRIBED, True)  # not a dataclass field, so not written into the document
    schemas = doc.components.schemas
    plans: list[tuple[Operation, HTTPRouteHandler, str, bool, list[_Error]]] = []
    types: list[Any] = [ErrorBody]
    for path, method, op, handler in _operations(app):
        public = is_public_route(path, method, handler)
        errors = _errors(method, public, op, handler)
        plans.append((op, handler, method, public, errors))
        types += [e.body for e in errors]
        if BODY in handler.opt:
            types.append(handler.opt[BODY][0])
        if ANSWER in handler.opt:
            types.append(handler.opt[ANSWER])
    types = list(dict.fromkeys(types))
    made, components = msgspec.json.schema_components(types, ref_template=_REF)
    of = dict(zip(types, made, strict=True))
    for name, schema in components.items():
        # Litestar names components by class as msgspec does; a name it already has is the same class.
        schemas.setdefault(name, cast(Schema, schema))
    for op, handler, method, public, errors in plans:
        if op.security is None and public:
            op.security = []
        _complete(op, handler, method, errors, of)


def _operations(app: Litestar) -> Iterable[tuple[str, str, Operation, HTTPRouteHandler]]:
    paths = app.openapi_schema.paths or {}
    for r in app.routes:
        if not isinstance(r, HTTPRoute) or (item := paths.get(r.path_format or "/")) is None:
            continue
        for method, (handler, _) in r.route_handler_map.items():
            op = getattr(item, method.lower(), None)
            if isinstance(op, Operation):
                yield r.path_format, method, op, handler


def _rate_limited(handler: HTTPRouteHandler) -> bool:
    return any(
        isinstance(cls := getattr(m, "middleware", m), type) and issubclass(cls, RateLimitMiddleware)
        for m in handler.resolve_middleware()
    )


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{n // 1024} kB"


def _errors(method: str, public: bool, op: Operation, handler: HTTPRouteHandler) -> list[_Error]:
    """The error answers of one operation, derived from its handler (see the module docstring)."""
    opt = handler.opt
    body = opt.get(ERROR_BODY, ErrorBody)
    out: dict[int, _Error] = {}

    def add(status: int, description: str, headers: dict[str, OpenAPIHeader] | None = None) -> None:
        out[status] = _Error(status, description, body, headers)

    reads_body = method in _BODY_METHODS
    if op.parameters or op.request_body or reads_body or opt.get(SYNC):
        add(400, "Ongeldige invoer; de foutmelding zegt wat er niet klopt.")
    if not public:
        add(401, "Geen token, of een onbekend of ingetrokken token.")
    if (roles := allowed_roles(handler)) is not None:
        add(403, f"De rol van dit token mag dit niet; toegestaan: {', '.join(sorted(r.value for r in roles))}.")
    if reads_body and (limit := handler.resolve_request_max_body_size()):
        add(413, f"Het bericht is te groot (hoogstens {_size(limit)}).")
    if opt.get(SYNC):
        add(
            426,
            f"De app spreekt een te oud protocol (de server vraagt minstens {MIN_CLIENT_PROTOCOL}); werk de app bij.",
        )
    if _rate_limited(handler):
        add(429, "Te veel opvragingen vanaf dit adres; probeer het over een minuut opnieuw.", _RATE_LIMIT_HEADERS)
    if not public or "store" in handler.parsed_fn_signature.parameters:
        add(
            503,
            "De server kan de database nu niet gebruiken (alleen-lezen, schijf vol of schrijffout); er is "
            "niets opgeslagen. Zie /ready.",
            {"Retry-After": _RETRY_AFTER},
        )
    for status, spec in opt.get(ERRORS, {}).items():
        description, own = spec if isinstance(spec, tuple) else (spec, body)
        out[status] = _Error(status, description, own)
    return [out[s] for s in sorted(out)]


def _content(schema: Any, media: Iterable[str]) -> dict[str, OpenAPIMediaType]:
    # msgspec gives plain JSON-schema dicts; Litestar writes dicts into the document as they are.
    return {m: OpenAPIMediaType(schema=cast(Schema, schema)) for m in media}


def _complete(
    op: Operation, handler: HTTPRouteHandler, method: str, errors: list[_Error], of: Mapping[Any, Any]
) -> None:
    opt = handler.opt
    own = {str(s) for s in (handler.responses or {})}
    responses = op.responses if op.responses is not None else {}
    for e in errors:
        if str(e.status) not in own:
            responses[str(e.status)] = OpenAPIResponse(
                description=e.description, content=_content(of[e.body], [wire.JSON]), headers=e.headers
            )
    success = responses.get(str(handler.status_code))
    if isinstance(success, OpenAPIResponse):
        if ANSWER in opt:
            media = (wire.JSON, wire.MSGPACK) if opt.get(SYNC) else (wire.JSON,)
            success.content = _content(of[opt[ANSWER]], media)
        for media in opt.get(DOWNLOADS, ()):
            success.content = {
                **(success.content or {}),
                **_content({"type": "string", "contentMediaType": media}, [media]),
            }
    op.responses = responses
    if BODY in opt:
        body_type, media = opt[BODY]
        op.request_body = RequestBody(content=_content(of[body_type], media), required=True)
    if opt.get(SYNC):
        op.parameters = [
            *(op.parameters or []),
            Parameter(
                name="X-Wijkteam-Protocol",
                param_in="header",
                required=method not in _BODY_METHODS,
                schema=Schema(type=OpenAPIType.INTEGER, minimum=MIN_CLIENT_PROTOCOL, maximum=PROTOCOL_VERSION),
                description="Syncprotocol van de app (bij een body staat het ook in 'protocol').",
            ),
        ]
