"""Bringing existing registrations in: a spreadsheet row → a melding, by the rules the TUI uses.

The wijkuitvoerders keep separate registrations (sewer complaints, on-call logs) in spreadsheets.
``wijkteam-server import FILE --mapping MAPPING.toml`` (``sync_server.import_cli``) reads such a
file; this module holds everything that does not touch a file or a database:

* :class:`ImportMapping`: the mapping file (which column holds what, the file's own words for
  categories, channels and statuses, defaults). Example: ``docs/import/mapping-voorbeeld.toml``.
* :func:`parse_dutch_datetime`: dates as people type them in the Netherlands (``3-2-2025 14:30``,
  ``03/02/25``, ``3 feb. 2025``, ``2025-02-03``, spreadsheet date cells), day first.
* :func:`read_row`: one row → an :class:`ImportRow` (the fields of ``shared.commands.register``, the
  original registration time, status and closing time, a key that recognises the row again) or a
  :class:`RowRefusal` with the Dutch reason. Texts, postcode, house number, phone number and e-mail
  go through ``shared.validation`` and the categorie through the taxonomy in force, exactly as at
  the intake.
* :func:`import_events`: the events of one imported melding, stamped at its original times.

An imported melding is marked three ways: ``bron = "import"`` on its ``created`` event (a projection
column, so reports can say "imported data"), the user ``import`` on its events, and a note in its
history naming the file, the line and the mapping's ``bron`` label.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import msgspec

from shared.commands import DeviceClock, add_note, change_status, register
from shared.deadlines import AMS
from shared.enums import Kanaal, MeldingType, Prioriteit, Status, VierB
from shared.errors import ValidationError
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.hlc import HLC
from shared.model import Adres, Melder, Punt
from shared.taxonomy import Taxonomy
from shared.validation import (
    MAX_SHORT_TEXT_LENGTH,
    clean_line,
    normalise_email,
    normalise_phone,
    normalise_postcode,
    parse_huisnummer,
)

#: The user name on imported events (the history shows it).
IMPORT_USER = "import"
#: ``bron`` of an imported melding (``CreatedPayload.bron``, projection column ``bron``).
BRON_IMPORT = "import"


class Kolommen(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which column of the file holds what: the header text as written in the file.

    ``ontvangen`` (date, or date and time, of registration) and ``omschrijving`` are required; give
    ``tijd`` when the time is in a column of its own. An address is ``postcode`` + ``huisnummer``
    and/or ``straat`` (+ ``huisnummer`` or a number in the street text) + ``woonplaats``; ``locatie``
    is a free description. ``kenmerk`` is the file's own number for a row: with it, a row is
    recognised on re-import by that number, without it by its content.
    """

    ontvangen: str
    omschrijving: str
    tijd: str | None = None
    categorie: str | None = None
    kanaal: str | None = None
    type: str | None = None
    prioriteit: str | None = None
    straat: str | None = None
    huisnummer: str | None = None
    postcode: str | None = None
    woonplaats: str | None = None
    locatie: str | None = None
    status: str | None = None
    afgehandeld: str | None = None
    afhandeling: str | None = None
    melder_naam: str | None = None
    melder_telefoon: str | None = None
    melder_email: str | None = None
    kenmerk: str | None = None


class Standaard(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Values for rows (or whole files) that do not say: a channel, type, prioriteit, status,
    categorie and vier B."""

    kanaal: Kanaal = Kanaal.TELEFOON
    type: MeldingType = MeldingType.MELDING
    prioriteit: Prioriteit = Prioriteit.NORMAAL
    status: Status = Status.GEMELD
    categorie: str | None = None
    vier_b: VierB | None = None


class ImportMapping(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A mapping file (TOML).

    Attributes:
        bron: what the file is, in the history of every imported melding ("Rioolklachten 2025").
        blad: the sheet of an .xlsx file (default: the first).
        kopregel: the row number (1-based) of the column headers.
        scheidingsteken: the separator of a .csv file (default: ``;`` or ``,``, whichever the
            header row uses).
        kolommen: :class:`Kolommen`.
        categorieen / kanalen / statussen / typen / prioriteiten: the file's own word → ours
            (compared without case and surrounding spaces; our own code is accepted as it is).
        standaard: :class:`Standaard`.
    """

    bron: str
    kolommen: Kolommen
    blad: str | None = None
    kopregel: int = 1
    scheidingsteken: str | None = None
    categorieen: dict[str, str] = {}
    kanalen: dict[str, Kanaal] = {}
    statussen: dict[str, Status] = {}
    typen: dict[str, MeldingType] = {}
    prioriteiten: dict[str, Prioriteit] = {}
    standaard: Standaard = Standaard()


def check_mapping(mapping: ImportMapping, taxonomy: Taxonomy) -> None:
    """Rules a mapping must meet before any row is read.

    Raises:
        ValidationError: (field ``mapping``) a category it maps to is unknown or retired, the
            header row is not 1 or more, or the ``bron`` label is empty or not one line.
    """
    if mapping.kopregel < 1:
        raise ValidationError("mapping", "kopregel is het regelnummer van de kolomkoppen: 1 of meer.")
    clean_line(mapping.bron, "bron", max_length=MAX_SHORT_TEXT_LENGTH, required=True)
    targets = list(mapping.categorieen.values()) + ([mapping.standaard.categorie] if mapping.standaard.categorie else [])
    for code in targets:
        try:
            taxonomy.kiesbaar(code)
        except ValidationError as exc:
            raise ValidationError("mapping", f"[categorieen]: {exc.message}") from None


# -- dates ------------------------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "januari": 1, "feb": 2, "februari": 2, "mrt": 3, "maart": 3, "mar": 3, "apr": 4, "april": 4,
    "mei": 5, "jun": 6, "juni": 6, "jul": 7, "juli": 7, "aug": 8, "augustus": 8, "sep": 9, "sept": 9,
    "september": 9, "okt": 10, "oktober": 10, "oct": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
_TIME = r"(?:[ T]+(?:om\s+)?(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?:[:.](?P<s>\d{2}))?(?:\s*u(?:ur)?)?)?"
_NUMERIC = re.compile(r"^(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4}|\d{2})" + _TIME + "$")
_ISO = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _TIME + r"(?:\.\d+)?$")
_NAMED = re.compile(r"^(?:[a-z]+\.?,?\s+)?(?P<d>\d{1,2})\s+(?P<mname>[a-z]+)\.?\s+(?P<y>\d{4})" + _TIME + "$")
_CLOCK = re.compile(r"^(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?:[:.](?P<s>\d{2}))?(?:\s*u(?:ur)?)?$")
#: A date without a time counts as this local time (midday: never another day in UTC).
DATE_ONLY_TIME = time(12, 0)


def _local(d: date, t: time | None) -> datetime:
    return datetime.combine(d, t or DATE_ONLY_TIME, tzinfo=AMS)


def parse_dutch_datetime(value: Any, field: str, *, clock: Any = None) -> tuple[datetime, bool]:
    """A date or date-time as written in a Dutch spreadsheet → ``(aware UTC instant, has_time)``.

    Accepted: spreadsheet date/date-time cells (naive: Europe/Amsterdam); text ``d-m-jjjj``,
    ``d/m/jj``, ``d.m.jjjj`` (day first, a two-digit year is 20jj), ``jjjj-mm-dd``, ``3 feb. 2025``,
    ``maandag 3 februari 2025``, each optionally followed by a time ``14:30``, ``14.30``,
    ``om 14:30 uur``. ``clock`` is a separate time value (a cell or ``"14:30"``). A date without a
    time counts as :data:`DATE_ONLY_TIME` local time.

    Raises:
        ValidationError: empty, not a date in these forms, or a day that does not exist (31-2-2025).
    """
    t = _parse_clock(clock, field) if clock not in (None, "") else None
    if isinstance(value, datetime):
        has_time = value.time() != time(0, 0) or t is not None
        local = value.replace(tzinfo=AMS) if value.tzinfo is None else value
        if t is not None:
            local = datetime.combine(local.date(), t, tzinfo=AMS)
        elif not has_time:
            local = _local(local.date(), None)
        return local.astimezone(UTC), has_time
    if isinstance(value, date):
        return _local(value, t).astimezone(UTC), t is not None
    text = " ".join(str(value or "").strip().lower().split())
    if not text:
        raise ValidationError(field, "datum ontbreekt")
    m = _NUMERIC.match(text) or _ISO.match(text) or _NAMED.match(text)
    if not m:
        raise ValidationError(field, f"onbekende datum '{value}' (schrijf bijvoorbeeld 3-2-2025 of 3-2-2025 14:30)")
    parts = m.groupdict()
    month = _MONTHS.get(parts["mname"].rstrip(".")) if parts.get("mname") else int(parts["m"])
    if month is None:
        raise ValidationError(field, f"onbekende maand in '{value}'")
    year = int(parts["y"]) + (2000 if len(parts["y"]) == 2 else 0)
    try:
        d = date(year, month, int(parts["d"]))
        if parts.get("h") is not None and t is None:
            t = time(int(parts["h"]), int(parts["mi"]), int(parts["s"] or 0))
    except ValueError:
        raise ValidationError(field, f"'{value}' is geen bestaande datum of tijd") from None
    return _local(d, t).astimezone(UTC), t is not None


def _parse_clock(value: Any, field: str) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, datetime):
        return value.time()
    m = _CLOCK.match(str(value).strip().lower())
    try:
        if m:
            return time(int(m["h"]), int(m["mi"]), int(m["s"] or 0))
    except ValueError:
        pass
    raise ValidationError(field, f"onbekende tijd '{value}' (schrijf bijvoorbeeld 14:30)")


# -- rows -------------------------------------------------------------------------------------------


class RowRefusal(msgspec.Struct, frozen=True):
    """A row that is not imported: its line in the file and the Dutch reason."""

    line: int
    reason: str


@dataclass(frozen=True)
class ImportRow:
    """A row that becomes a melding.

    Attributes:
        line: the row's line in the file (1-based, as a spreadsheet shows it).
        key: recognises the row on a later import: ``kenmerk:<bron>:<kenmerk>`` when the file numbers
            its rows, else ``inhoud:<sha256 of the row's values>``.
        registered_at: the original registration instant (UTC).
        fields: the melding's fields (as for ``shared.commands.register``).
        status: the status to end in (``gemeld`` when the file has none).
        closed_at: when it was closed (UTC), for a closed status.
        afhandeling: the file's closing text, if any.
    """

    line: int
    key: str
    registered_at: datetime
    fields: MeldingFields
    status: Status
    closed_at: datetime | None
    afhandeling: str


def _fold_word(text: Any) -> str:
    return " ".join(str(text).split()).casefold()


def _lookup_word(value: str, table: Mapping[str, Any], allowed: Any, what: str, section: str) -> Any:
    folded = _fold_word(value)
    for key, ours in table.items():
        if _fold_word(key) == folded:
            return ours
    try:
        return allowed(folded)
    except ValueError:
        adjective = "onbekend" if what in ("kanaal", "type") else "onbekende"  # het kanaal, de categorie
        raise ValidationError(what, f"{adjective} {what} '{value}' (voeg het woord toe onder [{section}] in de mapping)") from None


def _cell(row: Mapping[str, Any], column: str | None) -> Any:
    if column is None:
        return None
    value = row.get(column)
    if isinstance(value, str):
        value = value.strip()
    return None if value == "" else value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a spreadsheet number cell: 12.0 is house number 12
    return str(value).strip()


#: Where an address lookup finds a postcode + house number: (straat, woonplaats, lat, lon) or None.
AddressLookup = Callable[[str, int, str | None, str | None], tuple[str, str, float, float] | None]


def is_empty(row: Mapping[str, Any]) -> bool:
    """True for a row without any value (skipped silently, not refused)."""
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row.values())


def read_row(
    row: Mapping[str, Any],
    line: int,
    mapping: ImportMapping,
    taxonomy: Taxonomy,
    *,
    lookup: AddressLookup | None = None,
    resolve_wijk: Callable[[Adres | None, Punt | None], str | None] | None = None,
    now: datetime | None = None,
) -> ImportRow | RowRefusal:
    """One row of the file (header text → cell value) as a melding to create, or a refusal.

    Args:
        lookup: finds an address's street, place and point by postcode + house number (the
            server's gazetteer); missing parts are filled in from it.
        resolve_wijk: the wijk code for an address and/or point (``shared.wijken``), or None.
        now: refuses registration times after it (default: now).

    Never raises for bad data: every problem is a :class:`RowRefusal` with the reason.
    """
    k = mapping.kolommen
    try:
        registered_at, _ = parse_dutch_datetime(_cell(row, k.ontvangen), "ontvangen", clock=_cell(row, k.tijd))
        if registered_at > (now or datetime.now(UTC)) + timedelta(minutes=5):
            raise ValidationError("ontvangen", "de datum ligt in de toekomst")
        omschrijving = _text(_cell(row, k.omschrijving))
        if not omschrijving:
            raise ValidationError("omschrijving", "de omschrijving ontbreekt")
        raw_cat = _text(_cell(row, k.categorie))
        categorie = (
            _lookup_word(raw_cat, mapping.categorieen, lambda w: _known_code(w, taxonomy), "categorie", "categorieen")
            if raw_cat
            else mapping.standaard.categorie
        )
        if categorie is not None:
            taxonomy.kiesbaar(categorie)
        kanaal = _word(row, k.kanaal, mapping.kanalen, Kanaal, "kanaal", "kanalen", mapping.standaard.kanaal)
        type_ = _word(row, k.type, mapping.typen, MeldingType, "type", "typen", mapping.standaard.type)
        prio = _word(row, k.prioriteit, mapping.prioriteiten, Prioriteit, "prioriteit", "prioriteiten", mapping.standaard.prioriteit)
        status = _word(row, k.status, mapping.statussen, Status, "status", "statussen", mapping.standaard.status)
        if status == Status.HEROPEND:
            raise ValidationError("status", "een melding kan niet als 'heropend' binnenkomen; kies een andere status")
        adres, punt = _address(row, k, lookup)
        melder = _melder(row, k)
        closed_at = None
        afhandeling = _text(_cell(row, k.afhandeling))
        if status in (Status.AFGEHANDELD, Status.GEANNULEERD, Status.DOORGEZET):
            raw_closed = _cell(row, k.afgehandeld)
            if raw_closed is None:
                raise ValidationError("afgehandeld", f"status '{status.label}' zonder datum van afhandeling")
            closed_at, has_time = parse_dutch_datetime(raw_closed, "afgehandeld")
            if not has_time:  # a closing day without a time: the end of the working day
                closed_at = datetime.combine(closed_at.astimezone(AMS).date(), time(17, 0), tzinfo=AMS).astimezone(UTC)
            if closed_at.astimezone(AMS).date() < registered_at.astimezone(AMS).date():
                raise ValidationError("afgehandeld", "afgehandeld vóór de datum van ontvangst")
            closed_at = max(closed_at, registered_at + timedelta(minutes=1))
        fields = MeldingFields(
            type=type_,
            kanaal=kanaal,
            melder=melder,
            adres=adres,
            punt=punt,
            locatie_omschrijving=_text(_cell(row, k.locatie)),
            categorie=categorie,
            prioriteit=prio,
            omschrijving=omschrijving,
            vier_b=mapping.standaard.vier_b,
            wijk=resolve_wijk(adres, punt) if resolve_wijk and (adres or punt) else None,
        )
    except ValidationError as exc:
        return RowRefusal(line, f"{exc.field}: {exc.message}")
    kenmerk = _text(_cell(row, k.kenmerk))
    if kenmerk:  # the file's own number, within this source (two logs may both count 1, 2, 3)
        key = f"kenmerk:{_fold_word(mapping.bron)}:{_fold_word(kenmerk)}"
    else:
        content = msgspec.json.encode([registered_at, msgspec.to_builtins(fields), status, closed_at])
        key = "inhoud:" + hashlib.sha256(content).hexdigest()
    return ImportRow(line, key, registered_at, fields, status, closed_at, afhandeling)


def _known_code(word: str, taxonomy: Taxonomy) -> str:
    if word in taxonomy:
        return word
    raise ValueError(word)


def _word(row: Mapping[str, Any], column: str | None, table: Mapping[str, Any], kind: Any, what: str, section: str, default: Any) -> Any:
    raw = _text(_cell(row, column))
    return _lookup_word(raw, table, kind, what, section) if raw else default


def _address(row: Mapping[str, Any], k: Kolommen, lookup: AddressLookup | None) -> tuple[Adres | None, Punt | None]:
    straat = _text(_cell(row, k.straat))
    nummer = _text(_cell(row, k.huisnummer))
    if straat and not nummer:
        m = re.match(r"^(?P<straat>.*?\D)\s+(?P<nr>\d+\s*[A-Za-z]?(?:[\s\-/]*[A-Za-z0-9]{1,4})?)$", straat)
        if m:  # "Kerkstraat 12a" in one cell
            straat, nummer = m["straat"].strip(), m["nr"]
    raw_pc = _text(_cell(row, k.postcode))
    postcode = normalise_postcode(raw_pc) if raw_pc else None
    huisnummer = letter = toevoeging = None
    if nummer:
        huisnummer, letter, toevoeging = parse_huisnummer(nummer)
    woonplaats = _text(_cell(row, k.woonplaats))
    straat = clean_line(straat, "straat", max_length=MAX_SHORT_TEXT_LENGTH)
    woonplaats = clean_line(woonplaats, "woonplaats", max_length=MAX_SHORT_TEXT_LENGTH)
    punt = None
    if postcode and huisnummer and lookup is not None:
        found = lookup(postcode, huisnummer, letter, toevoeging)
        if found:
            straat = straat or found[0]
            woonplaats = woonplaats or found[1]
            punt = Punt(lat=found[2], lon=found[3])
    if not (straat or postcode or woonplaats or huisnummer):
        return None, None
    if huisnummer is not None and not (straat or postcode):
        raise ValidationError("adres", "een huisnummer zonder straat of postcode")
    adres = Adres(
        straat=straat, huisnummer=huisnummer, huisletter=letter, huisnummertoevoeging=toevoeging,
        postcode=postcode, woonplaats=woonplaats,
    )  # fmt: skip
    return adres, punt


def _melder(row: Mapping[str, Any], k: Kolommen) -> Melder | None:
    naam = _text(_cell(row, k.melder_naam))
    tel = _text(_cell(row, k.melder_telefoon))
    mail = _text(_cell(row, k.melder_email))
    if "@" in tel and not mail:  # one "contact" column holding a phone number or an e-mail address
        tel, mail = "", tel
    if not (naam or tel or mail):
        return None
    return Melder(
        naam=naam,
        telefoon=normalise_phone(tel) if tel else None,
        email=normalise_email(mail) if mail else None,
    )


# -- events -----------------------------------------------------------------------------------------


def _at(dev: DeviceClock, instant: datetime) -> DeviceClock:
    """A clock for ``dev``'s identity and counter whose stamps carry ``instant`` (original times)."""
    ms = int(instant.timestamp() * 1000)
    return DeviceClock(dev.device_id, IMPORT_USER, dev.seq, HLC(clock=lambda: ms))


def import_events(
    dev: DeviceClock, row: ImportRow, *, prefix: str, counter: int, taxonomy: Taxonomy, file_label: str, bron: str
) -> list[Event]:
    """The events of one imported melding, made on the server's device ``dev``.

    ``created`` is stamped at the original registration time (``registered_at`` and its HLC), a
    status change to a closed status at the closing time, both by user ``import``; a note by
    ``dev``'s user, stamped now, names the file, the line and ``bron``. ``dev.seq`` advances.

    Raises:
        ValidationError: the row breaks a rule of ``shared.commands`` (the caller refuses the row).
    """
    then = _at(dev, row.registered_at)
    created = register(
        then, prefix=prefix, counter=counter, fields=row.fields, registered_at=row.registered_at,
        taxonomy=taxonomy, bron=BRON_IMPORT,
    )  # fmt: skip
    events = [created]
    state = fold(events, history=False)
    assert state is not None
    if row.status != Status.GEMELD:
        closing = _at(then, row.closed_at or row.registered_at + timedelta(minutes=1))
        note = row.afhandeling or f"{row.status.label} volgens {bron} (import)."
        events.append(change_status(closing, state, row.status, note))
        then = closing
    dev.seq = then.seq
    events.append(add_note(dev, state, f"Geïmporteerd uit {file_label}, regel {row.line} (bron: {bron})."))
    return events
