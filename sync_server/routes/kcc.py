"""``/api/v1/kcc/…``: the contact centre's status look-up (issue 5), read-only.

* ``POST /api/v1/kcc/search`` with ``{"q": "…"}``: one search box for every key (reference, postcode +
  huisnummer, street, phone, name, free text; ``shared.search.classify``); results without personal
  data. The term travels in the body, never in the URL, so no access log or proxy log holds a phone
  number or a name. A search on a phone number, a name or free text (which also matches the melder's
  name) that finds meldingen is audited like a detail read: the agent learned an address from
  personal data (``sync_server.audit.record_search_reads``).
* ``GET /api/v1/kcc/meldingen/{reference}``: one melding in full, reporter and full history included;
  every answer that shows reporter details is written to the audit (``sync_server.audit``). When more
  than one live melding carries the reference (a reference clash, ``sync_server.clashes``), the answer
  is 409 listing them all (``meldingen``: search hits, no personal data) instead of one of them;
  ``?melding_id=…`` then opens the chosen one.

Roles kcc, manager and admin; other tokens get 403. There is no writing route here: the KCC reads.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

from shared.enums import Role
from shared.protocol import ErrorBody
from shared.reference import normalise_reference
from shared.search import QueryKind, dutch_date
from shared.taxonomy import load_taxonomy
from sync_server import openapi
from sync_server import search as kcc_search
from sync_server.audit import record_personal_read, record_search_reads
from sync_server.auth import requires_role
from sync_server.clashes import ReferenceClash, the_one
from sync_server.settings import SEARCH_MAX_BODY_BYTES, Settings
from sync_server.storage.api import Store
from sync_server.store import TokenInfo

#: Roles that may use the KCC look-up.
KCC_ROLES = (Role.KCC, Role.MANAGER, Role.ADMIN)
#: Search keys that find meldingen by the melder's personal data (free text includes the name).
PERSONAL_KINDS = frozenset(
    {QueryKind.PHONE.value, QueryKind.EMAIL.value, QueryKind.NAME.value, QueryKind.TEXT.value}
)


class SearchRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The body of ``POST /api/v1/kcc/search``: ``q``, what the agent typed."""

    q: str


class ReferenceClashBody(ErrorBody, kw_only=True):
    """The 409 of ``GET /meldingen/{reference}`` for a reference on several meldingen: besides
    ``detail``, the ``reference`` and its ``meldingen`` (search hits, no personal data)."""

    reference: str
    meldingen: list[kcc_search.KccHit]


def reference_prefixes(settings: Settings) -> frozenset[str]:
    """The municipality's reference prefix(es): that of the configuration in force (``shared.gemeente``)."""
    from shared.gemeente import gemeente

    return frozenset({gemeente().prefix.upper()})


def clash_answer(_: Request[Any, Any, Any], exc: ReferenceClash) -> Response[Any]:
    """409 for a reference on several meldingen: a Dutch ``detail`` that names each one (so a client
    that only shows ``detail`` still lists both) and ``meldingen``, their search hits (no personal data,
    so nothing to audit); the agent opens one with ``?melding_id=``."""
    hits = [kcc_search.hit_from_row(r, load_taxonomy()) for r in exc.rows]
    lines = "; ".join(
        f"{h.adres or 'geen adres'} (gemeld {dutch_date(date.fromisoformat(h.registered_date))}, {h.status_label}"
        f"{', ' + h.categorie_naam if h.categorie_naam else ''})"
        for h in hits
    )
    detail = (
        f"Referentie {exc.reference} hoort bij {len(hits)} meldingen: {lines}. Vraag de melder naar adres "
        "of datum en kies de juiste melding in de zoekresultaten."
    )
    return Response(
        content=ReferenceClashBody(status_code=409, detail=detail, reference=exc.reference, meldingen=hits),
        status_code=409,
        media_type=MediaType.JSON,
    )


class KccController(Controller):
    """Search and detail for KCC agents."""

    path = "/api/v1/kcc"
    tags: ClassVar[list[str]] = ["kcc"]
    guards: ClassVar[list[Any]] = [requires_role(*KCC_ROLES)]
    exception_handlers: ClassVar[dict[Any, Any]] = {ReferenceClash: clash_answer}

    @post(
        "/search",
        status_code=200,
        sync_to_thread=True,
        summary="Zoek een melding op elke sleutel",
        request_max_body_size=SEARCH_MAX_BODY_BYTES,
    )
    def search(
        self, request: Request[TokenInfo, Any, Any], store: Store, settings: Settings, data: SearchRequest
    ) -> kcc_search.KccResults:
        """At most 50 meldingen, newest first; ``truncated`` when more matched.

        ``q``: referentie, postcode + huisnummer, straat, telefoon, naam of tekst. 400 (field
        ``zoekterm``) for an empty or too long query. Audited when found by personal data.
        """
        results = kcc_search.search(store, data.q, prefixes=reference_prefixes(settings))
        if results.kind in PERSONAL_KINDS:
            hits = [(h.melding_id, h.reference) for h in results.results]
            record_search_reads(store, request.user, hits, results.kind, f"POST {request.url.path}")
        return results

    @get(
        "/meldingen/{reference:str}",
        sync_to_thread=True,
        summary="Eén melding met volledige historie",
        opt=openapi.route(
            errors={
                404: "Geen levende melding met deze referentie (of melding_id hoort er niet bij).",
                409: ("De referentie hoort bij meer meldingen; kies er één met melding_id.", ReferenceClashBody),
            }
        ),
    )
    def detail(
        self,
        request: Request[TokenInfo, Any, Any],
        store: Store,
        reference: str,
        melding_id: str | None = Parameter(
            query="melding_id", default=None, description="kiest één van meerdere meldingen met deze referentie"
        ),
    ) -> kcc_search.KccDetail:
        """The melding in full; audited when it shows the reporter.

        404 when no live melding has this reference (or ``melding_id`` is not one of them); 409 with
        every melding that has it when there are several and no ``melding_id`` (:func:`clash_answer`).
        """
        ref = normalise_reference(reference)
        row = the_one(store, ref, melding_id)
        if row is None:
            raise NotFoundException(detail=f"Geen melding gevonden met referentie {ref}.")
        melding = store.melding(row["melding_id"])
        if melding is None:  # a projection row always has its created event; kept for type checkers
            raise NotFoundException(detail=f"Geen melding gevonden met referentie {ref}.")
        answer = kcc_search.detail(row, melding)
        if kcc_search.has_personal_data(answer):
            record_personal_read(store, request.user, row["melding_id"], ref, f"GET {request.url.path}")
        return answer


ROUTES = [KccController]
