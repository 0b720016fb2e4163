"""``/api/v1/kcc/…``: the contact centre's status look-up (issue 5), read-only.

* ``GET /api/v1/kcc/search?q=…``: one search box for every key (reference, postcode + huisnummer,
  street, phone, name, free text; ``shared.search.classify``); results without personal data.
* ``GET /api/v1/kcc/meldingen/{reference}``: one melding in full, reporter and full history included;
  every answer that shows reporter details is written to the audit (``sync_server.audit``).

Roles kcc, manager and admin; other tokens get 403. There is no writing route here: the KCC reads.
"""

from __future__ import annotations

from typing import Any, ClassVar

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

from shared.enums import Role
from shared.reference import normalise_reference
from sync_server import search as kcc_search
from sync_server.audit import record_personal_read
from sync_server.auth import requires_role
from sync_server.settings import Settings
from sync_server.store import ServerStore, TokenInfo

#: Roles that may use the KCC look-up.
KCC_ROLES = (Role.KCC, Role.MANAGER, Role.ADMIN)


def reference_prefixes(settings: Settings) -> frozenset[str]:
    """The municipality's reference prefix(es) from the settings (``prefix``)."""
    return frozenset({settings.prefix.upper()})


class KccController(Controller):
    """Search and detail for KCC agents."""

    path = "/api/v1/kcc"
    tags: ClassVar[list[str]] = ["kcc"]
    guards: ClassVar[list[Any]] = [requires_role(*KCC_ROLES)]

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
    def detail(self, request: Request[TokenInfo, Any, Any], store: ServerStore, reference: str) -> kcc_search.KccDetail:
        """The melding in full; 404 when no melding has this reference; audited when it shows the reporter."""
        ref = normalise_reference(reference)
        row = kcc_search.find_row(store.conn(), ref)
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
