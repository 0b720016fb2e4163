"""KCC search on the server's ``meldingen`` projection (issue 5).

:func:`shared.search.classify` decides which key the agent typed; :func:`search` asks the store for the
one query of that key (``ServerStore.kcc_rows``, ``sync_server.storage.reads``: the indexes that keep a
search fast on a million meldingen on SQLite and PostgreSQL, see ``bench/bench_kcc.py``) and turns
the rows into hits.

A street without number, a name or a street with number that finds nothing is tried again as free
text (``Van Dijk`` looks like a street, ``losse tegel`` like a name). Deleted meldingen are left out.
Results carry no personal data (no melder columns); :func:`detail` does, and the route that calls it
writes an audit entry (``sync_server.audit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.enums import Status
from shared.fold import conflict_notes
from shared.model import Adres, Melding
from shared.search import (
    HistoryLine,
    KccDetail,
    KccHit,
    KccQuery,
    KccResults,
    MelderView,
    QueryKind,
    classify,
    resident_view,
    words_of,
)
from shared.taxonomy import Taxonomy, load_taxonomy
from shared.validation import format_phone
from shared.wijken import wijk_naam
from sync_server.storage.reads import HIT_COLUMNS, MAX_RESULTS  # noqa: F401 - the search's limits, kept here


def _adres_text(row: Mapping[str, Any]) -> str:
    if row.get("straat") or row.get("postcode"):
        return Adres(
            straat=row.get("straat") or "",
            huisnummer=row.get("huisnummer"),
            huisletter=row.get("huisletter"),
            huisnummertoevoeging=row.get("huisnummertoevoeging"),
            postcode=row.get("postcode"),
            woonplaats=row.get("woonplaats") or "",
        ).oneline()
    return row.get("locatie_omschrijving") or ""


def hit_from_row(row: Mapping[str, Any], taxonomy: Taxonomy) -> KccHit:
    """A :class:`KccHit` from a projection row (the ``HIT_COLUMNS`` suffice)."""
    view = resident_view(row, taxonomy)
    return KccHit(
        melding_id=row["melding_id"],
        reference=row["reference"],
        registered_at=row["registered_at"],
        registered_date=row["registered_date"],
        status=row["status"],
        status_label=Status(row["status"]).label,
        open=bool(row["is_open"]),
        categorie=row.get("categorie"),
        categorie_naam=view.categorie_naam,
        adres=_adres_text(row),
        wijk=row.get("wijk"),
        wijk_naam=wijk_naam(row.get("wijk")) or None,
        deadline=row.get("deadline"),
        public_note=row.get("public_note"),
        resident=view,
    )


def search(
    store: Any,
    text: str,
    *,
    prefixes: frozenset[str] = frozenset(),
    taxonomy: Taxonomy | None = None,
) -> KccResults:
    """Classify ``text`` and search the projection of ``store`` (a ``ServerStore``) for it.

    Raises:
        ValidationError: an empty or too long query (field ``zoekterm``), from ``classify``.
    """
    taxonomy = taxonomy or load_taxonomy()
    q = classify(text, prefixes=prefixes)
    rows = store.kcc_rows(q)
    if not rows and q.kind in (QueryKind.STREET, QueryKind.NAME):
        words = words_of(q.text)
        if words:
            q = KccQuery(QueryKind.TEXT, q.text, words=words)
            rows = store.kcc_rows(q)
    return KccResults(
        kind=q.kind.value,
        searched=q.describe(),
        results=[hit_from_row(r, taxonomy) for r in rows[:MAX_RESULTS]],
        truncated=len(rows) > MAX_RESULTS,
    )


def detail(row: Mapping[str, Any], m: Melding, taxonomy: Taxonomy | None = None) -> KccDetail:
    """A melding in full for the KCC, from its projection row and its folded state (history
    included: ``ServerStore.melding``).

    Includes the reporter's contact details (personal data): the caller must audit the read.
    """
    taxonomy = taxonomy or load_taxonomy()
    lost = conflict_notes(m)  # the overwritten values, next to the history line that wrote them
    melder = None
    if m.melder is not None:
        melder = MelderView(
            naam=m.melder.naam,
            telefoon=format_phone(m.melder.telefoon) if m.melder.telefoon else None,
            email=m.melder.email,
            anoniem=m.melder.anoniem,
        )
    return KccDetail(
        hit=hit_from_row(row, taxonomy),
        type=m.type.value,
        kanaal=m.kanaal.value,
        omschrijving=m.omschrijving,
        locatie=m.location_text(),
        melder=melder,
        notes=[
            {"at": n.at.isoformat(), "user": n.user, "tekst": n.tekst, "openbaar": n.openbaar} for n in m.notes
        ],
        terugkoppelingen=[
            {"at": t.at.isoformat(), "user": t.user, "kanaal": t.kanaal.value, "tekst": t.tekst, "bereikt": t.bereikt}
            for t in m.terugkoppelingen
        ],
        history=[
            HistoryLine(h.at.isoformat(), h.user, h.type, h.summary + (f" — {lost[h.event_id]}" if h.event_id in lost else ""))
            for h in m.history
        ],
        geanonimiseerd_op=m.anonymised_at.isoformat() if m.anonymised_at else None,
        verwijderd_op=m.purged_at.isoformat() if m.purged_at else None,
    )


def has_personal_data(d: KccDetail) -> bool:
    """True when ``d`` shows any reporter detail (a name, phone or e-mail)."""
    return d.melder is not None and bool(d.melder.naam or d.melder.telefoon or d.melder.email)
