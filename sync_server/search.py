"""KCC search on the server's ``meldingen`` projection (issue 5): read-only queries, one per key.

:func:`shared.search.classify` decides which key the agent typed; :func:`search` runs the one
query for that key, each served by an index of ``sync_server.store`` (so a search stays fast on a
million meldingen, see ``bench/bench_kcc.py``):

==============================  ==============================================================
key                              index
==============================  ==============================================================
reference                        ``meldingen_reference``
postcode (+ huisnummer)          ``meldingen_postcode_huisnummer``
street (+ huisnummer)            ``meldingen_straat`` (``straat COLLATE NOCASE, huisnummer``)
phone (E.164)                    ``meldingen_telefoon``
name, free text                  ``meldingen_fts`` (FTS5, prefix indexes), newest rowids first
==============================  ==============================================================

Each query takes the newest 61 matching rowids from the key's index (rowids grow as meldingen
reach the server), then reads only those rows and orders them by registration time; at most 50 are
returned, ``truncated`` when there were more. So a search reads a few dozen rows however common the
street or word is.

A street without number, a name or a street with number that finds nothing is tried again as free
text (``Van Dijk`` looks like a street, ``losse tegel`` like a name). Deleted meldingen are left out.
Results carry no personal data (no melder columns); :func:`detail` does, and the route that calls it
writes an audit entry (``sync_server.audit``).
"""

from __future__ import annotations

import sqlite3
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

#: Most results one search returns; the agent narrows the query beyond this.
MAX_RESULTS = 50

#: Projection columns a search result is made from (never ``state`` or melder columns).
HIT_COLUMNS = (
    "melding_id", "reference", "registered_at", "registered_date", "status", "is_open", "categorie",
    "servicenorm", "deadline", "wijk", "straat", "huisnummer", "huisletter", "huisnummertoevoeging",
    "postcode", "woonplaats", "locatie_omschrijving", "public_note", "closed_at", "type", "kanaal",
)  # fmt: skip
_SELECT = "SELECT " + ", ".join(f"m.{c}" for c in HIT_COLUMNS) + " FROM meldingen m"


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


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fts_terms(words: tuple[str, ...], *, initials: bool = False) -> str:
    """An FTS5 query: every word must occur; the last one as a prefix (the agent may still be typing).

    Each word is quoted so that FTS5 operators typed by the agent (AND, NEAR, -, *) are plain words.
    Only the last word is a prefix: a prefix term merges the doclists of every token it covers, which
    is costly for short common words on a million rows, while whole words are looked up directly.
    ``initials``: a one-letter word is an initial (``P. de Vries``) and matches the start of a name
    (docs/kcc.md promises "P. de Vries" finds Piet de Vries).
    """
    quoted = ['"' + w.replace('"', '""') + '"' + ("*" if initials and len(w) == 1 else "") for w in words]
    if not quoted[-1].endswith("*"):
        quoted[-1] += "*"
    return " AND ".join(quoted)


#: Rows an inner query hands to the outer one: a few more than shown, so that deleted meldingen
#: (filtered outside the index) rarely hide a result, and ``truncated`` can be told.
_INNER_LIMIT = MAX_RESULTS + 11


def _run(c: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    # Two steps, so that only the rows shown are read from the table: the inner query picks the
    # newest matching rowids from the key's index alone (rowid is in every index entry, and rowids
    # grow as meldingen arrive at the server), the outer one reads those rows and orders them by
    # registration. Reading every match first costs a random page read per row: ~60 ms for a
    # street with 700 meldingen on a million rows.
    inner = f"SELECT m.rowid FROM meldingen m WHERE {where} ORDER BY m.rowid DESC LIMIT {_INNER_LIMIT}"
    sql = (
        f"{_SELECT} WHERE m.rowid IN ({inner}) AND m.deleted = 0 "
        f"ORDER BY m.registered_at DESC LIMIT {MAX_RESULTS + 1}"
    )
    cur = c.execute(sql, params)
    return [dict(zip(HIT_COLUMNS, r, strict=True)) for r in cur]


def _fts(c: sqlite3.Connection, match: str) -> list[dict[str, Any]]:
    # Newest first by rowid inside FTS (cheap), not by sorting every match by date: a common word
    # can match a large share of a million rows.
    inner = f"SELECT rowid FROM meldingen_fts WHERE meldingen_fts MATCH ? ORDER BY rowid DESC LIMIT {_INNER_LIMIT}"
    sql = (
        f"{_SELECT} WHERE m.rowid IN ({inner}) AND m.deleted = 0 "
        f"ORDER BY m.registered_at DESC LIMIT {MAX_RESULTS + 1}"
    )
    return [dict(zip(HIT_COLUMNS, r, strict=True)) for r in c.execute(sql, (match,))]


def rows_for(c: sqlite3.Connection, q: KccQuery) -> list[dict[str, Any]]:
    """The projection rows (``HIT_COLUMNS``) matching ``q``, newest first, at most ``MAX_RESULTS + 1``."""
    if q.kind == QueryKind.REFERENCE:
        return _run(c, "m.reference = ?", (q.reference,))
    if q.kind == QueryKind.PHONE:
        return _run(c, "m.melder_telefoon = ?", (q.telefoon,))
    if q.kind == QueryKind.EMAIL:
        return _run(c, "m.melder_email = ? COLLATE NOCASE", (q.email,))
    if q.kind in (QueryKind.POSTCODE, QueryKind.STREET):
        if q.kind == QueryKind.POSTCODE:
            conds, params = ["m.postcode = ?"], [q.postcode]
        elif q.huisnummer is not None:
            conds, params = ["m.straat = ? COLLATE NOCASE"], [q.straat]
        else:
            conds, params = ["m.straat LIKE ? ESCAPE '\\'"], [_like_prefix(q.straat or "")]
        if q.huisnummer is not None:
            conds.append("m.huisnummer = ?")
            params.append(q.huisnummer)
        # Without a letter every letter of the number matches (Kerkstraat 12 → 12 A and 12 B).
        if q.huisletter:
            conds.append("m.huisletter = ?")
            params.append(q.huisletter)
        if q.huisnummertoevoeging:
            conds.append("m.huisnummertoevoeging = ?")
            params.append(q.huisnummertoevoeging)
        return _run(c, " AND ".join(conds), tuple(params))
    if q.kind == QueryKind.NAME:
        return _fts(c, "melder_naam : (" + _fts_terms(q.words, initials=True) + ")")
    return _fts(c, _fts_terms(q.words))


def search(
    c: sqlite3.Connection,
    text: str,
    *,
    prefixes: frozenset[str] = frozenset(),
    taxonomy: Taxonomy | None = None,
) -> KccResults:
    """Classify ``text`` and search the projection for it.

    Raises:
        ValidationError: an empty or too long query (field ``zoekterm``), from ``classify``.
    """
    taxonomy = taxonomy or load_taxonomy()
    q = classify(text, prefixes=prefixes)
    rows = rows_for(c, q)
    if not rows and q.kind in (QueryKind.STREET, QueryKind.NAME):
        words = words_of(q.text)
        if words:
            q = KccQuery(QueryKind.TEXT, q.text, words=words)
            rows = rows_for(c, q)
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
