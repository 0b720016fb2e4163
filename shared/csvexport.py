"""The CSV rules of every export (laptop meldingen export, the barometer's CSV, every server CSV).

One implementation, so a file opens the same way wherever it came from. The target is a double
click in a Dutch Excel:

* UTF-8 with a byte-order mark (without it Excel reads the file as Windows-1252 and mangles ë, é);
* ``;`` between fields and a decimal comma (Dutch Excel's list separator and decimal sign); with
  ``comma=True`` (``--komma``) ``,`` and a decimal point, for an English Excel or other tools;
* ``\\r\\n`` line ends, fields quoted only when needed (``csv.QUOTE_MINIMAL``);
* numbers as plain numbers (``87,5``), no value as an empty cell, ``True``/``False`` as ``ja``/``nee``;
* instants as Europe/Amsterdam local time ``dd-mm-jjjj uu:mm`` and dates as ``dd-mm-jjjj``
  (what Dutch Excel recognises as a date);
* **formula injection**: a text cell that starts — after spaces — with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return would be run by Excel as a formula (OWASP, "CSV Injection"); it gets a
  leading apostrophe (:func:`neutralise`). Phone numbers are written by :func:`phone_cell` in a form
  that never starts with such a character (``06 12345678``, ``0032 …`` abroad), so they stay
  readable and need no apostrophe.

Callers pass typed values (``str``, ``int``, ``float``, ``bool``, ``date``, ``datetime``, ``None``) and
choose labels instead of codes themselves; this module only decides how a value is written.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, TextIO

from shared.deadlines import AMS
from shared.enums import Kanaal, MeldingType, Prioriteit, Status, VierB
from shared.projection import parse_iso

#: Written first so Excel reads UTF-8.
BOM = "\ufeff"

#: Characters that make a spreadsheet treat a cell as a formula when they open it.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CsvStyle(NamedTuple):
    """Field separator and decimal sign of a CSV file."""

    delimiter: str
    decimal: str


#: What a Dutch Excel opens on a double click (the default everywhere).
DUTCH = CsvStyle(";", ",")
#: ``,`` and a decimal point (``--komma``).
INTERNATIONAL = CsvStyle(",", ".")


def style(comma: bool = False) -> CsvStyle:
    """:data:`INTERNATIONAL` when ``comma`` is set, else :data:`DUTCH`."""
    return INTERNATIONAL if comma else DUTCH


def neutralise(text: str) -> str:
    """``text`` made safe against formula injection: a leading apostrophe when it starts (after
    spaces) with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return; otherwise unchanged.

    Example: ``"=HYPERLINK(…)"`` → ``"'=HYPERLINK(…)"``; ``"Kerkstraat 12"`` stays as it is.
    """
    if text and text.lstrip(" \u00a0")[:1] in FORMULA_START:
        return "'" + text
    return text


def number(value: float | int, decimal: str = ",") -> str:
    """A number as CSV text with ``decimal`` as decimal sign; no exponent, no thousands separator."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a number here")
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    if "e" in text or "E" in text:
        text = f"{value:.12f}".rstrip("0").rstrip(".")
    if text.endswith(".0"):
        text = text[:-2]
    return text.replace(".", decimal)


def local_datetime(value: datetime) -> str:
    """An aware instant as Europe/Amsterdam ``dd-mm-jjjj uu:mm`` (to the minute)."""
    return value.astimezone(AMS).strftime("%d-%m-%Y %H:%M")


def local_day(value: date) -> str:
    """A calendar date as ``dd-mm-jjjj``."""
    return value.strftime("%d-%m-%Y")


def phone_cell(e164: str | None) -> str:
    """A stored phone number (E.164, ``+31612345678``) as a readable cell that Excel will not take for
    a formula: ``06 12345678`` for a Dutch number, the international form with ``00`` instead of ``+``
    (``0032 470 12 34 56``) for another country. Unknown text goes through :func:`neutralise`."""
    if not e164:
        return ""
    from shared.validation import format_phone

    text = format_phone(e164)
    if text.startswith("+"):
        text = "00" + text[1:]
    return neutralise(text)


def cell(value: Any, csv_style: CsvStyle = DUTCH) -> str:
    """One value as CSV text by the rules above (``None`` → empty; text is neutralised)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, int | float):
        return number(value, csv_style.decimal)
    if isinstance(value, datetime):
        return local_datetime(value)
    if isinstance(value, date):
        return local_day(value)
    if isinstance(value, _Prepared):
        return str(value)
    return neutralise(str(value))


class CsvWriter:
    """Writes rows of typed values to ``out`` by the rules of this module.

    Args:
        out: a text stream opened with ``newline=""`` (the writer ends lines with ``\\r\\n`` itself).
        csv_style: :data:`DUTCH` (default) or :data:`INTERNATIONAL`.
        bom: write the byte-order mark first (leave it off when appending to a stream that has one).
    """

    def __init__(self, out: TextIO, csv_style: CsvStyle = DUTCH, *, bom: bool = True) -> None:
        self.style = csv_style
        if bom:
            out.write(BOM)
        self._w = csv.writer(out, delimiter=csv_style.delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self.rows = 0

    def header(self, names: Sequence[str]) -> None:
        """The header row (labels are text too, so they are neutralised like any cell)."""
        self._w.writerow([neutralise(n) for n in names])

    def row(self, values: Iterable[Any]) -> None:
        """One data row; raw values are converted by :func:`cell`."""
        self._w.writerow([cell(v, self.style) for v in values])
        self.rows += 1


def write_csv(
    out: TextIO, header: Sequence[str], rows: Iterable[Iterable[Any]], csv_style: CsvStyle = DUTCH, *, bom: bool = True
) -> int:
    """Write ``header`` and ``rows`` as one CSV table; returns the number of data rows."""
    w = CsvWriter(out, csv_style, bom=bom)
    w.header(header)
    for r in rows:
        w.row(r)
    return w.rows


# -- the meldingen table -----------------------------------------------------------------------------------

#: Columns that hold personal data of the reporter; written only with ``--met-persoonsgegevens``.
PERSONAL_COLUMNS: tuple[str, ...] = ("Naam melder", "Telefoon melder", "E-mail melder")


def _instant(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def _label(dim: str, code: str | None) -> str | None:
    if not code:
        return None
    from shared.barometer.report import group_label

    return group_label(dim, code)


def _enum_label(enum: Any, code: str | None) -> str | None:
    if not code:
        return None
    try:
        return enum(code).label
    except ValueError:
        return code


def melding_columns(personal: bool) -> tuple[str, ...]:
    """The header of the meldingen CSV (labels, in order); the reporter's name, phone and e-mail
    (:data:`PERSONAL_COLUMNS`) only when ``personal``."""
    return tuple(c for c, _ in _MELDING_COLUMNS if personal or c not in PERSONAL_COLUMNS)


def melding_values(row: dict[str, Any], personal: bool) -> list[Any]:
    """The typed values of one projection row (``shared.projection.COLUMNS``) for the meldingen CSV,
    in :func:`melding_columns` order: labels instead of codes, instants as aware datetimes (the
    writer shows them in Europe/Amsterdam), no internal columns (ids, device, clocks, counters)."""
    return [get(row) for c, get in _MELDING_COLUMNS if personal or c not in PERSONAL_COLUMNS]


def _rd(row: dict[str, Any], i: int) -> float | None:
    from shared.geo import rd_columns

    xy = rd_columns(row.get("lat"), row.get("lon"))
    return None if xy[i] is None else round(xy[i], 2)


def _postcode(code: str | None) -> str | None:
    from shared.validation import format_postcode

    return format_postcode(code) if code else None


def _phone(row: dict[str, Any]) -> _Prepared | None:
    return _Prepared(phone_cell(row.get("melder_telefoon"))) if row.get("melder_telefoon") else None


class _Prepared(str):
    """A cell text already made safe (phone numbers): :func:`cell` writes it as it is."""


_MELDING_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("Referentie", lambda r: r.get("reference")),
    ("Type", lambda r: _enum_label(MeldingType, r.get("type"))),
    ("Kanaal", lambda r: _enum_label(Kanaal, r.get("kanaal"))),
    ("Geregistreerd op", lambda r: _instant(r.get("registered_at"))),
    ("Geregistreerd door", lambda r: r.get("registered_by")),
    ("Categorie", lambda r: _label("categorie", r.get("categorie"))),
    ("Servicenorm (werkdagen)", lambda r: r.get("servicenorm")),
    ("Uiterlijk klaar", lambda r: _instant(r.get("deadline"))),
    ("Prioriteit", lambda r: _enum_label(Prioriteit, r.get("prioriteit"))),
    ("Vier B", lambda r: _enum_label(VierB, r.get("vier_b"))),
    ("Status", lambda r: _enum_label(Status, r.get("status"))),
    ("Behandelaar", lambda r: r.get("behandelaar")),
    ("Wijk", lambda r: _label("wijk", r.get("wijk"))),
    ("Straat", lambda r: r.get("straat")),
    ("Huisnummer", lambda r: r.get("huisnummer")),
    ("Huisletter", lambda r: r.get("huisletter")),
    ("Toevoeging", lambda r: r.get("huisnummertoevoeging")),
    ("Postcode", lambda r: _postcode(r.get("postcode"))),
    ("Woonplaats", lambda r: r.get("woonplaats")),
    ("Locatie", lambda r: r.get("locatie_omschrijving")),
    ("RD x (m)", lambda r: _rd(r, 0)),
    ("RD y (m)", lambda r: _rd(r, 1)),
    ("Breedtegraad", lambda r: r.get("lat")),
    ("Lengtegraad", lambda r: r.get("lon")),
    ("Omschrijving", lambda r: r.get("omschrijving")),
    ("Naam melder", lambda r: r.get("melder_naam")),
    ("Telefoon melder", _phone),
    ("E-mail melder", lambda r: r.get("melder_email")),
    ("Melder anoniem", lambda r: bool(r.get("melder_anoniem"))),
    ("Aantal melders", lambda r: r.get("melder_count") or 1),
    ("Eerst afgehandeld op", lambda r: _instant(r.get("first_closed_at"))),
    ("Laatst afgehandeld op", lambda r: _instant(r.get("closed_at"))),
    ("Keren heropend", lambda r: r.get("reopen_count") or 0),
    ("Eerste terugkoppeling op", lambda r: _instant(r.get("first_callback_at"))),
    ("Aantal terugkoppelingen", lambda r: r.get("callback_count") or 0),
    ("Duplicaat van", lambda r: r.get("duplicaat_van")),
    ("Toelichting voor de melder", lambda r: r.get("public_note")),
)
