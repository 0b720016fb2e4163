"""The server store's reads for the KCC look-up, the public status, Open311 and the admin commands
(issue 17: the routes and the CLI ask the store; they hold no connection and write no SQL).

:class:`ProjectionReads` is a part of ``sync_server.store.ServerStore`` (a mixin: it uses the store's
``_read``, ``write`` and ``dialect``). The KCC search (``sync_server.search`` decides which key was
typed, :meth:`ProjectionReads.kcc_rows` runs the one query for it) reads an index per key on both
engines:

==============================  ==========================================  ======================================
key                              SQLite                                      PostgreSQL
==============================  ==========================================  ======================================
reference                        ``meldingen_reference``                     the same
postcode (+ huisnummer)          ``meldingen_postcode_huisnummer``           the same
street (+ huisnummer)            ``meldingen_straat`` (``COLLATE NOCASE``)   ``meldingen_straat_lower`` (``lower()``)
phone (E.164)                    ``meldingen_telefoon``                      the same
e-mail                           ``meldingen_email`` (``COLLATE NOCASE``)    ``meldingen_email_lower`` (``lower()``)
name, free text                  ``meldingen_fts`` (FTS5, prefix indexes)    ``meldingen_fts_gin`` (``tsvector``)
==============================  ==========================================  ======================================

Each query takes the newest 61 matching rows by arrival (SQLite's rowid, PostgreSQL's ``row_no``)
from the key's index, then reads only those rows and orders them by registration time; at most 50 are
shown. Words are matched the same way on both: accents and case ignored, every word must occur, the
last one may be the start of a word (the agent may still be typing); a name search looks in the
melder's name only, and takes a one-letter word for an initial (``P. de Vries``).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from shared.enums import MeldingType
from shared.projection import COLUMNS
from shared.search import KccQuery, QueryKind

#: Most results one KCC search returns; the agent narrows the query beyond this.
MAX_RESULTS = 50
#: Rows an inner query hands to the outer one: a few more than shown, so that deleted meldingen
#: (filtered outside the index) rarely hide a result, and ``truncated`` can be told.
_INNER_LIMIT = MAX_RESULTS + 11

#: Projection columns a search result is made from (never ``state`` or melder columns).
HIT_COLUMNS = (
    "melding_id", "reference", "registered_at", "registered_date", "status", "is_open", "categorie",
    "servicenorm", "deadline", "wijk", "straat", "huisnummer", "huisletter", "huisnummertoevoeging",
    "postcode", "woonplaats", "locatie_omschrijving", "public_note", "closed_at", "type", "kanaal",
)  # fmt: skip
_SELECT_HITS = "SELECT " + ", ".join(f"m.{c}" for c in HIT_COLUMNS) + " FROM meldingen m"

#: The projection columns an Open311 service request is made from.
OPEN311_COLUMNS = (
    "reference", "status", "is_open", "categorie", "wijk", "registered_at", "updated_hlc", "deadline", "public_note",
    "straat", "woonplaats", "postcode", "lat", "lon",
)  # fmt: skip
#: Meldingen Open311 shows: not deleted, and reports of a problem (not questions or complaints).
_PUBLISHED = f"deleted = 0 AND type = '{MeldingType.MELDING.value}'"


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fts5_terms(words: tuple[str, ...], *, initials: bool = False) -> str:
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


def _tsquery(tokens: list[str], *, initials: bool, weight: str) -> str:
    """PostgreSQL's form of :func:`_fts5_terms` over the words as the index holds them (letters and
    digits only, so nothing in them is a tsquery operator); ``weight`` ``A`` looks in the melder's
    name only."""
    terms = []
    for i, t in enumerate(tokens):
        prefix = i == len(tokens) - 1 or (initials and len(t) == 1)
        terms.append(t + (":*" + weight if prefix else (":" + weight if weight else "")))
    return " & ".join(terms)


def _has_word(words: tuple[str, ...]) -> bool:
    """Whether any letter or digit is left to search for (else a text query matches nothing)."""
    return any(ch.isalnum() for w in words for ch in unicodedata.normalize("NFKD", w))


class ProjectionReads:
    """Reads of the projection and the admin tables (see the module docstring); mixed into ``ServerStore``."""

    dialect: Any

    def _read(self) -> Any:  # pragma: no cover - ServerStore's
        raise NotImplementedError

    # -- KCC search ----------------------------------------------------------------------------------

    def _rowid(self) -> str:
        return "row_no" if self.dialect.postgres else "rowid"

    def _hits(self, c: Any, inner: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        # Two steps, so that only the rows shown are read from the table: the inner query picks the
        # newest matching rows from the key's index alone, the outer one reads those rows and orders
        # them by registration. Reading every match first costs a random page read per row: ~60 ms
        # for a street with 700 meldingen on a million rows.
        rid = self._rowid()
        sql = (
            f"{_SELECT_HITS} WHERE m.{rid} IN ({inner} ORDER BY {rid} DESC LIMIT {_INNER_LIMIT}) AND m.deleted = 0 "
            f"ORDER BY m.registered_at DESC, m.{rid} LIMIT {MAX_RESULTS + 1}"
        )  # the row number breaks ties the same way on both engines (the order rows were stored)
        return [dict(zip(HIT_COLUMNS, r, strict=True)) for r in c.execute(sql, params)]

    def _by_columns(self, c: Any, where: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        return self._hits(c, f"SELECT m.{self._rowid()} FROM meldingen m WHERE {where}", params)

    def _by_words(self, c: Any, words: tuple[str, ...], *, name_only: bool) -> list[dict[str, Any]]:
        if not _has_word(words):
            return []
        if not self.dialect.postgres:
            match = _fts5_terms(words, initials=name_only)
            if name_only:
                match = f"melder_naam : ({match})"
            # Newest first by rowid inside FTS (cheap), not by sorting every match by date: a common
            # word can match a large share of a million rows.
            return self._hits(c, "SELECT rowid FROM meldingen_fts WHERE meldingen_fts MATCH ?", (match,))
        # PostgreSQL: the words as the index holds them (schema.PG_WORDS: the database's own unaccent),
        # then the same query as FTS5's, as a tsquery.
        tokens = c.execute("SELECT wijkteam_words(?)", (" ".join(words),)).fetchone()[0].split()
        if not tokens:
            return []
        query = _tsquery(tokens, initials=name_only, weight="A" if name_only else "")
        return self._hits(c, "SELECT row_no FROM meldingen WHERE fts @@ to_tsquery('simple', ?)", (query,))

    def kcc_rows(self, q: KccQuery) -> list[dict[str, Any]]:
        """The projection rows (``HIT_COLUMNS``) matching a classified KCC query, newest first, at most
        ``MAX_RESULTS + 1`` (one more than shown tells that there were more). Deleted meldingen are
        left out."""
        with self._read() as c:
            if q.kind == QueryKind.REFERENCE:
                return self._by_columns(c, "m.reference = ?", (q.reference,))
            if q.kind == QueryKind.PHONE:
                return self._by_columns(c, "m.melder_telefoon = ?", (q.telefoon,))
            if q.kind == QueryKind.EMAIL:
                where = "lower(m.melder_email) = lower(?)" if self.dialect.postgres else "m.melder_email = ? COLLATE NOCASE"
                return self._by_columns(c, where, (q.email,))
            if q.kind in (QueryKind.POSTCODE, QueryKind.STREET):
                pg = self.dialect.postgres
                if q.kind == QueryKind.POSTCODE:
                    conds, params = ["m.postcode = ?"], [q.postcode]
                elif q.huisnummer is not None:
                    conds = ["lower(m.straat) = lower(?)" if pg else "m.straat = ? COLLATE NOCASE"]
                    params = [q.straat]
                else:
                    conds = ["lower(m.straat) LIKE lower(?) ESCAPE '\\'" if pg else "m.straat LIKE ? ESCAPE '\\'"]
                    params = [_like_prefix(q.straat or "")]
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
                return self._by_columns(c, " AND ".join(conds), tuple(params))
            return self._by_words(c, q.words, name_only=q.kind == QueryKind.NAME)

    # -- references, public status, Open311 ----------------------------------------------------------

    def live_by_reference(self, reference: str) -> list[dict[str, Any]]:
        """Every live (not deleted) melding with ``reference`` (canonical form): projection rows
        (``shared.projection.COLUMNS``), newest registration first. Usually one; none for an unknown
        reference (index ``meldingen_reference``)."""
        cols = ", ".join(f'"{c}"' for c in COLUMNS)
        with self._read() as c:
            cur = c.execute(
                f"SELECT {cols} FROM meldingen WHERE reference = ? AND deleted = 0 ORDER BY registered_at DESC, melding_id",
                (reference,),
            )
            return [dict(zip(COLUMNS, r, strict=True)) for r in cur]

    def melding_id_of(self, reference: str) -> str | None:
        """The melding_id of a melding (deleted ones too) with ``reference``, or None."""
        with self._read() as c:
            row = c.execute("SELECT melding_id FROM meldingen WHERE reference = ?", (reference,)).fetchone()
        return row[0] if row else None

    def published_requests(
        self,
        *,
        references: list[str] | None = None,
        categories: list[str] | None = None,
        is_open: bool | None = None,
        registered: tuple[str, str, str, str] | None = None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Open311 service requests (``OPEN311_COLUMNS``), newest registration first, at most ``limit``.

        Args:
            references: only these references; categories: only these sub-categories (service codes);
            is_open: only open (True) or closed (False) ones; registered: ``(first local date, last
                local date, first UTC instant, last UTC instant)`` (ISO text): the dates use the index
                on ``registered_date``, the instants give the exact bounds within those days.
        """
        conds, params = [_PUBLISHED], []
        if references is not None:
            conds.append(f"reference IN ({','.join('?' * len(references))})")
            params += references
        if categories:
            conds.append(f"categorie IN ({','.join('?' * len(categories))})")
            params += categories
        if is_open is not None:
            conds.append("is_open = ?")
            params.append(1 if is_open else 0)
        if registered is not None:
            conds.append("registered_date BETWEEN ? AND ? AND registered_at BETWEEN ? AND ?")
            params += list(registered)
        # registered_date leads the order so its index serves the sort; registered_at orders within a day.
        sql = (
            f"SELECT {', '.join(OPEN311_COLUMNS)} FROM meldingen WHERE {' AND '.join(conds)} "
            "ORDER BY registered_date DESC, registered_at DESC LIMIT ?"
        )
        with self._read() as c:
            return [dict(zip(OPEN311_COLUMNS, r, strict=True)) for r in c.execute(sql, (*params, limit))]

    def live_meldingen_count(self) -> int:
        """Meldingen registered by people (``bron`` empty: neither ``demo`` nor ``import``)."""
        with self._read() as c:
            return c.execute("SELECT count(*) FROM meldingen WHERE coalesce(bron, '') = ''").fetchone()[0]

    # -- the barometer -----------------------------------------------------------------------------------

    def barometer(self, period: Any, **options: Any) -> Any:
        """The barometer report of ``period`` over the server's meldingen
        (``wijkteam_reports.sql.build_report`` with ``options``: ``group_by``, ``upto_seq``, ``criteria``,
        …), read in one consistent snapshot while pushes commit.

        Raises:
            ValidationError: a bad grouping or ``upto_seq`` (see ``build_report``).
        """
        from wijkteam_reports.sql import build_report

        with self._read() as c:
            return build_report(c, period, **options)
