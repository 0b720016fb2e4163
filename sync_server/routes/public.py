"""``GET /api/v1/public/status/{reference}``: a resident looks up their melding (issue 5), no token.

The answer is :class:`shared.search.ResidentView` without the street name's house number: open or
closed, the Dutch status text, categorie, registration date, expected date, the public closing note.
Never personal data. An unknown reference answers 404 with a Dutch message; a reference that is not
of the right shape 400; a reference that more than one live melding carries (a reference clash,
``sync_server.clashes``) 409 with :data:`sync_server.clashes.PUBLIC_CLASH_MESSAGE`: the resident is
asked to contact the municipality rather than shown someone else's melding (docs/kcc.md).

Requests are rate-limited per client address (Litestar's ``RateLimitConfig`` on this router only):
:data:`PUBLIC_RATE_LIMIT` per minute, then 429 with ``Retry-After``/``RateLimit-*`` headers, so the
endpoint cannot be used to enumerate references.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, Router, get
from litestar.exceptions import ClientException, NotFoundException, TooManyRequestsException
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address

from shared.reference import normalise_reference
from shared.search import ResidentView, resident_view
from sync_server import openapi
from sync_server.clashes import PUBLIC_CLASH_MESSAGE, ReferenceClash, the_one
from sync_server.storage.api import Store

#: Requests per client address per minute on the public routes.
PUBLIC_RATE_LIMIT = 60


def _identifier(request: Request[Any, Any, Any]) -> str:
    # Prefixed so that another rate limit on the same app never shares this counter.
    return "public:" + get_remote_address(request)


RATE_LIMIT = RateLimitConfig(rate_limit=("minute", PUBLIC_RATE_LIMIT), identifier_for_request=_identifier)


def _too_many(_: Request[Any, Any, Any], exc: TooManyRequestsException) -> Response[Any]:
    return Response(
        content={"status_code": 429, "detail": "Te veel opvragingen vanaf dit adres; probeer het over een minuut opnieuw."},
        status_code=429,
        media_type=MediaType.JSON,
        headers=getattr(exc, "headers", None) or {},
    )


@get(
    "/status/{reference:str}",
    sync_to_thread=True,
    summary="Openbare status van een melding",
    opt=openapi.route(
        errors={
            404: "Er is geen melding met deze referentie.",
            409: "De referentie hoort bij meer dan één melding; de bewoner belt de gemeente.",
        }
    ),
)
def public_status(store: Store, reference: str) -> ResidentView:
    """What the resident may know; 404 for an unknown reference, 400 for one of the wrong shape, 409
    when the reference belongs to more than one melding (no status is shown then)."""
    ref = normalise_reference(reference)
    try:
        row = the_one(store, ref)
    except ReferenceClash:
        raise ClientException(status_code=409, detail=PUBLIC_CLASH_MESSAGE) from None
    if row is None:
        raise NotFoundException(
            detail=f"Er is geen melding met referentie {ref}. Controleer de referentie in uw bevestiging "
            "(zoals DLF-K7-0142) of bel de gemeente."
        )
    return resident_view(row)


public_router = Router(
    path="/api/v1/public",
    route_handlers=[public_status],
    middleware=[RATE_LIMIT.middleware],
    exception_handlers={TooManyRequestsException: _too_many},
    tags=["openbaar"],
)

ROUTES = [public_router]
