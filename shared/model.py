"""Value objects of a melding and the melding's current state (the result of ``shared.fold``).

All instants are aware ``datetime`` in UTC. Coordinates are WGS84 (EPSG:4326) degrees rounded to
7 decimals (about 1 cm), so they survive JSON, SQLite and sync without drifting digits.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
import msgspec.structs

from shared.enums import Kanaal, MeldingType, Prioriteit, Status, VierB
from shared.validation import (
    EMAIL,
    HUISLETTER,
    NAME,
    PHONE,
    POSTCODE,
    SHORT_LINE,
    TOEVOEGING,
    IntRange,
    format_postcode,
)

#: BAG: a huisnummer is 1–99999.
HUISNUMMER = IntRange(1, 99999)

COORD_DECIMALS = 7


class Adres(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A Dutch address in BAG terms (Basisregistratie Adressen en Gebouwen, nummeraanduiding).

    ``postcode`` is stored compact (``"7721AB"``); ``huisletter`` is one upper-case letter and
    ``huisnummertoevoeging`` up to 4 upper-case characters, kept apart as in the BAG.
    """

    straat: Annotated[str, SHORT_LINE] = ""  # BAG: openbare ruimte naam
    huisnummer: Annotated[int, HUISNUMMER] | None = None
    huisletter: Annotated[str, HUISLETTER] | None = None
    huisnummertoevoeging: Annotated[str, TOEVOEGING] | None = None
    postcode: Annotated[str, POSTCODE] | None = None
    woonplaats: Annotated[str, SHORT_LINE] = ""

    def huisnummer_text(self) -> str:
        """``12``, ``12A``, ``12A-2`` or ``12-HS`` as written on a letter; empty without number."""
        if self.huisnummer is None:
            return ""
        text = f"{self.huisnummer}{self.huisletter or ''}"
        if self.huisnummertoevoeging:
            text += f"-{self.huisnummertoevoeging}"
        return text

    def oneline(self) -> str:
        """``"Kerkstraat 12A, 7721 AB Dalfsen"``; parts that are missing are left out."""
        first = " ".join(p for p in (self.straat, self.huisnummer_text()) if p)
        second = " ".join(p for p in (format_postcode(self.postcode) if self.postcode else "", self.woonplaats) if p)
        return ", ".join(p for p in (first, second) if p)


class Punt(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A point in WGS84 (EPSG:4326): ``lat`` and ``lon`` in degrees, 7 decimals.

    Raises:
        ValueError: ``lat`` outside −90…90 or ``lon`` outside −180…180 (this also catches RD New
            metres or swapped axes), or NaN (JSON would turn it into ``null``). When decoding,
            msgspec reports it as a ``msgspec.ValidationError``.
    """

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):  # NaN fails both
            raise ValueError(f"punt ({self.lat}, {self.lon}) is not WGS84 latitude/longitude in degrees")
        # Round on construction so every replica stores the same digits.
        msgspec.structs.force_setattr(self, "lat", round(self.lat, COORD_DECIMALS))
        msgspec.structs.force_setattr(self, "lon", round(self.lon, COORD_DECIMALS))


class Melder(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Who reported: name, phone (E.164), e-mail, postal address; ``anoniem`` when the caller left no
    details.

    This is personal data: it never appears in public or Open311 responses, and reads of it through
    the server API are audited.

    ``gewist``: the details were erased under the AVG (``shared.avg.scrub_melder``); ``met_contact``
    then keeps the one fact the barometer needs, whether the melder had left a way to be answered (so
    past "teruggekoppeld" figures do not change when a melder is anonymised).
    """

    naam: Annotated[str, NAME] = ""
    telefoon: Annotated[str, PHONE] | None = None
    email: Annotated[str, EMAIL] | None = None
    anoniem: bool = False
    postadres: Adres | None = None  # a letter's sender (kanaal brief): where the answer goes
    gewist: bool = False
    met_contact: bool = False

    @property
    def has_contact(self) -> bool:
        """True when the melder left a way to be answered: a phone number, an e-mail address or a
        postal address (a letter is answered by letter); also after those were erased (``gewist``
        with ``met_contact``: the barometer's "met contactgegevens"). Whether an answer is still
        possible now: :attr:`reachable`."""
        return not self.anoniem and (
            bool(self.telefoon or self.email or self.postadres) or (self.gewist and self.met_contact)
        )

    @property
    def reachable(self) -> bool:
        """True when the melder can be answered now: a phone number, e-mail or postal address is known."""
        return not self.anoniem and bool(self.telefoon or self.email or self.postadres)

    @property
    def has_details(self) -> bool:
        """True when any personal detail (name, phone, e-mail, postal address) is held."""
        return bool(self.naam or self.telefoon or self.email or self.postadres)


class ExtraMelder(msgspec.Struct, frozen=True):
    """Another resident who reported a problem already registered (issue 14: a *second melder*):
    called back and counted like the first. ``event_id`` is the ``melder_added`` event's id; a
    terugkoppeling names it in ``Terugkoppeling.melder``. ``melder`` is None when no details were
    given; ``at`` (UTC) is when they reported; ``omschrijving`` what they said."""

    event_id: str
    at: datetime
    user: str
    device_id: str
    kanaal: Kanaal
    melder: Melder | None = None
    omschrijving: str = ""

    @property
    def has_contact(self) -> bool:
        """True when this melder left a way to be answered (:attr:`Melder.has_contact`)."""
        return self.melder is not None and self.melder.has_contact

    @property
    def reachable(self) -> bool:
        """True when this melder can be answered now (:attr:`Melder.reachable`)."""
        return self.melder is not None and self.melder.reachable


class Note(msgspec.Struct, frozen=True):
    """A note on a melding. ``openbaar``: may be told to the resident (KCC, public status)."""

    event_id: str
    at: datetime
    user: str
    device_id: str
    tekst: str
    openbaar: bool = False


class Terugkoppeling(msgspec.Struct, frozen=True):
    """A logged call-back to the resident: how (kanaal), when (UTC), what was said, reached or not."""

    event_id: str
    at: datetime
    user: str
    device_id: str
    kanaal: Kanaal
    tekst: str
    bereikt: bool = True
    melder: str | None = None  # the ExtraMelder's event_id; None: the first melder


class HistoryEntry(msgspec.Struct, frozen=True):
    """One line of a melding's history: every event, in fold order.

    ``details`` holds the event's payload (for a field edit, the fields and values it set, so a value
    that lost a conflict stays visible).
    """

    event_id: str
    at: datetime
    hlc: int
    device_id: str
    user: str
    type: str
    summary: str
    details: dict[str, Any] = {}


class Conflict(msgspec.Struct, frozen=True):
    """Two concurrent writes of one field (same ``prev``, or a write that did not see the other).

    The later write in fold order wins on every replica alike; the loser's value is kept here.
    ``field`` is ``"_deleted"`` for an edit made to a melding that was already deleted.
    """

    field: str
    winner_event: str
    loser_event: str
    loser_value: Any = None


class Melding(msgspec.Struct):
    """The current state of one melding, as ``shared.fold.fold`` derives it from its events."""

    melding_id: str
    reference: str
    registered_at: datetime
    registered_by: str
    device_id: str
    bron: str = ""  # "" registered by a person, "demo" or "import" (shared.events.Bron)
    type: MeldingType = MeldingType.MELDING
    kanaal: Kanaal = Kanaal.TELEFOON
    melder: Melder | None = None
    adres: Adres | None = None
    punt: Punt | None = None
    locatie_omschrijving: str = ""
    wijk: str | None = None
    categorie: str | None = None
    servicenorm: int | None = None  # working days, fixed when categorised
    deadline: datetime | None = None  # UTC; 23:59:59 Europe/Amsterdam of the last working day
    vier_b: VierB | None = None
    omschrijving: str = ""
    prioriteit: Prioriteit = Prioriteit.NORMAAL
    duplicaat_van: str | None = None  # reference of the melding this one duplicates
    ontvangen_op: date | None = None  # Europe/Amsterdam date a letter was received (kanaal brief)
    behandelaar: str | None = None  # server user name of who handles it; None: no one person
    aan_team: bool = False  # with no behandelaar: the wijk's team holds it (else "niet toegewezen")
    status: Status = Status.GEMELD
    first_closed_at: datetime | None = None
    closed_at: datetime | None = None
    reopen_count: int = 0
    deleted: bool = False
    anonymised: bool = False
    anonymised_at: datetime | None = None  # UTC; the first ``reporter_anonymised``
    purged: bool = False  # removed after its retention period (``shared.avg``)
    purged_at: datetime | None = None  # UTC
    notes: list[Note] = []
    terugkoppelingen: list[Terugkoppeling] = []
    melders: list[ExtraMelder] = []  # residents who reported it after the first (``melder_added``)
    history: list[HistoryEntry] = []  # empty when folded with ``history=False`` (projections)
    status_changes: list[tuple[datetime, Status]] = []  # (at UTC, naar) per status change, in fold order
    conflicts: list[Conflict] = []
    field_setters: dict[str, str] = {}  # field → event_id that set its current value
    updated_hlc: int = 0
    event_count: int = 0

    @property
    def is_open(self) -> bool:
        """True while the public view shows the melding as open (``shared.status.is_open``)."""
        from shared.status import is_open

        return is_open(self.status)

    @property
    def melder_count(self) -> int:
        """How many residents reported it: the first melder and every ``melder_added``."""
        return 1 + len(self.melders)

    def terugbellen(self) -> tuple[int, datetime | None]:
        """Who still waits for a call-back, and since when (issue 14, "Nog terugbellen").

        A call-back is due once the melding has progressed: the last status change into
        ``shared.status.CALLBACK_DUE`` (ingepland, or closed). Every melder who can be answered
        (``reachable``: the first one and each :class:`ExtraMelder`; an anonymised melder cannot be)
        and has no terugkoppeling at or after that moment is waiting. Returns ``(count, since)``: ``(0, None)`` when nobody waits.
        The norm (the municipality's ``terugbelnorm``, working days) is applied by whoever shows it.
        """
        from shared.status import CALLBACK_DUE

        if self.deleted or not self.status_changes or self.status not in CALLBACK_DUE:
            return 0, None
        since = next((at for at, naar in reversed(self.status_changes) if naar in CALLBACK_DUE), None)
        if since is None:
            return 0, None
        called = {t.melder for t in self.terugkoppelingen if t.at >= since}
        waiting = int(self.melder is not None and self.melder.reachable and None not in called)
        waiting += sum(1 for x in self.melders if x.reachable and x.event_id not in called)
        return (waiting, since) if waiting else (0, None)

    def assignment_text(self) -> str:
        """``"jan"``, ``"het team"`` or ``"niet toegewezen"``: who handles it, as shown."""
        if self.behandelaar:
            return self.behandelaar
        return "het team" if self.aan_team else "niet toegewezen"

    def public_note(self) -> str | None:
        """The last note meant for the resident (a public note or a status-change reason), or None."""
        public = [n for n in self.notes if n.openbaar]
        return public[-1].tekst if public else None

    def location_text(self) -> str:
        """The address on one line, else the location description, else the point, else ``""``."""
        if self.adres and (self.adres.straat or self.adres.postcode):
            return self.adres.oneline()
        if self.locatie_omschrijving:
            return self.locatie_omschrijving
        if self.punt:
            return f"{self.punt.lat:.7f}, {self.punt.lon:.7f}"
        return ""
