"""The laptop store's reads: the list and search-as-you-type (full text, exact keys, filters), look-ups
by id and reference, nearby meldingen, and the werkvoorraad (issue 14).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.deadlines import utcnow
from shared.events import Event
from shared.fold import fold
from shared.geo import bbox_around
from shared.model import Melding
from shared.nearby import NEARBY_RADIUS_M, POSSIBLE_DUPLICATE_WINDOW, NearbyHit, possible_duplicates
from shared.projection import COLUMNS, iso, parse_iso
from shared.reference import normalise_reference
from shared.search import KccQuery, QueryKind, exact_key, phone_digits
from wijkteam_store.codec import EVENT_SELECT, event_from_row, json_encode
from wijkteam_store.local.core import StoreCore

#: Columns a list or search returns: the whole projection row.
LIST_COLUMNS: tuple[str, ...] = tuple(COLUMNS)

_FTS_TOKEN = re.compile(r"\w+", re.UNICODE)


#: Text that starts like a reference ("DLF-", "dlf-k7-00"): searched as a reference prefix.
_REF_PREFIX = re.compile(
    r"^\s*([A-Za-z]{2,5})[-\s]+([0-9A-Za-z]{0,3})(?:[-\s]+([0-9A-Za-z]{0,6}))?\s*$"
)

#: Fewer characters than this are not searched as text (one letter matches nearly everything).
MIN_SEARCH_CHARS = 2

#: Counting stops here; the list then says "meer dan …" (counting 100,000 matches costs time).
COUNT_CAP = 1_000


def reference_prefix(text: str) -> str | None:
    """The canonical reference prefix typed so far (``"dlf-k7-00"`` → ``"DLF-K7-00"``), or None."""
    m = _REF_PREFIX.match(text or "")
    if not m:
        return None
    prefix, dev, ctr = (
        m.group(1).upper(),
        (m.group(2) or "").upper(),
        (m.group(3) or "").upper(),
    )
    lookalikes = str.maketrans({"O": "0", "I": "1", "L": "1"})
    dev, ctr = dev.translate(lookalikes), ctr.translate(lookalikes)
    return f"{prefix}-{dev}" + (f"-{ctr}" if m.group(3) is not None else "")


def _exact_clauses(key: KccQuery) -> tuple[list[str], list[Any]]:
    """SQL conditions on the projection for a phone number, e-mail address or postcode (+ number)."""
    if key.kind == QueryKind.PHONE:
        return ["m.melder_telefoon = ?"], [key.telefoon]
    if key.kind == QueryKind.EMAIL:
        return ["m.melder_email = ? COLLATE NOCASE"], [key.email]
    clauses, args = ["m.postcode = ?"], [key.postcode]
    for column, value in (("huisnummer", key.huisnummer), ("huisletter", key.huisletter),
                          ("huisnummertoevoeging", key.huisnummertoevoeging)):  # fmt: skip
        if value is not None:
            clauses.append(f"m.{column} = ?")
            args.append(value)
    return clauses, args


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression for search-as-you-type: every word as a prefix, all required.

    ``"Kerkstr 12"`` → ``'"Kerkstr"* AND "12"*'``; ``"K7 0001"`` → both parts. Returns None when
    the text has no word characters or fewer than ``MIN_SEARCH_CHARS`` (nothing is filtered on text).
    """
    if len((text or "").strip()) < MIN_SEARCH_CHARS:
        return None
    digits = phone_digits(text)
    if digits:
        # A phone number being typed with spaces or dashes: its digits as one prefix (the index holds
        # both 0612345678 and 31612345678).
        return f'"{digits}"*'
    words = _FTS_TOKEN.findall(text or "")
    if not words:
        return None
    return " AND ".join(f'"{w}"*' for w in words)


class SearchMixin(StoreCore):
    """The list, search, look-ups and the werkvoorraad over the projection."""

    # -- reads ------------------------------------------------------------------------------------

    def events_of(self, melding_id: str) -> list[Event]:
        """Every stored event of one melding (in storage order; ``fold`` orders them)."""
        cur = self.conn.execute(
            f"SELECT {EVENT_SELECT} FROM events WHERE melding_id = ? ORDER BY hlc, device_id, event_id",
            (melding_id,),
        )
        return [event_from_row(r) for r in cur]

    def get(self, melding_id: str) -> Melding | None:
        """The current state of one melding, history included (the fold of its stored events), or
        None when unknown (no ``created`` event of it is stored)."""
        return fold(self.events_of(melding_id))

    def get_by_reference(self, ref: str) -> Melding | None:
        """The melding with a reference as a caller spells it (``"dlf k7 o142"``), or None.

        Raises:
            ValidationError: the text is not shaped like a reference (field ``referentie``).
        """
        canonical = normalise_reference(ref)
        row = self.conn.execute(
            "SELECT melding_id FROM meldingen WHERE reference = ?", (canonical,)
        ).fetchone()
        return self.get(row[0]) if row else None

    def _as_reference(self, text: str | None) -> str | None:
        """The reference prefix ``text`` spells, also for a bare municipality prefix (``"dlf"``)."""
        ref = reference_prefix(text or "")
        word = (text or "").strip().upper()
        if ref is None and word.isalpha() and 2 <= len(word) <= 5:
            hit = self.conn.execute(
                "SELECT 1 FROM meldingen WHERE reference >= ? AND reference < ? LIMIT 1",
                (word + "-", word + "-\uffff"),
            ).fetchone()
            ref = word + "-" if hit else None
        return ref

    def _query(
        self,
        text: str | None,
        status: str | None,
        categorie: str | None,
        wijk: str | None,
        overdue: bool | None,
        include_deleted: bool,
        now: datetime | None,
    ) -> tuple[str, list[Any], str]:
        """FROM … WHERE … for the filters, its arguments, and the newest-first ORDER BY column.

        With search text the FTS table drives the loop in descending rowid order (its native order),
        joined to the projection, so a page costs ~limit row look-ups whatever the number of matches.
        Reference-shaped text ("DLF-K7-00") walks the reference index instead, highest first.
        """
        ref = self._as_reference(text)  # may query the reference index: once per search
        key = None if ref else exact_key(text)
        if key is not None:
            # A phone number, e-mail address or postcode as a resident says it, normalised by the
            # KCC's rule (shared.search): an exact match on its column, newest first.
            clauses, kargs = _exact_clauses(key)
            where, args = self._where(None, status, categorie, wijk, overdue, include_deleted, now, clauses, kargs)
            return f" FROM meldingen m{where}", args, "m.rowid"
        where, args = self._where(ref, status, categorie, wijk, overdue, include_deleted, now)
        if ref:
            # Reference-shaped text: highest reference first (a laptop's counter only goes up, so
            # that is its newest first); the reference index gives the order and stops after a page.
            return f" FROM meldingen m{where}", args, "m.reference"
        query = fts_query(text or "")
        if query:
            where = " AND ".join(
                p for p in ("meldingen_fts MATCH ?", where.removeprefix(" WHERE ")) if p
            )
            return (
                f" FROM meldingen_fts JOIN meldingen m ON m.rowid = meldingen_fts.rowid WHERE {where}",
                [query, *args],
                "meldingen_fts.rowid",
            )
        return f" FROM meldingen m{where}", args, "m.rowid"

    def _where(
        self,
        ref: str | None,
        status: str | None,
        categorie: str | None,
        wijk: str | None,
        overdue: bool | None,
        include_deleted: bool,
        now: datetime | None,
        extra: Sequence[str] = (),
        extra_args: Sequence[Any] = (),
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = list(extra)
        args: list[Any] = list(extra_args)
        if ref:
            # A range on the reference index: "DLF-K7-00" finds every reference starting so.
            # The list is then in reference order (see _query), walked backwards on the index.
            clauses.append("m.reference >= ? AND m.reference < ?")
            args += [ref, ref + "\uffff"]
        if status:
            if status == "open":
                clauses.append("m.is_open = 1")
            elif status == "gesloten":
                clauses.append("m.is_open = 0")
            else:
                clauses.append("m.status = ?")
                args.append(status)
        if categorie:
            if "/" in categorie:
                clauses.append("m.categorie = ?")
                args.append(categorie)
            else:  # a main category: every sub-category under it, as a range the index can walk
                clauses.append("m.categorie >= ? AND m.categorie < ?")
                args += [categorie + "/", categorie + "0"]  # "0" sorts right after "/"
        if wijk:
            clauses.append("m.wijk = ?")
            args.append(wijk)
        if overdue is not None:
            stamp = iso(now or utcnow())
            if overdue:
                clauses.append(
                    "(m.is_open = 1 AND m.deadline IS NOT NULL AND m.deadline < ?)"
                )
            else:
                clauses.append(
                    "NOT (m.is_open = 1 AND m.deadline IS NOT NULL AND m.deadline < ?)"
                )
            args.append(stamp)
        if not include_deleted:
            clauses.append("m.deleted = 0")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def search(
        self,
        text: str | None = None,
        *,
        status: str | None = None,
        categorie: str | None = None,
        wijk: str | None = None,
        overdue: bool | None = None,
        offset: int = 0,
        limit: int = 50,
        include_deleted: bool = False,
        now: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """One page of meldingen, newest first, as projection rows without ``state``.

        Args:
            text: search-as-you-type text over reference, omschrijving, address and melder
                (every word a prefix, all must match).
            status: a :class:`shared.enums.Status` value, or ``"open"`` / ``"gesloten"``.
            categorie: ``"hoofd/sub"`` or a main category ``"hoofd"``.
            wijk: exact wijk name.
            overdue: True: open and past the deadline (at ``now``, default the clock); False: not so.
            offset, limit: the page (rows).
        """
        source, args, order = self._query(
            text, status, categorie, wijk, overdue, include_deleted, now
        )
        cols = ", ".join(f"m.{c}" for c in LIST_COLUMNS)
        if order == "m.rowid":
            # Two steps: the page's rowids from a covering index (sorting ints, not rows), then the rows.
            sql = (
                f"SELECT {cols} FROM meldingen m WHERE m.rowid IN "
                f"(SELECT m.rowid{source} ORDER BY m.rowid DESC LIMIT ? OFFSET ?) ORDER BY m.rowid DESC"
            )
        else:
            sql = f"SELECT {cols}{source} ORDER BY {order} DESC LIMIT ? OFFSET ?"
        cur = self.conn.execute(sql, [*args, limit, offset])
        return [dict(zip(LIST_COLUMNS, r, strict=True)) for r in cur]

    def count(
        self,
        text: str | None = None,
        *,
        status: str | None = None,
        categorie: str | None = None,
        wijk: str | None = None,
        overdue: bool | None = None,
        include_deleted: bool = False,
        now: datetime | None = None,
        cap: int | None = None,
    ) -> int:
        """How many meldingen :meth:`search` with the same filters would page through.

        Stops counting at ``cap`` (then returns ``cap``; the list shows "meer dan"); None counts all.
        """
        source, args, _ = self._query(
            text, status, categorie, wijk, overdue, include_deleted, now
        )
        if cap is None:
            return self.conn.execute(f"SELECT count(*){source}", args).fetchone()[0]
        sql = f"SELECT count(*) FROM (SELECT 1{source} LIMIT ?)"
        return self.conn.execute(sql, [*args, cap]).fetchone()[0]

    _DUP_COLUMNS = (
        "melding_id", "reference", "device_id", "categorie", "lat", "lon", "registered_at", "deleted",
        "duplicaat_van", "status", "straat", "huisnummer", "locatie_omschrijving", "omschrijving",
    )  # fmt: skip

    def possible_duplicates(self, melding_id: str) -> list[NearbyHit]:
        """Meldingen that may be the same problem as ``melding_id``, registered on another laptop
        before the two synced (``shared.nearby.possible_duplicates``: same categorie, ≤ 50 m, within
        a day), closest first; [] when unknown. One box query on the nearby index's columns."""
        cols = ", ".join(self._DUP_COLUMNS)
        found = self.conn.execute(f"SELECT {cols} FROM meldingen WHERE melding_id = ?", (melding_id,)).fetchone()
        if found is None:
            return []
        row = dict(zip(self._DUP_COLUMNS, found, strict=True))
        if row["lat"] is None or not row["categorie"]:
            return []
        min_lat, max_lat, min_lon, max_lon = bbox_around(row["lat"], row["lon"], NEARBY_RADIUS_M)
        at = parse_iso(row["registered_at"])
        assert at is not None
        cur = self.conn.execute(
            f"SELECT {cols} FROM meldingen WHERE categorie = ? AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? "
            "AND registered_at BETWEEN ? AND ? AND deleted = 0",
            (row["categorie"], min_lat, max_lat, min_lon, max_lon,
             iso(at - POSSIBLE_DUPLICATE_WINDOW), iso(at + POSSIBLE_DUPLICATE_WINDOW)),
        )  # fmt: skip
        return possible_duplicates(row, (dict(zip(self._DUP_COLUMNS, r, strict=True)) for r in cur))

    def events_mark(self) -> int:
        """Where the event log ends now (a rowid): :meth:`pulled_since` tells what came after."""
        return self.conn.execute("SELECT coalesce(max(rowid), 0) FROM events").fetchone()[0]

    def pulled_since(self, mark: int) -> dict[str, list[tuple[str, str]]]:
        """Events of other devices stored after ``mark`` (a pull), as melding_id → ``(event_id, type)``."""
        own = self.device_code() or ""
        out: dict[str, list[tuple[str, str]]] = {}
        for mid, eid, kind in self.conn.execute(
            "SELECT melding_id, event_id, type FROM events WHERE rowid > ? AND device_id != ?", (mark, own)
        ):
            out.setdefault(mid, []).append((eid, kind))
        return out

    def assigned_to(self, behandelaar: str, melding_ids: Iterable[str]) -> list[str]:
        """References of those of ``melding_ids`` that are open, not deleted and handled by
        ``behandelaar`` (a server user name), soonest deadline first."""
        ids = list(melding_ids)
        if not ids:
            return []
        cur = self.conn.execute(
            "SELECT reference FROM meldingen WHERE behandelaar = ? AND is_open = 1 AND deleted = 0 "
            "AND melding_id IN (SELECT value FROM json_each(?)) ORDER BY deadline IS NULL, deadline, rowid",
            (behandelaar, json_encode(ids).decode()),
        )
        return [r[0] for r in cur]

    def with_conflicts(self, melding_ids: Iterable[str]) -> list[str]:
        """Those of ``melding_ids`` whose projection counts a concurrent-edit conflict."""
        ids = list(melding_ids)
        if not ids:
            return []
        cur = self.conn.execute(
            "SELECT melding_id FROM meldingen WHERE conflict_count > 0 AND melding_id IN (SELECT value FROM json_each(?))",
            (json_encode(ids).decode(),),
        )
        return [r[0] for r in cur]

    # -- the werkvoorraad (issue 14) ------------------------------------------------------------

    @staticmethod
    def _scope(behandelaar: str | None, wijken: Sequence[str] | None) -> tuple[str, list[Any]]:
        """The condition of a werkvoorraad: one behandelaar's, a team's (its wijken), or — neither
        given — the meldingen nobody handles."""
        if behandelaar is not None:
            return "m.behandelaar = ?", [behandelaar]
        if wijken:
            return f"m.wijk IN ({', '.join('?' * len(wijken))})", list(wijken)
        return "m.behandelaar IS NULL", []

    def werkvoorraad(
        self,
        *,
        behandelaar: str | None = None,
        wijken: Sequence[str] | None = None,
        now: datetime | None = None,
        per_group: int | Mapping[str, int] = 100,
    ) -> tuple[dict[str, int], dict[str, list[dict[str, Any]]]]:
        """Open meldingen of a werkvoorraad grouped as ``shared.werkvoorraad.GROUPS`` (over de norm,
        vandaag, deze week, later), soonest deadline first: ``(count per group, at most ``per_group``
        rows per group)``; ``per_group`` may be a mapping group → limit (a group left out: 100), so one
        group can be shown further. ``behandelaar``: a server user name; else ``wijken`` (a team's); neither:
        the meldingen without a behandelaar. Served by the partial indexes of migration 8: a few
        range scans, whatever the size of the database (bench/bench_tui.py)."""
        from shared.werkvoorraad import GROUPS, bounds

        where, args = self._scope(behandelaar, wijken)
        b = bounds(now or utcnow())
        base = f" FROM meldingen m WHERE {where} AND m.is_open = 1 AND m.deleted = 0"
        ranges = {
            "over_de_norm": ("m.deadline < ?", [b[0]]),
            "vandaag": ("m.deadline >= ? AND m.deadline <= ?", [b[0], b[1]]),
            "deze_week": ("m.deadline > ? AND m.deadline <= ?", [b[1], b[2]]),
            "later": ("(m.deadline > ? OR m.deadline IS NULL)", [b[2]]),
        }
        cols = ", ".join(f"m.{c}" for c in LIST_COLUMNS)
        counts: dict[str, int] = {}
        rows: dict[str, list[dict[str, Any]]] = {}
        for group in GROUPS:
            cond, cargs = ranges[group]
            counts[group] = self.conn.execute(f"SELECT count(*){base} AND {cond}", [*args, *cargs]).fetchone()[0]
            cur = self.conn.execute(
                f"SELECT {cols}{base} AND {cond} ORDER BY m.deadline IS NULL, m.deadline, m.rowid LIMIT ?",
                [*args, *cargs, per_group if isinstance(per_group, int) else per_group.get(group, 100)],
            )
            rows[group] = [dict(zip(LIST_COLUMNS, r, strict=True)) for r in cur]
        return counts, rows

    def terugbellen(
        self, *, behandelaar: str | None = None, wijken: Sequence[str] | None = None, limit: int = 100
    ) -> tuple[int, list[dict[str, Any]]]:
        """"Nog terugbellen": meldingen of a werkvoorraad (as :meth:`werkvoorraad`) whose melders wait
        for a call-back since they progressed (``terugbellen`` > 0), longest waiting first:
        ``(how many, at most ``limit`` rows)``."""
        where, args = self._scope(behandelaar, wijken)
        base = f" FROM meldingen m WHERE {where} AND m.terugbellen > 0 AND m.deleted = 0"
        count = self.conn.execute(f"SELECT count(*){base}", args).fetchone()[0]
        cols = ", ".join(f"m.{c}" for c in LIST_COLUMNS)
        cur = self.conn.execute(f"SELECT {cols}{base} ORDER BY m.terugbellen_sinds LIMIT ?", [*args, limit])
        return count, [dict(zip(LIST_COLUMNS, r, strict=True)) for r in cur]

    def behandelaars(self) -> list[str]:
        """Everyone meldingen are assigned to here, sorted (skip-scan over the werkvoorraad index)."""
        sql = """WITH RECURSIVE b(x) AS (
                   SELECT min(behandelaar) FROM meldingen WHERE is_open = 1 AND deleted = 0
                   UNION ALL SELECT (SELECT min(behandelaar) FROM meldingen
                                     WHERE is_open = 1 AND deleted = 0 AND behandelaar > x) FROM b WHERE x IS NOT NULL)
                 SELECT x FROM b WHERE x IS NOT NULL"""
        return [r[0] for r in self.conn.execute(sql)]

    def duplicates_of(self, reference: str) -> list[dict[str, Any]]:
        """The meldingen linked to ``reference`` as its duplicates (``duplicaat_van``), oldest first,
        deleted ones left out (projection rows: ``melding_id``, ``reference``, ``registered_at``,
        ``status``)."""
        cur = self.conn.execute(
            "SELECT melding_id, reference, registered_at, status FROM meldingen "
            "WHERE duplicaat_van = ? AND deleted = 0 ORDER BY registered_at",
            (reference,),
        )
        return [dict(zip(("melding_id", "reference", "registered_at", "status"), r, strict=True)) for r in cur]

    def wijken(self) -> list[str]:
        """The wijken that occur in the projection, sorted (for the list filter)."""
        # Skip-scan over the wijk index: one index seek per distinct wijk instead of reading every row.
        sql = """WITH RECURSIVE w(x) AS (
                   SELECT min(wijk) FROM meldingen
                   UNION ALL SELECT (SELECT min(wijk) FROM meldingen WHERE wijk > x) FROM w WHERE x IS NOT NULL)
                 SELECT x FROM w WHERE x IS NOT NULL"""
        return [r[0] for r in self.conn.execute(sql)]

    def iter_rows(self, *, include_deleted: bool = True) -> Iterator[dict[str, Any]]:
        """Every projection row in registration order, streamed (for export)."""
        cols = ", ".join(LIST_COLUMNS)
        where = "" if include_deleted else " WHERE deleted = 0"
        for r in self.conn.execute(
            f"SELECT {cols} FROM meldingen{where} ORDER BY rowid"
        ):
            yield dict(zip(LIST_COLUMNS, r, strict=True))
