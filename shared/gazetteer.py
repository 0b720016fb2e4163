"""The gazetteer: the municipality's addresses (from the BAG) for offline look-up.

A gazetteer is read from a BAG-derived CSV (the layout is documented in ``docs/location.md``):

- our own layout, as ``shared/data/sample_gazetteer.csv`` and the server's download use:
  ``openbare_ruimte, huisnummer, huisletter, huisnummertoevoeging, postcode, woonplaats, lat, lon``;
- the PDOK/BAG export layout: ``straatnaam``, ``huis_nlt`` (``12A-2``), ``woonplaatsnaam``,
  ``centroide_ll`` (WKT ``POINT(lon lat)``) and/or ``centroide_rd`` (WKT ``POINT(x y)``);
- RD New ``x``/``y`` columns (EPSG:28992, metres) instead of ``lat``/``lon``.

Comma, semicolon or tab separated; UTF-8 (with or without BOM), falling back to Windows-1252. Each
row is normalised with ``shared.validation``; a bad row is reported with its line number and
skipped, the rest is kept. BAG terms: openbare ruimte (street), huisnummer (1–99999), huisletter (one
letter), huisnummertoevoeging (up to 4 characters), postcode (``7721AB``), woonplaats.

:class:`Gazetteer` indexes the addresses for the fast path (postcode + huisnummer), free-text search
and reverse look-up (nearest address within 100 m).
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import msgspec

from shared.errors import ValidationError
from shared.geo import (
    bbox_around,
    check_wgs84,
    distance_m,
    format_coord,
    parse_wkt_point,
    rd_to_wgs84,
)
from shared.model import Adres, Punt
from shared.validation import (
    MAX_SHORT_TEXT_LENGTH,
    clean_text,
    format_postcode,
    normalise_postcode,
    parse_huisnummer,
)

#: Reverse look-up gives no address beyond this distance (metres): the melding is then location-only.
NEAREST_MAX_M = 100.0

#: Our canonical column order (the server's download and the sample file use it).
CANONICAL_COLUMNS: tuple[str, ...] = (
    "openbare_ruimte",
    "huisnummer",
    "huisletter",
    "huisnummertoevoeging",
    "postcode",
    "woonplaats",
    "lat",
    "lon",
    "gemeente",
)

#: Accepted header names (lower case, spaces and hyphens read as ``_``) for each field.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "straat": ("openbare_ruimte", "openbareruimte", "openbare_ruimte_naam", "openbareruimtenaam", "straat", "straatnaam"),
    "huisnummer": ("huisnummer", "nummer"),
    "huisletter": ("huisletter", "letter"),
    "huisnummertoevoeging": ("huisnummertoevoeging", "toevoeging"),
    "huis_nlt": ("huis_nlt",),
    "postcode": ("postcode",),
    "woonplaats": ("woonplaats", "woonplaatsnaam", "woonplaats_naam"),
    "gemeente": ("gemeente", "gemeentenaam"),
    "bag_id": ("nummeraanduiding_id", "nummeraanduiding_identificatie", "identificatie"),
    "lat": ("lat", "latitude", "breedtegraad"),
    "lon": ("lon", "lng", "long", "longitude", "lengtegraad"),
    "x": ("x", "rd_x", "x_rd"),
    "y": ("y", "rd_y", "y_rd"),
    "centroide_ll": ("centroide_ll",),
    "centroide_rd": ("centroide_rd",),
}


class GazetteerFormatError(ValueError):
    """The file as a whole cannot be read as a gazetteer (e.g. a required column is missing).

    ``message`` is Dutch and names what is missing.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class GazetteerAdres(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One BAG address with its point (WGS84, 7 decimals).

    ``postcode`` is compact (``"7721EJ"``) or empty; ``huisletter`` one upper-case letter or None;
    ``huisnummertoevoeging`` up to 4 upper-case characters or None; ``bag_id`` the
    nummeraanduiding identification when the source has one.
    """

    straat: str
    huisnummer: int
    woonplaats: str
    lat: float
    lon: float
    huisletter: str | None = None
    huisnummertoevoeging: str | None = None
    postcode: str = ""
    gemeente: str = ""
    bag_id: str = ""

    @property
    def adres(self) -> Adres:
        """The :class:`shared.model.Adres` stored on a melding."""
        return Adres(
            straat=self.straat,
            huisnummer=self.huisnummer,
            huisletter=self.huisletter,
            huisnummertoevoeging=self.huisnummertoevoeging,
            postcode=self.postcode or None,
            woonplaats=self.woonplaats,
        )

    @property
    def punt(self) -> Punt:
        """The address's point (:class:`shared.model.Punt`, WGS84)."""
        return Punt(lat=self.lat, lon=self.lon)

    @property
    def suffix(self) -> str:
        """Huisletter + toevoeging compared ignoring case and separators (``12-A`` ≙ ``12A`` ≙ ``12 a``)."""
        return number_suffix(self.huisletter, self.huisnummertoevoeging)

    def label(self) -> str:
        """``"Kerkstraat 12A, 7721 EJ Dalfsen"``."""
        return self.adres.oneline()


class RowError(msgspec.Struct, frozen=True):
    """A row that was skipped: its 1-based line number in the file and the Dutch reason."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"regel {self.line}: {self.message}"


class ParseResult(msgspec.Struct):
    """What a CSV gave: the good addresses in file order and the skipped rows."""

    adressen: list[GazetteerAdres]
    errors: list[RowError]


def number_suffix(letter: str | None, toevoeging: str | None) -> str:
    """Letter and addition as one key without case or separators: ``("a", "2")`` → ``"A2"``."""
    return re.sub(r"[^0-9A-Z]", "", f"{letter or ''}{toevoeging or ''}".upper())


def _header_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", (name or "").strip().lstrip("\ufeff").lower())


def _map_columns(header: list[str]) -> dict[str, int]:
    keys = [_header_key(h) for h in header]
    found: dict[str, int] = {}
    for field, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in keys:
                found[field] = keys.index(alias)
                break
    missing = []
    if "straat" not in found:
        missing.append("openbare_ruimte (of straatnaam)")
    if "huisnummer" not in found and "huis_nlt" not in found:
        missing.append("huisnummer (of huis_nlt)")
    if "woonplaats" not in found:
        missing.append("woonplaats (of woonplaatsnaam)")
    has_point = (
        ("lat" in found and "lon" in found)
        or ("x" in found and "y" in found)
        or "centroide_ll" in found
        or "centroide_rd" in found
    )
    if not has_point:
        missing.append("lat en lon, x en y (RD), centroide_ll of centroide_rd")
    if missing:
        raise GazetteerFormatError("Het adresbestand mist kolommen: " + "; ".join(missing) + ".")
    return found


def _number(text: str, what: str) -> float:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise ValidationError("punt", f"{what} is geen getal: {text!r}.") from None
    if not math.isfinite(value):
        raise ValidationError("punt", f"{what} is geen getal: {text!r}.")
    return value


_LETTER = re.compile(r"^[A-Z]$")
_TOEVOEGING = re.compile(r"^[A-Z0-9]{1,4}$")


def _row_to_adres(get) -> GazetteerAdres:
    straat = clean_text(get("straat"), "straat", max_length=MAX_SHORT_TEXT_LENGTH, required=True)
    woonplaats = clean_text(get("woonplaats"), "woonplaats", max_length=MAX_SHORT_TEXT_LENGTH, required=True)
    raw_nr = get("huisnummer").strip()
    letter = get("huisletter").strip().upper() or None
    toev = re.sub(r"[\s\-_/]+", "", get("huisnummertoevoeging")).upper() or None
    if raw_nr:
        if not raw_nr.isdigit() or not 1 <= int(raw_nr) <= 99999:
            raise ValidationError("huisnummer", f"Huisnummer {raw_nr!r} is geen getal van 1 tot 99999.")
        nr = int(raw_nr)
    else:
        nlt = get("huis_nlt").strip()
        if not nlt:
            raise ValidationError("huisnummer", "Huisnummer ontbreekt.")
        nr, letter2, toev2 = parse_huisnummer(nlt)
        letter, toev = letter or letter2, toev or toev2
    if letter is not None and not _LETTER.match(letter):
        raise ValidationError("huisletter", f"Huisletter {letter!r} is niet één letter.")
    if toev is not None and not _TOEVOEGING.match(toev):
        raise ValidationError("huisnummertoevoeging", f"Toevoeging {toev!r} is langer dan 4 letters of cijfers.")
    raw_pc = get("postcode").strip()
    postcode = normalise_postcode(raw_pc) if raw_pc else ""

    # Prefer WGS84 as given; RD is converted through pyproj (shared.geo).
    if get("lat").strip() and get("lon").strip():
        punt = check_wgs84(_number(get("lat"), "lat"), _number(get("lon"), "lon"))
    elif get("centroide_ll").strip():
        try:
            lon, lat = parse_wkt_point(get("centroide_ll"))
        except ValueError:
            raise ValidationError("punt", "centroide_ll is geen WKT POINT(lon lat).") from None
        punt = check_wgs84(lat, lon)
    elif get("x").strip() and get("y").strip():
        punt = rd_to_wgs84(_number(get("x"), "x"), _number(get("y"), "y"))
    elif get("centroide_rd").strip():
        try:
            x, y = parse_wkt_point(get("centroide_rd"))
        except ValueError:
            raise ValidationError("punt", "centroide_rd is geen WKT POINT(x y).") from None
        punt = rd_to_wgs84(x, y)
    else:
        raise ValidationError("punt", "Coördinaten ontbreken.")
    return GazetteerAdres(
        straat=straat,
        huisnummer=nr,
        huisletter=letter,
        huisnummertoevoeging=toev,
        postcode=postcode,
        woonplaats=woonplaats,
        lat=punt.lat,
        lon=punt.lon,
        gemeente=clean_text(get("gemeente"), "gemeente", max_length=MAX_SHORT_TEXT_LENGTH),
        bag_id=get("bag_id").strip(),
    )


def _address_key(a: GazetteerAdres) -> tuple[str, str, str, int, str]:
    # Without a postcode the place name alone is not unique: several municipalities have the same.
    return (
        a.postcode or _fold(a.woonplaats), _fold(a.straat) if not a.postcode else "",
        _fold(a.gemeente) if not a.postcode else "", a.huisnummer, a.suffix,
    )  # fmt: skip


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def parse_gazetteer_csv(text: str) -> ParseResult:
    """Parse gazetteer CSV text (layouts in the module docstring) into addresses and row errors.

    Bad rows (invalid postcode, number, letter, coordinates outside the Netherlands, missing
    fields, a second row for the same address) are skipped with their line number (the header is
    line 1); blank lines are ignored.

    Raises:
        GazetteerFormatError: the file is empty or a required column is missing.
    """
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise GazetteerFormatError("Het adresbestand is leeg.")
    reader = csv.reader(io.StringIO(text), delimiter=_sniff_delimiter(first))
    header = next(reader)
    cols = _map_columns(header)
    adressen: list[GazetteerAdres] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str, str, int, str], int] = {}
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue

        def get(field: str, row: list[str] = row) -> str:
            i = cols.get(field)
            return row[i] if i is not None and i < len(row) else ""

        try:
            adres = _row_to_adres(get)
        except ValidationError as exc:
            errors.append(RowError(start, exc.message))
            continue
        key = _address_key(adres)
        if key in seen:
            errors.append(RowError(start, f"dubbel adres {adres.label()} (ook op regel {seen[key]})."))
            continue
        seen[key] = start
        adressen.append(adres)
    return ParseResult(adressen, errors)


def read_text(path: str | Path) -> str:
    """A CSV file's text: UTF-8 (BOM allowed), else Windows-1252 (Excel's Dutch default)."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def read_gazetteer_csv(path: str | Path) -> ParseResult:
    """:func:`parse_gazetteer_csv` of a file (see :func:`read_text` for the encodings).

    Raises:
        GazetteerFormatError: as :func:`parse_gazetteer_csv`.
        OSError: the file cannot be read.
    """
    return parse_gazetteer_csv(read_text(path))


def to_csv_text(adressen: Iterable[GazetteerAdres]) -> str:
    """Addresses as CSV in :data:`CANONICAL_COLUMNS` order (lat/lon with 7 decimals), header first.

    :func:`parse_gazetteer_csv` reads it back unchanged; the server's download uses it.
    """
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CANONICAL_COLUMNS)
    for a in adressen:
        w.writerow(
            (a.straat, a.huisnummer, a.huisletter or "", a.huisnummertoevoeging or "", a.postcode, a.woonplaats,
             format_coord(a.lat), format_coord(a.lon), a.gemeente)
        )
    return out.getvalue()


# --- the index ------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Case-, accent- and punctuation-blind form for matching names (``"Prins Bernhardstraat"``)."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


LookupStatus = Literal["gevonden", "kies", "niet_gevonden"]


class Lookup(msgspec.Struct, frozen=True):
    """The outcome of a postcode + huisnummer look-up.

    ``status``: ``gevonden`` (exactly one address: ``matches[0]``), ``kies`` (the user must choose
    among ``matches``, e.g. 12 A and 12 B when 12 was typed), ``niet_gevonden`` (``matches`` empty).
    ``message`` is Dutch, fit to show next to the field ("" when found).
    """

    status: LookupStatus
    matches: tuple[GazetteerAdres, ...] = ()
    message: str = ""


class Nearest(msgspec.Struct, frozen=True):
    """Reverse look-up hit: the address and its distance in metres from the point asked."""

    adres: GazetteerAdres
    afstand_m: float


# Grid cell for the reverse index: about 110 m × 100 m at 52° N.
_CELL_LAT = 0.001
_CELL_LON = 0.0015


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / _CELL_LAT), math.floor(lon / _CELL_LON)


class Gazetteer:
    """An in-memory index of :class:`GazetteerAdres` for offline look-up.

    Build it from parsed addresses (``Gazetteer(result.adressen)``), a file (:meth:`from_csv`) or
    the shipped sample (:func:`load_sample_gazetteer`). ``sample`` marks made-up demo data, which
    the UI labels as such. Immutable after construction, so safe to share between threads.
    """

    def __init__(self, adressen: Iterable[GazetteerAdres], *, sample: bool = False, source: str = "") -> None:
        self.adressen: tuple[GazetteerAdres, ...] = tuple(adressen)
        self.sample = sample
        self.source = source
        self._by_postcode: dict[str, dict[int, list[GazetteerAdres]]] = {}
        # (street, woonplaats, gemeente) folded → its addresses, so free-text search matches words once
        # per street; the gemeente keeps apart two places of the same name in different municipalities.
        self._by_street: dict[tuple[str, str, str], list[GazetteerAdres]] = {}
        self._grid: dict[tuple[int, int], list[GazetteerAdres]] = {}
        self._woonplaatsen: dict[str, str] = {}
        for a in self.adressen:
            if a.postcode:
                self._by_postcode.setdefault(a.postcode, {}).setdefault(a.huisnummer, []).append(a)
            self._by_street.setdefault((_fold(a.straat), _fold(a.woonplaats), _fold(a.gemeente)), []).append(a)
            self._grid.setdefault(_cell(a.lat, a.lon), []).append(a)
            self._woonplaatsen.setdefault(_fold(a.woonplaats), a.woonplaats)
        order = lambda a: (a.huisnummer, a.suffix)
        for numbers in self._by_postcode.values():
            for hits in numbers.values():
                hits.sort(key=order)
        for hits in self._by_street.values():
            hits.sort(key=order)

    @classmethod
    def from_csv(cls, path: str | Path, *, sample: bool = False) -> Gazetteer:
        """A gazetteer from a CSV file; skipped rows are dropped (use :func:`read_gazetteer_csv` to see them).

        Raises:
            GazetteerFormatError, OSError: as :func:`read_gazetteer_csv`.
        """
        return cls(read_gazetteer_csv(path).adressen, sample=sample, source=str(path))

    def __len__(self) -> int:
        return len(self.adressen)

    def __iter__(self) -> Iterator[GazetteerAdres]:
        return iter(self.adressen)

    @property
    def woonplaatsen(self) -> list[str]:
        """The woonplaatsen present, sorted."""
        return sorted(self._woonplaatsen.values())

    def has_postcode(self, postcode: str) -> bool:
        """True when any address has this (compact) postcode."""
        return postcode in self._by_postcode

    def lookup(self, postcode: str, huisnummer: str | int) -> Lookup:
        """The fast path: postcode + huisnummer (with optional letter/addition) → address(es).

        ``postcode`` as typed (``"7721 ej"``), ``huisnummer`` as typed (``"12"``, ``"12-A"``,
        ``"12 a"``, ``"7hs"``) or an int. Letter and addition compare ignoring case and separators.
        Typing only the number when it exists only with letters/additions (12 A, 12 B) gives
        ``kies`` with all of them; a letter/addition that does not exist gives ``kies`` with the
        ones that do; an unknown number or postcode gives ``niet_gevonden``.

        Raises:
            ValidationError: the postcode or huisnummer is malformed (``shared.validation``).
        """
        pc = normalise_postcode(postcode)
        nr, letter, toev = parse_huisnummer(str(huisnummer))
        wanted = number_suffix(letter, toev)
        numbers = self._by_postcode.get(pc)
        if numbers is None:
            return Lookup(
                "niet_gevonden", (), f"Postcode {format_postcode(pc)} staat niet in het adresbestand van de gemeente."
            )
        hits = numbers.get(nr, [])
        if not hits:
            return Lookup("niet_gevonden", (), f"Huisnummer {nr} bestaat niet bij postcode {format_postcode(pc)}.")
        exact = [a for a in hits if a.suffix == wanted]
        if len(exact) == 1:
            return Lookup("gevonden", (exact[0],))
        texts = [a.adres.huisnummer_text() for a in hits]
        choices = ", ".join(texts[:-1]) + f" of {texts[-1]}" if len(texts) > 1 else texts[0]
        if wanted:
            message = f"Huisnummer {nr}{wanted} bestaat niet bij {format_postcode(pc)}; kies {choices}."
        else:
            message = f"Huisnummer {nr} heeft een letter of toevoeging; kies {choices}."
        return Lookup("kies", tuple(hits), message)

    def search(self, text: str, *, limit: int = 10) -> list[GazetteerAdres]:
        """Free-text search: ``"kerkstraat 12a dalfsen"``, ``"7721 EJ 12"``, ``"julianastr 3"``,
        ``"1e dwarsstraat 4"``, ``"plein 1813 2"``.

        A postcode in the text takes the fast path. Otherwise the text is read in turn as (1) only
        words of the street and place — a word with digits must then be a word of the street name
        (``1e``, ``1813``; the last word may be its start) — and (2) street words plus a huisnummer,
        trying the last number in the text first, with the letter or addition that follows it; the
        first reading that finds addresses is the answer. So a street name with digits is never
        taken apart for its house number (issue 14). Every street word must start a word of the street
        or woonplaats (or occur in the street name); a letter/addition narrows when it exists.
        Ordered by street, woonplaats, gemeente, number; at most ``limit`` results; empty for empty
        text. Never raises for odd input.
        """
        folded = _fold(text)
        if not folded:
            return []
        m = re.search(r"\b([1-9][0-9]{3})\s?([a-z]{2})\b", folded)
        if m:
            pc = (m.group(1) + m.group(2)).upper()
            rest = (folded[: m.start()] + " " + folded[m.end() :]).strip()
            num = re.search(r"\b(\d{1,5})((?:\s*[a-z0-9]{1,4}\b)?)", rest)
            numbers = self._by_postcode.get(pc, {})
            if num:
                try:
                    result = self.lookup(pc, num.group(1) + num.group(2))
                except ValidationError:
                    return []
                return list(result.matches)[:limit]
            return [a for hits in numbers.values() for a in hits][:limit]
        tokens = folded.split()
        for words, nr, suffix in _readings(tokens):
            hits = self._street_hits(words, nr, suffix, limit, digits_exact=nr is None)
            if hits:
                return hits
        return []

    def _street_hits(
        self, words: list[str], nr: int | None, suffix: str, limit: int, *, digits_exact: bool
    ) -> list[GazetteerAdres]:
        if not words:
            return []
        last = len(words) - 1

        def matches(w: str, i: int, street: str, place: str) -> bool:
            if digits_exact and any(c.isdigit() for c in w):
                # A word with digits read as part of the street name must be one of its words (the
                # last one typed may still be incomplete).
                return any(t == w or (i == last and t.startswith(w)) for t in street.split())
            return w in street or any(h.startswith(w) for h in (*street.split(), *place.split()))

        streets = sorted(
            key for key in self._by_street if all(matches(w, i, key[0], key[1]) for i, w in enumerate(words))
        )
        # Streets in order, each already sorted by number: the first ``limit`` hits are the answer, so
        # a short prefix matching half the municipality stops early (no letter to narrow by).
        hits: list[GazetteerAdres] = []
        for key in streets:
            hits.extend(a for a in self._by_street[key] if nr is None or a.huisnummer == nr)
            if not suffix and len(hits) >= limit:
                break
        if suffix:
            narrowed = [a for a in hits if a.suffix == suffix]
            hits = narrowed or hits
        return hits[:limit]

    def nearest(self, lat: float, lon: float, *, max_m: float = NEAREST_MAX_M) -> Nearest | None:
        """The address closest to a WGS84 point, or None when none lies within ``max_m`` metres.

        Source: issue 7 — with no address within 100 m the melding is location-only.
        """
        min_lat, max_lat, min_lon, max_lon = bbox_around(lat, lon, max_m)
        c0, c1 = _cell(min_lat, min_lon), _cell(max_lat, max_lon)
        best: Nearest | None = None
        for i in range(c0[0], c1[0] + 1):
            for j in range(c0[1], c1[1] + 1):
                for a in self._grid.get((i, j), ()):
                    d = distance_m(lat, lon, a.lat, a.lon)
                    if d <= max_m and (best is None or d < best.afstand_m):
                        best = Nearest(a, d)
        return best


_NUMBER_TOKEN = re.compile(r"^(\d{1,5})([a-z]{0,2})$")


def _readings(tokens: list[str]) -> Iterator[tuple[list[str], int | None, str]]:
    """The ways to read free text as ``(street and place words, huisnummer, letter+addition)``, in
    the order :meth:`Gazetteer.search` tries them: no number at all, then each number-like word
    from the last to the first, with the short word after it as letter/addition and without."""
    yield tokens, None, ""
    for i in range(len(tokens) - 1, -1, -1):
        m = _NUMBER_TOKEN.match(tokens[i])
        if not m or int(m.group(1)) == 0:
            continue
        nr, own = int(m.group(1)), m.group(2).upper()
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if not own and after is not None and len(after) <= 4 and (len(after) == 1 or any(c.isdigit() for c in after)):
            yield tokens[:i] + tokens[i + 2 :], nr, after.upper()
        yield tokens[:i] + tokens[i + 1 :], nr, own


_POSTCODE_IN_LINE = re.compile(r"\b([1-9][0-9]{3})\s?([A-Za-z]{2})\b")


def parse_adres_line(text: str) -> Adres:
    """An address as written on an envelope, in one line: ``"Kerkstraat 12a, 7721 EJ Dalfsen"``,
    ``"Kerkstraat 12 Dalfsen"``, ``"Dorpsweg 3 bis, Ommen"``, ``"7721EJ 12"``,
    ``"Laan 1940-1945 7, Dalfsen"``. A postcode (anywhere) is the postcode, with the woonplaats after
    it; before it, the last word that starts with a number is the huisnummer (a short word after it
    its letter or addition), the words before it the street, and words after it the woonplaats.
    Used when no gazetteer can be asked.

    Raises:
        ValidationError: empty, or no street and no postcode could be read (field ``postadres``).
    """
    line = " ".join(clean_text(text, "postadres", max_length=MAX_SHORT_TEXT_LENGTH).split())
    postcode: str | None = None
    woonplaats = ""
    before = line
    nummer_text = ""
    m = _POSTCODE_IN_LINE.search(line)
    if m:
        postcode = normalise_postcode(m.group(1) + m.group(2))
        before, after = line[: m.start()].strip(" ,"), line[m.end() :].strip(" ,")
        if re.fullmatch(r"\d{1,5}\S{0,5}", after):  # postcode first: "7721EJ 12"
            nummer_text = after
        else:
            woonplaats = after
    if "," in before:
        before, rest = (p.strip() for p in before.split(",", 1))
        woonplaats = woonplaats or rest
    tokens = before.split()
    straat = before
    at = next((i for i in range(len(tokens) - 1, -1, -1) if re.match(r"\d{1,5}(?:[-/]?[A-Za-z0-9]{0,4})?$", tokens[i])), None)
    if at is not None and at > 0 and not nummer_text:
        tail = tokens[at + 1 :]
        nummer_text = tokens[at]
        # One short word after the number is its letter or addition ("3 bis", "12 a") when the place
        # is known otherwise; without it only a word of two characters or with a digit is ("Ede" is
        # a place).
        if len(tail) == 1 and len(tail[0]) <= 4 and (woonplaats or len(tail[0]) <= 2 or any(c.isdigit() for c in tail[0])):
            nummer_text += " " + tail[0]
            tail = []
        straat = " ".join(tokens[:at])
        woonplaats = woonplaats or " ".join(tail)
    nummer = None
    if nummer_text:
        try:
            nummer = parse_huisnummer(nummer_text)
        except ValidationError:
            nummer = None
            straat = before
    if not straat and not postcode:
        raise ValidationError("postadres", "Geef een adres: straat en huisnummer, of postcode en huisnummer.")
    return Adres(
        straat=straat,
        huisnummer=nummer[0] if nummer else None,
        huisletter=nummer[1] if nummer else None,
        huisnummertoevoeging=nummer[2] if nummer else None,
        postcode=postcode,
        woonplaats=woonplaats,
    )


@lru_cache(maxsize=1)
def load_sample_gazetteer() -> Gazetteer:
    """The shipped SAMPLE gazetteer (made-up addresses around Dalfsen; ``sample=True``), cached."""
    text = resources.files("shared").joinpath("data/sample_gazetteer.csv").read_text(encoding="utf-8")
    return Gazetteer(parse_gazetteer_csv(text).adressen, sample=True, source="sample_gazetteer.csv")
