"""The barometer's indicators: the :class:`Indicators` of a set of meldingen, their descriptions
(:data:`INDICATORS`, with unit, rule and source), the accumulator that computes them from rows, and the
ratios and percentiles they use (a ratio over an empty set is ``None``, shown as "n.v.t.").

Rules: the package docstring (``shared.barometer``) and docs/barometer.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import NamedTuple

import msgspec

from shared.barometer.rows import (
    BACKLOG_AGES,
    F_CALLBACK,
    F_CATEGORIE,
    F_COMPLETE,
    F_CONFLICT,
    F_CONTACT,
    F_HAS_NORM,
    F_KANAAL,
    F_LOCATION,
    F_REOPENED,
    F_SPOED,
    F_VIER_B,
    F_WITHIN,
    callback_code,
)

NVT = "n.v.t."




class Indicators(msgspec.Struct, kw_only=True):
    """The barometer figures of one group. Counts are meldingen; ``pct_*`` are percentages rounded to
    one decimal, ``None`` when their denominator is 0 ("n.v.t."); lead times in working days;
    ``received_per_1000`` per 1,000 inhabitants, two decimals (totals and months only).

    Backlog fields are ``None`` where no backlog was computed (the monthly trend). Each field's
    definition, rule and source: :data:`INDICATORS` and docs/barometer.md.
    """

    received: int = 0
    received_per_1000: float | None = None
    closed: int = 0
    closed_with_norm: int = 0
    within_norm: int = 0
    pct_within_norm: float | None = None
    closed_with_norm_regulier: int = 0
    within_norm_regulier: int = 0
    pct_within_norm_regulier: float | None = None
    closed_with_norm_spoed: int = 0
    within_norm_spoed: int = 0
    pct_within_norm_spoed: float | None = None
    lead_median: float | None = None
    lead_p90: int | None = None
    backlog: int | None = None
    backlog_overdue: int | None = None
    pct_overdue: float | None = None
    backlog_over_3x_norm: int | None = None
    backlog_age_0_5: int | None = None
    backlog_age_6_20: int | None = None
    backlog_age_21_60: int | None = None
    backlog_age_over_60: int | None = None
    contact_closed: int = 0
    terugkoppeling: int = 0
    pct_terugkoppeling: float | None = None
    contact_received: int = 0
    callback_in_norm: int = 0
    pct_callback_in_norm: float | None = None
    reopened: int = 0
    pct_reopened: float | None = None
    complete: int = 0
    pct_complete: float | None = None
    pct_location: float | None = None
    pct_categorie: float | None = None
    pct_vier_b: float | None = None
    pct_kanaal: float | None = None
    without_location: int = 0
    without_categorie: int = 0
    conflicts: int = 0


#: The backlog age fields of :class:`Indicators`, in :data:`BACKLOG_AGES` order.
AGE_FIELDS: tuple[str, ...] = ("backlog_age_0_5", "backlog_age_6_20", "backlog_age_21_60", "backlog_age_over_60")


class IndicatorInfo(NamedTuple):
    """How renderers show one indicator, and what the glossary says about it.

    Attributes:
        field: the :class:`Indicators` field.
        label: Dutch column header.
        kind: ``count``, ``pct`` (percent), ``days`` (working days) or ``rate`` (per 1,000 inhabitants).
        block: the table block it is shown in (:data:`BLOCKS`): wide tables are split into these.
        definitie, regel, bron: the glossary — what it is, how it is computed (one or two sentences),
            and where the data comes from.
        better: ``"up"`` when a higher value is better, ``"down"`` when lower is, ``""`` neutral.
    """

    field: str
    label: str
    kind: str
    block: str
    definitie: str
    regel: str
    bron: str
    better: str = ""


#: Table blocks ``(key, Dutch title, in the monthly trend)``: every rendering splits the indicator
#: table into these so that no table is wider than an A4 page.
BLOCKS: tuple[tuple[str, str, bool], ...] = (
    ("instroom", "Instroom en afhandeling binnen de norm", True),
    ("doorloop", "Doorlooptijd en heropend", True),
    ("terugkoppeling", "Terugkoppeling aan de melder", True),
    ("werkvoorraad", "Werkvoorraad aan het einde van de periode", False),
    ("leeftijd", "Werkvoorraad naar leeftijd", False),
    ("registratie", "Registratie", True),
)

_SRC_CLOSED = "projectie: first_closed_at (eerste keer gesloten), deadline (vastgelegd bij het categoriseren)"

#: The indicators in the order every rendering shows them, with their glossary.
INDICATORS: tuple[IndicatorInfo, ...] = (
    IndicatorInfo(
        "received", "Ontvangen", "count", "instroom",
        "Meldingen die in de periode zijn geregistreerd.",
        "Telt op de registratiedatum in Nederlandse tijd; verwijderde meldingen en duplicaten van een "
        "andere melding tellen niet.",
        "projectie: registered_date, deleted, duplicaat_van",
    ),
    IndicatorInfo(
        "received_per_1000", "Per 1.000 inwoners", "rate", "instroom",
        "Ontvangen meldingen per 1.000 inwoners.",
        "Ontvangen × 1.000 gedeeld door het inwonertal, over de hele periode (niet omgerekend naar een "
        "jaar); n.v.t. zonder inwonertal en per groep.",
        "gemeenteconfiguratie: inwoners",
    ),
    IndicatorInfo(
        "closed", "Afgehandeld", "count", "instroom",
        "Van de ontvangen meldingen: de meldingen die minstens één keer gesloten zijn.",
        "Gesloten = status afgehandeld, geannuleerd of doorgezet, tot het moment van de gegevens; een "
        "later heropende melding blijft meetellen.",
        "projectie: first_closed_at",
    ),
    IndicatorInfo(
        "pct_within_norm", "Binnen servicenorm (%)", "pct", "instroom",
        "Van de afgehandelde meldingen met een servicenorm: het deel dat bij de eerste sluiting binnen "
        "de norm was.",
        "Binnen de norm = eerste sluiting uiterlijk op de deadline (23:59:59 op de laatste werkdag). "
        "Heropenen verandert het oordeel niet; meldingen zonder categorie (geen norm) tellen niet mee.",
        _SRC_CLOSED, "up",
    ),
    IndicatorInfo(
        "pct_within_norm_regulier", "Regulier binnen norm (%)", "pct", "instroom",
        "Als 'Binnen servicenorm', voor de meldingen zonder prioriteit spoed.",
        "Zelfde regel, alleen meldingen met prioriteit laag, normaal of hoog.",
        _SRC_CLOSED + ", prioriteit", "up",
    ),
    IndicatorInfo(
        "pct_within_norm_spoed", "Spoed binnen norm (%)", "pct", "instroom",
        "Als 'Binnen servicenorm', voor de meldingen met prioriteit spoed.",
        "Zelfde regel, tegen de deadline die de spoedmelding bij het categoriseren kreeg (de spoednorm "
        "uit de gemeenteconfiguratie).",
        _SRC_CLOSED + ", prioriteit", "up",
    ),
    IndicatorInfo(
        "lead_median", "Doorlooptijd mediaan (werkdagen)", "days", "doorloop",
        "De middelste doorlooptijd van de afgehandelde meldingen.",
        "Doorlooptijd = werkdagen na de registratiedatum tot en met de dag van de eerste sluiting "
        "(zelfde dag = 0); bij een even aantal het gemiddelde van de twee middelste.",
        "projectie: registered_date, first_closed_at; werkdagen volgens de feestdagenregeling",
        "down",
    ),
    IndicatorInfo(
        "lead_p90", "Doorlooptijd p90 (werkdagen)", "days", "doorloop",
        "De doorlooptijd waarbinnen 90 % van de afgehandelde meldingen gesloten is.",
        "Nearest rank: van klein naar groot de waarde op plaats 0,9 × n, naar boven afgerond.",
        "projectie: registered_date, first_closed_at", "down",
    ),
    IndicatorInfo(
        "pct_reopened", "Heropend (%)", "pct", "doorloop",
        "Van de afgehandelde meldingen: het deel dat minstens één keer is heropend.",
        "Een heropende melding telt één keer, in de periode van ontvangst.",
        "projectie: reopen_count", "down",
    ),
    IndicatorInfo(
        "pct_terugkoppeling", "Teruggekoppeld (%)", "pct", "terugkoppeling",
        "Van de afgehandelde meldingen waarvan de melder contactgegevens achterliet: het deel met "
        "minstens één vastgelegde terugkoppeling.",
        "Contactgegevens = telefoonnummer of e-mailadres, niet anoniem; open meldingen tellen niet mee.",
        "projectie: has_contact, callback_count", "up",
    ),
    IndicatorInfo(
        "pct_callback_in_norm", "Teruggebeld binnen terugbelnorm (%)", "pct", "terugkoppeling",
        "Van de ontvangen meldingen met contactgegevens: het deel met een eerste terugkoppeling binnen "
        "de terugbelnorm.",
        "Binnen de norm = eerste terugkoppeling uiterlijk het aantal werkdagen van de terugbelnorm na de "
        "registratiedatum; zonder terugkoppeling telt een melding als niet binnen de norm.",
        "projectie: first_callback_at, has_contact; gemeenteconfiguratie: terugbelnorm", "up",
    ),
    IndicatorInfo(
        "backlog", "Openstaand", "count", "werkvoorraad",
        "Meldingen die op het moment T openstonden: geregistreerd vóór T en toen niet gesloten.",
        "T = 00:00 na de laatste dag van de periode, of het moment van de gegevens als dat eerder is; "
        "heropende meldingen volgen hun statusgeschiedenis.",
        "projectie: registered_at, first_closed_at, closed_at, status_timeline", "down",
    ),
    IndicatorInfo(
        "backlog_overdue", "Waarvan over de norm", "count", "werkvoorraad",
        "Van de openstaande meldingen: die waarvan de deadline vóór T lag.",
        "Deadline zoals vastgelegd bij het categoriseren; zonder deadline nooit over de norm.",
        "projectie: deadline", "down",
    ),
    IndicatorInfo(
        "pct_overdue", "Over de norm (%)", "pct", "werkvoorraad",
        "Het deel van de werkvoorraad dat over de norm is.",
        "Waarvan over de norm gedeeld door openstaand.",
        "projectie: deadline", "down",
    ),
    IndicatorInfo(
        "backlog_over_3x_norm", "Ouder dan 3× de norm", "count", "werkvoorraad",
        "Openstaande meldingen die op T meer dan drie keer hun servicenorm oud waren.",
        "Leeftijd (werkdagen na de registratiedatum tot en met de laatste dag vóór T) groter dan "
        "3 × de servicenorm.",
        "projectie: registered_at, servicenorm", "down",
    ),
    *(
        IndicatorInfo(
            field, label, "count", "leeftijd",
            f"Openstaande meldingen met een leeftijd van {label} op T.",
            "Leeftijd = werkdagen na de registratiedatum tot en met de laatste dag vóór T.",
            "projectie: registered_at",
        )
        for field, (label, _, _) in zip(AGE_FIELDS, BACKLOG_AGES)
    ),
    IndicatorInfo(
        "pct_complete", "Volledig geregistreerd (%)", "pct", "registratie",
        "Van de ontvangen meldingen: het deel met locatie, categorie, vier B én kanaal.",
        "Locatie = adres (straat of postcode), kaartpunt of locatieomschrijving.",
        "projectie: straat, postcode, lat, locatie_omschrijving, categorie, vier_b, kanaal", "up",
    ),
    IndicatorInfo(
        "pct_location", "Met locatie (%)", "pct", "registratie",
        "Van de ontvangen meldingen: het deel met een locatie.",
        "Adres (straat of postcode), kaartpunt of locatieomschrijving.",
        "projectie: straat, postcode, lat, locatie_omschrijving", "up",
    ),
    IndicatorInfo(
        "pct_categorie", "Met categorie (%)", "pct", "registratie",
        "Van de ontvangen meldingen: het deel met een categorie.", "Categorie ingevuld.",
        "projectie: categorie", "up",
    ),
    IndicatorInfo(
        "pct_vier_b", "Met vier B (%)", "pct", "registratie",
        "Van de ontvangen meldingen: het deel met een vier B.", "Vier B ingevuld.", "projectie: vier_b", "up",
    ),
    IndicatorInfo(
        "pct_kanaal", "Met kanaal (%)", "pct", "registratie",
        "Van de ontvangen meldingen: het deel met een kanaal.", "Kanaal ingevuld.", "projectie: kanaal", "up",
    ),
)

#: The indicators of the monthly trend (no backlog: that is a stock at the end of the period).
MONTH_INDICATORS: tuple[IndicatorInfo, ...] = tuple(
    i for i in INDICATORS if any(b == i.block and in_months for b, _, in_months in BLOCKS)
)

#: The headline figures page one compares with the previous period and a year earlier.
HEADLINE: tuple[str, ...] = (
    "received", "received_per_1000", "pct_within_norm", "pct_within_norm_spoed", "lead_median",
    "pct_terugkoppeling", "pct_callback_in_norm", "backlog", "pct_overdue", "pct_complete",
)

INFO: dict[str, IndicatorInfo] = {i.field: i for i in INDICATORS}


def pct(numerator: int, denominator: int) -> float | None:
    """``100 * numerator / denominator`` rounded to 1 decimal; ``None`` when the denominator is 0."""
    if denominator <= 0:
        return None
    return round(100.0 * numerator / denominator, 1)


def per_1000(count: int, inwoners: int | None) -> float | None:
    """``count`` per 1,000 inhabitants, two decimals; ``None`` without a (positive) inhabitant count."""
    if not inwoners or inwoners <= 0:
        return None
    return round(1000.0 * count / inwoners, 2)


def median_and_p90(hist: Mapping[int, int]) -> tuple[float | None, int | None]:
    """Median and p90 of values given as a histogram ``value → count``.

    Median: the middle value (mean of the two middle ones for an even count). p90: nearest rank, the
    value at rank ``ceil(0.9 * n)``. ``(None, None)`` for an empty histogram.
    """
    n = sum(hist.values())
    if n == 0:
        return None, None
    values = sorted(hist.items())

    def nth(rank: int) -> int:  # 1-based rank
        seen = 0
        for value, c in values:
            seen += c
            if seen >= rank:
                return value
        return values[-1][0]

    med = float(nth((n + 1) // 2)) if n % 2 else (nth(n // 2) + nth(n // 2 + 1)) / 2
    p90 = nth(-(-9 * n // 10))
    return med, p90


class Accumulator:
    """Running counts for one group: feed it rows (``add``, ``put``, ``open_one``), then read its
    :class:`Indicators` (``result``). ``shared.barometer.report`` keeps one for the total, every group
    and every month."""

    __slots__ = (
        "ages",
        "backlog",
        "callback_in_norm",
        "categorie",
        "cells",
        "closed",
        "closed_with_norm",
        "complete",
        "conflicts",
        "contact_closed",
        "contact_received",
        "kanaal",
        "lead",
        "location",
        "norm_spoed",
        "over_3x",
        "overdue",
        "received",
        "reopened",
        "terugkoppeling",
        "vier_b",
        "within_norm",
        "within_spoed",
    )  # fmt: skip

    def __init__(self) -> None:
        for s in self.__slots__:
            setattr(self, s, 0)
        self.lead: Counter[int] = Counter()
        self.cells: Counter[tuple[int | None, int]] = Counter()
        self.ages = [0] * len(BACKLOG_AGES)

    def add(self, lead: int | None, flags: int, n: int, terugbelnorm: int) -> None:
        """Add ``n`` meldingen with this lead time and these flags."""
        self.received += n
        if flags & F_LOCATION:
            self.location += n
        if flags & F_CATEGORIE:
            self.categorie += n
        if flags & F_VIER_B:
            self.vier_b += n
        if flags & F_KANAAL:
            self.kanaal += n
        if flags & F_COMPLETE == F_COMPLETE:
            self.complete += n
        if flags & F_CONFLICT:
            self.conflicts += n
        if flags & F_CONTACT:
            self.contact_received += n
            code = callback_code(flags)
            if code and code - 1 <= terugbelnorm:
                self.callback_in_norm += n
        if lead is not None:
            self.closed += n
            self.lead[lead] += n
            if flags & F_HAS_NORM:
                self.closed_with_norm += n
                within = flags & F_WITHIN
                if within:
                    self.within_norm += n
                if flags & F_SPOED:
                    self.norm_spoed += n
                    if within:
                        self.within_spoed += n
            if flags & F_REOPENED:
                self.reopened += n
            if flags & F_CONTACT:
                self.contact_closed += n
                if flags & F_CALLBACK:
                    self.terugkoppeling += n

    def put(self, lead: int | None, flags: int, n: int) -> None:
        """Note ``n`` meldingen with this lead time and flags; counted once per combination in
        :meth:`result` (a million meldingen have only a few thousand combinations per group)."""
        self.cells[lead, flags] += n

    def open_one(self, overdue: bool, age: int, over_3x: bool, n: int = 1) -> None:
        """Add ``n`` meldingen open at the backlog moment, of this age class (``age``: index in
        :data:`BACKLOG_AGES`)."""
        self.backlog += n
        self.overdue += n * overdue
        self.over_3x += n * over_3x
        self.ages[age] += n

    def result(self, *, with_backlog: bool, terugbelnorm: int = 2, inwoners: int | None = None) -> Indicators:
        """The :class:`Indicators` of what was added. ``with_backlog``: also the backlog figures (the
        total and groups; a month has none); ``terugbelnorm`` in working days (the call-back norm);
        ``inwoners`` for the per-1,000 figures (``None``: n.v.t.)."""
        for (lead, flags), n in self.cells.items():
            if n:
                self.add(lead, flags, n, terugbelnorm)
        self.cells.clear()
        med, p90 = median_and_p90(+self.lead)
        r = self.received
        regular_norm = self.closed_with_norm - self.norm_spoed
        regular_within = self.within_norm - self.within_spoed
        backlog = {
            "backlog": self.backlog,
            "backlog_overdue": self.overdue,
            "pct_overdue": pct(self.overdue, self.backlog),
            "backlog_over_3x_norm": self.over_3x,
            **dict(zip(AGE_FIELDS, self.ages)),
        } if with_backlog else {}
        return Indicators(
            received=r,
            received_per_1000=per_1000(r, inwoners),
            closed=self.closed,
            closed_with_norm=self.closed_with_norm,
            within_norm=self.within_norm,
            pct_within_norm=pct(self.within_norm, self.closed_with_norm),
            closed_with_norm_regulier=regular_norm,
            within_norm_regulier=regular_within,
            pct_within_norm_regulier=pct(regular_within, regular_norm),
            closed_with_norm_spoed=self.norm_spoed,
            within_norm_spoed=self.within_spoed,
            pct_within_norm_spoed=pct(self.within_spoed, self.norm_spoed),
            lead_median=med,
            lead_p90=p90,
            contact_closed=self.contact_closed,
            terugkoppeling=self.terugkoppeling,
            pct_terugkoppeling=pct(self.terugkoppeling, self.contact_closed),
            contact_received=self.contact_received,
            callback_in_norm=self.callback_in_norm,
            pct_callback_in_norm=pct(self.callback_in_norm, self.contact_received),
            reopened=self.reopened,
            pct_reopened=pct(self.reopened, self.closed),
            complete=self.complete,
            pct_complete=pct(self.complete, r),
            pct_location=pct(self.location, r),
            pct_categorie=pct(self.categorie, r),
            pct_vier_b=pct(self.vier_b, r),
            pct_kanaal=pct(self.kanaal, r),
            without_location=r - self.location,
            without_categorie=r - self.categorie,
            conflicts=self.conflicts,
            **backlog,
        )


def format_value(value: float | None, kind: str) -> str:
    """Dutch text of an indicator value: ``"n.v.t."`` for ``None``; ``"87,5"`` for one decimal."""
    if value is None:
        return NVT
    if kind == "count" or (isinstance(value, int) and not isinstance(value, bool)):
        return f"{value}"
    if float(value).is_integer() and kind == "days":
        return f"{int(value)}"
    if kind == "rate":
        return f"{value:.2f}".replace(".", ",")
    return f"{value:.1f}".replace(".", ",")
