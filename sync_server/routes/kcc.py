"""``/api/v1/kcc/…``: the contact centre's status look-up (issue 5), read-only.

* ``GET /api/v1/kcc/search?q=…``: one search box for every key (reference, postcode + huisnummer,
  street, phone, name, free text; ``shared.search.classify``); results without personal data.
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

from litestar import Controller, MediaType, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

from shared.enums import Role
from shared.reference import normalise_reference
from shared.search import dutch_date
from shared.taxonomy import load_taxonomy
from sync_server import search as kcc_search
from sync_server.audit import record_personal_read
from sync_server.auth import requires_role
from sync_server.clashes import ReferenceClash, the_one
from sync_server.settings import Settings
from sync_server.store import ServerStore, TokenInfo

#: Roles that may use the KCC look-up.
KCC_ROLES = (Role.KCC, Role.MANAGER, Role.ADMIN)


def reference_prefixes(settings: Settings) -> frozenset[str]:
    """The municipality's reference prefix(es) from the settings (``prefix``)."""
    return frozenset({settings.prefix.upper()})


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
        content={"status_code": 409, "detail": detail, "reference": exc.reference, "meldingen": hits},
        status_code=409,
        media_type=MediaType.JSON,
    )


class KccController(Controller):
    """Search and detail for KCC agents."""

    path = "/api/v1/kcc"
    tags: ClassVar[list[str]] = ["kcc"]
    guards: ClassVar[list[Any]] = [requires_role(*KCC_ROLES)]
    exception_handlers: ClassVar[dict[Any, Any]] = {ReferenceClash: clash_answer}

    @get("/search", sync_to_thread=True, summary="Zoek een melding op elke sleutel")
    def search(
        self,
        store: ServerStore,
        settings: Settings,
        q: str = Parameter(query="q", description="referentie, postcode + huisnummer, straat, telefoon, naam of tekst"),
    ) -> kcc_search.KccResults:
        """At most 50 meldingen, newest first; ``truncated`` when more matched.

        400 (field ``zoekterm``) for an empty or too long query.
        """
        return kcc_search.search(store.conn(), q, prefixes=reference_prefixes(settings))

    @get("/meldingen/{reference:str}", sync_to_thread=True, summary="Eén melding met volledige historie")
    def detail(
        self,
        request: Request[TokenInfo, Any, Any],
        store: ServerStore,
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
        row = the_one(store.conn(), ref, melding_id)
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
