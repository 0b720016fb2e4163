"""One mapping from domain errors to HTTP answers: a status code and a Dutch ``detail``, never a traceback.

* ``shared.errors.TransitionError`` → 409 (the melding's status does not allow it)
* ``shared.errors.ValidationError`` → 400, with ``field``
* ``shared.errors.InvalidEvent`` → 400
* ``sync_server.store.StoreError`` → 409
* ``sync_server.store.StorageUnavailable`` (and an SQLite error meaning read-only / disk full / write
  error) → 503 "De server kan niet opslaan: …" with ``Retry-After``
* ``RecursionError`` (a body nested deeper than the decoder goes) → 400
* ``OverflowError`` (a number or date beyond what can be stored or computed) → 400
* anything unexpected → 500 "Interne serverfout" (the traceback goes to the server log only)

The body has the shape of ``shared.protocol.ErrorBody`` (``status_code``, ``detail``, and ``field`` or
``reason`` where said above), always JSON, also to a client that asked for MessagePack; the OpenAPI
document says so per route (``sync_server.openapi``).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from shared.errors import InvalidEvent, TransitionError, ValidationError
from sync_server.storage.engines import database_errors
from sync_server.store import StorageUnavailable, StoreError, storage_failure

log = logging.getLogger("wijkteam.server")


def _body(status: int, detail: str, **extra: Any) -> Response:
    return Response(
        content={"status_code": status, "detail": detail, **extra}, status_code=status, media_type=MediaType.JSON
    )


def transition_error(_: Request, exc: TransitionError) -> Response:
    return _body(409, exc.message, field=exc.field)


def validation_error(_: Request, exc: ValidationError) -> Response:
    return _body(400, exc.message, field=exc.field)


def invalid_event(_: Request, exc: InvalidEvent) -> Response:
    return _body(400, f"Ongeldig event: {exc.reason}")


def store_error(_: Request, exc: StoreError) -> Response:
    return _body(409, exc.message)


#: Seconds a client is asked to wait before trying again after a 503 for storage.
STORAGE_RETRY_AFTER_S = 30


def storage_unavailable(request: Request, exc: StorageUnavailable) -> Response:
    log.error("cannot write the database (%s) on %s %s", exc.reason, request.method, request.url.path)
    resp = _body(503, exc.message, reason=exc.reason)
    resp.headers["Retry-After"] = str(STORAGE_RETRY_AFTER_S)
    return resp


def database_error(request: Request, exc: Exception) -> Response:
    failure = storage_failure(exc)
    if failure is not None:
        return storage_unavailable(request, failure)
    return internal_error(request, exc)


def too_deep(_: Request, exc: RecursionError) -> Response:
    return _body(400, "Het bericht is te diep genest; stuur een plat JSON-object of MessagePack-bericht.")


def overflow(_: Request, exc: OverflowError) -> Response:
    return _body(400, "Een getal of datum in het verzoek ligt buiten het bereik dat de server kan verwerken.")


_DEFAULT_DETAILS = {
    "Not Found": "Niet gevonden.",
    "Method Not Allowed": "Deze methode is hier niet toegestaan.",
    "Request Entity Too Large": "Het bericht is te groot.",
    "Unsupported Media Type": "Dit berichttype wordt niet ondersteund; gebruik JSON of MessagePack.",
}


def http_error(_: Request, exc: HTTPException) -> Response:
    headers = getattr(exc, "headers", None) or None
    detail = _DEFAULT_DETAILS.get(str(exc.detail), str(exc.detail))
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        # Litestar's parameter validation: say which parameter and why, not just "Validation failed".
        parts = [
            f"{e.get('key', '?')} ({getattr(e.get('source'), 'value', e.get('source'))}): {e.get('message', '')}" for e in exc.extra if isinstance(e, dict)
        ]
        detail = "Ongeldige invoer: " + "; ".join(parts)
    resp = _body(exc.status_code, detail)
    if headers:
        resp.headers.update(headers)
    return resp


def internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _body(500, "Interne serverfout; de beheerder vindt de details in het serverlog.")


#: ``exception_handlers`` for ``Litestar(...)``; TransitionError before ValidationError (a subclass).
EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    TransitionError: transition_error,
    ValidationError: validation_error,
    InvalidEvent: invalid_event,
    StoreError: store_error,
    StorageUnavailable: storage_unavailable,
    **{cls: database_error for cls in database_errors()},
    RecursionError: too_deep,
    OverflowError: overflow,
    HTTPException: http_error,
    Exception: internal_error,
}
