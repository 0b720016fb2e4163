"""Demo data: realistic sample meldingen over the last 12 months, so a newcomer sees a living app.

Every event is made by ``shared.commands`` (register, change_status, add_note, log_callback, edit)
on simulated device clocks, so histories, references, deadlines and conflicts are real. Addresses
come from ``shared/data/sample_gazetteer.csv``: MADE-UP sample addresses, not the BAG. Names and
phone numbers are invented too. Every melding carries ``bron = "demo"`` (``shared.events.Bron``), so
reports and screens can say they show sample data.

Used by the laptop's demo database (``wijkteam_tui.demo.fill_demo``) and by ``wijkteam-server demo``
(``sync_server.demo_cli``), which makes the same kind of meldingen on the server's own device.

Generation is deterministic for a given ``seed`` and ``now`` (snapshot tests rely on that), apart
from the UUIDv7 ids, which are never shown.
"""

from __future__ import annotations

import csv
import heapq
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from importlib import resources

from shared import commands
from shared.deadlines import AMS, add_working_days, is_working_day, local_date, utcnow
from shared.enums import Kanaal, MeldingType, Prioriteit, Status, VierB
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.hlc import HLC
from shared.model import Adres, Melder, Melding, Punt
from shared.taxonomy import load_taxonomy
from shared.werkvoorraad import default_assignment, wijkuitvoerders_of
from shared.wijken import load_wijken

#: Device codes of the simulated laptops; the demo database's own laptop is the first.
DEMO_DEVICES: tuple[str, ...] = ("K7", "M3", "R9", "T2")
DEMO_USERS: dict[str, str] = {
    "K7": "a.devries",
    "M3": "j.bakker",
    "R9": "m.visser",
    "T2": "s.mulder",
}
#: The device code the demo database itself numbers new meldingen with.
DEMO_DEVICE = DEMO_DEVICES[0]

_KANAAL_WEIGHTS = {
    Kanaal.TELEFOON: 45,
    Kanaal.MONDELING: 15,
    Kanaal.EMAIL: 12,
    Kanaal.WEBSITE: 12,
    Kanaal.KCC: 8,
    Kanaal.BALIE: 5,
    Kanaal.BRIEF: 3,
}
_TYPE_WEIGHTS = {MeldingType.MELDING: 80, MeldingType.VRAAG: 12, MeldingType.KLACHT: 8}
_B_WEIGHTS = {
    VierB.BETROUWBAARHEID: 40,
    VierB.BETROKKENHEID: 25,
    VierB.BEREIKBAARHEID: 20,
    VierB.BREDE_BLIK: 15,
}
_PRIO_WEIGHTS = {
    Prioriteit.NORMAAL: 80,
    Prioriteit.HOOG: 10,
    Prioriteit.LAAG: 8,
    Prioriteit.SPOED: 2,
}

_TEXTS: dict[str, list[str]] = {
    "groen/boom": [
        "Grote tak afgebroken na de storm, ligt half op het fietspad.",
        "Boom hangt over de weg, vrachtwagens raken de takken.",
        "Omgewaaide boom in het plantsoen.",
    ],
    "groen/plantsoen": [
        "Gras in het plantsoen is al weken niet gemaaid.",
        "Onkruid tussen de beplanting, ziet er verwaarloosd uit.",
        "Heg belemmert het zicht bij de uitrit.",
    ],
    "verlichting/lantaarnpaal": [
        "Lantaarnpaal brandt al een week niet, erg donker op de stoep.",
        "Lamp knippert de hele nacht.",
        "Twee lantaarnpalen achter elkaar uit.",
    ],
    "verlichting/paal_schade": [
        "Lantaarnpaal staat scheef na aanrijding.",
        "Kabel hangt uit de voet van de paal.",
    ],
    "riolering/verstopping": [
        "Put in de straat is verstopt, water blijft staan na regen.",
        "Kolk loopt over bij hevige buien.",
    ],
    "riolering/stank": [
        "Stank uit het riool bij de voordeur.",
        "Rioollucht in de hele straat sinds gisteren.",
    ],
    "verharding/losse_tegel": [
        "Losse stoeptegel, mijn moeder is bijna gevallen.",
        "Tegels verzakt bij de bushalte.",
        "Boomwortels drukken de tegels omhoog.",
    ],
    "verharding/gat_in_weg": [
        "Diep gat in de weg bij de kruising.",
        "Gat in het fietspad, gevaarlijk in het donker.",
    ],
    "afval/zwerfvuil": [
        "Veel zwerfvuil langs het water.",
        "Afval rond de bank bij de speeltuin.",
    ],
    "afval/dumping": [
        "Iemand heeft een bank en matrassen bij de container gezet.",
        "Gedumpt bouwafval langs de dijk.",
    ],
    "afval/container": [
        "Container [vol] [/] kapot",
        "Glasbak zit vol, glas staat ernaast.",
        "Klep van de ondergrondse container klemt.",
    ],
    "spelen/speeltoestel": [
        "Schommel in de speeltuin is kapot.",
        "Losse plank op de glijbaan, kinderen kunnen zich bezeren.",
    ],
    "verkeer/bord": ["Verkeersbord is omgereden.", "Paaltje op het fietspad ligt om."],
    "overig/dienstverlening": [
        "Beller is ontevreden dat er na zijn vorige melding niets gebeurde.",
        "Vraag hoe het zit met de planning van het onderhoud.",
    ],
    "overig/anders": [
        "Vraag over snoeiafval ophalen.",
        "Bankje in het park is beklad.",
    ],
}
_FIRST = [
    "Jan",
    "Anna",
    "Piet",
    "Fatima",
    "Henk",
    "Sanne",
    "Mohamed",
    "Ingrid",
    "Gerrit",
    "Lotte",
    "Bram",
    "Ria",
    "Kees",
    "Yara",
    "Wim",
    "Esther",
]
_LAST = [
    "Jansen",
    "de Vries",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "van Dijk",
    "Mulder",
    "Bos",
    "Hendriks",
    "Dijkstra",
    "Kok",
    "Brink",
    "Lammers",
    "Schuurman",
    "Nijboer",
]
_PLACES = [
    "bij de speeltuin",
    "naast de kerk",
    "achter het dorpshuis",
    "bij de bushalte",
    "langs de Vecht",
    "bij het sportpark",
]
_CALLBACK_TEXTS = [
    "Melder gebeld: opgelost.",
    "Teruggebeld en uitgelegd wat er gaat gebeuren.",
    "Voicemail ingesproken.",
    "Mail gestuurd met de planning.",
]
_CLOSE_NOTES = [
    "Hersteld door de buitendienst.",
    "Opgeruimd.",
    "Gerepareerd.",
    "Geen actie nodig: valt onder beheer van de woningcorporatie, melder ingelicht.",
]


def sample_addresses() -> list[tuple[Adres, Punt]]:
    """The MADE-UP sample addresses of ``shared/data/sample_gazetteer.csv`` with their points."""
    text = (
        resources.files("shared")
        .joinpath("data/sample_gazetteer.csv")
        .read_text(encoding="utf-8")
    )
    out = []
    for r in csv.DictReader(text.splitlines()):
        adres = Adres(
            straat=r["openbare_ruimte"],
            huisnummer=int(r["huisnummer"]),
            huisletter=r["huisletter"] or None,
            huisnummertoevoeging=r["huisnummertoevoeging"] or None,
            postcode=r["postcode"],
            woonplaats=r["woonplaats"],
        )
        out.append((adres, Punt(float(r["lat"]), float(r["lon"]))))
    return out


def _pick(rng: random.Random, weights: dict) -> object:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class _SimClock:
    ms: int = 0

    def __call__(self) -> int:
        return self.ms


@dataclass(order=True)
class _Action:
    at_ms: int
    seq: int
    index: int = field(compare=False)
    run: Callable[[commands.DeviceClock, Melding], Event | None] = field(compare=False)
    device: str = field(compare=False)


def _local_instant(rng: random.Random, day, lo: int = 8, hi: int = 17) -> datetime:
    t = time(rng.randint(lo, hi - 1), rng.randint(0, 59), rng.randint(0, 59))
    return datetime.combine(day, t, tzinfo=AMS).astimezone(UTC)


def generate(
    count: int,
    *,
    now: datetime | None = None,
    seed: int = 1,
    prefix: str = "DLF",
    users: Mapping[str, str] | None = None,
    seq_start: Mapping[str, int] | None = None,
    next_counter: Callable[[], int] | None = None,
    label: str = "",
) -> tuple[list[list[Event]], dict[str, commands.DeviceClock], int]:
    """Generate ``count`` meldingen registered over the 365 days before ``now``.

    Args:
        users: device code → user name of the devices that "work" (default the four simulated
            laptops :data:`DEMO_USERS`; the server passes only its own device).
        seq_start: each device's last ``device_seq`` so far (default 0).
        next_counter: gives the reference counter of each new melding (default per device 1, 2, …).
        label: put before every description (the server marks its sample data ``VOORBEELD: ``).

    Returns:
        (events per melding, the final device clocks by device code, the first device's melding
        counter). Follow-up actions that would fall after ``now`` are not made, so recent meldingen
        are still open and a few old ones are overdue. Every ``created`` event has ``bron = "demo"``.
    """
    users = dict(users or DEMO_USERS)
    codes = tuple(users)
    now = now or utcnow()
    now_ms = int(now.timestamp() * 1000)
    rng = random.Random(seed)
    taxonomy = load_taxonomy()
    cats = list(taxonomy.categories)
    cat_weights = [
        3 if c.hoofd in ("verharding", "verlichting", "afval", "groen") else 1
        for c in cats
    ]
    addresses = sample_addresses()
    # The wijk as the intake decides it (shared.wijken), so demo and new meldingen group alike.
    wijken = load_wijken()
    wijk_of = {id(a): wijken.resolve(adres=a, punt=p).wijk for a, p in addresses}
    uitvoerders = wijkuitvoerders_of(wijken)
    sim = _SimClock()
    devices = {
        d: commands.DeviceClock(d, users[d], (seq_start or {}).get(d, 0), HLC(0, sim)) for d in codes
    }
    counters = dict.fromkeys(codes, 0)

    start_day = local_date(now) - timedelta(days=365)
    instants = []
    for _ in range(count):
        day = start_day + timedelta(days=rng.randint(0, 365))
        while not is_working_day(day) and rng.random() < 0.85:
            day += timedelta(days=1)
        instant = _local_instant(rng, day)
        if instant >= now:
            instant = now - timedelta(minutes=rng.randint(5, 600))
        instants.append(instant)
    instants.sort()

    groups: list[list[Event]] = [[] for _ in range(count)]
    states: list[Melding | None] = [None] * count
    heap: list[_Action] = []
    seq = 0

    def push(at: datetime, index: int, device: str, run: Callable) -> None:
        nonlocal seq
        seq += 1
        at_ms = int(at.timestamp() * 1000)
        if at_ms < now_ms:
            heapq.heappush(heap, _Action(at_ms, seq, index, run, device))

    for i, registered_at in enumerate(instants):
        device = rng.choice(codes)
        cat = rng.choices(cats, weights=cat_weights)[0]
        kanaal = _pick(rng, _KANAAL_WEIGHTS)
        r = rng.random()
        if r < 0.15:
            melder = Melder(anoniem=True)
        else:
            naam = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            tel = (
                f"+316{rng.randint(10000000, 99999999)}"
                if rng.random() < 0.85
                else None
            )
            mail = (
                f"{naam.split()[0].lower()}{rng.randint(1, 99)}@voorbeeld.nl"
                if (tel is None or rng.random() < 0.2)
                else None
            )
            melder = Melder(naam=naam, telefoon=tel, email=mail)
        adres, punt = rng.choice(addresses)
        wijk = wijk_of[id(adres)]
        loc = MeldingFields(adres=adres, punt=punt, wijk=wijk)
        if rng.random() < 0.08:
            loc = MeldingFields(
                locatie_omschrijving=f"{rng.choice(_PLACES)}, {adres.straat}",
                wijk=wijk,
            )
        fields = MeldingFields(
            type=_pick(rng, _TYPE_WEIGHTS),
            kanaal=kanaal,
            melder=melder,
            categorie=cat.code,
            vier_b=_pick(rng, _B_WEIGHTS),
            omschrijving=label + rng.choice(
                _TEXTS.get(cat.code, ["Melding over de openbare ruimte."])
            ),
            prioriteit=_pick(rng, _PRIO_WEIGHTS),
            **{k: v for k, v in loc.items().items()},
        )
        counters[device] += 1
        counter = next_counter() if next_counter else counters[device]

        def run_register(
            dev,
            _state,
            fields=fields,
            registered_at=registered_at,
            counter=counter,
        ):
            return commands.register(
                dev,
                prefix=prefix,
                counter=counter,
                fields=fields,
                registered_at=registered_at,
                taxonomy=taxonomy,
                bron="demo",
            )

        push(registered_at, i, device, run_register)
        # The wijk's wijkuitvoerder gets it, as at the intake (shared.werkvoorraad; no random draw,
        # so the rest of the sample stays the same).
        behandelaar, aan_team = default_assignment(fields.wijk or None, uitvoerders)
        if behandelaar or aan_team:

            def run_assign(dev, state, behandelaar=behandelaar, aan_team=aan_team):
                return commands.assign(dev, state, behandelaar, aan_team=aan_team) if state else None

            push(registered_at + timedelta(seconds=1), i, device, run_assign)
        _plan_followups(rng, i, device, codes, registered_at, cat.servicenorm, melder, push)

    while heap:
        action = heapq.heappop(heap)
        sim.ms = action.at_ms
        dev = devices[action.device]
        state = states[action.index]
        if state is None and groups[action.index]:
            continue
        try:
            event = action.run(dev, state)
        except ValueError:  # a planned move the table does not allow after all: skip it
            continue
        if event is None:
            continue
        groups[action.index].append(event)
        states[action.index] = fold(groups[action.index])
    return [g for g in groups if g], devices, counters[codes[0]]


def _plan_followups(
    rng: random.Random,
    i: int,
    device: str,
    codes: tuple[str, ...],
    registered_at: datetime,
    norm: int,
    melder: Melder,
    push: Callable,
) -> None:
    """Plan the life of one melding: handling, closing within (or past) its norm, call-back."""
    reg_day = local_date(registered_at)
    other = rng.choice(codes)

    def at_wd(n: int) -> datetime:
        return (
            _local_instant(rng, add_working_days(reg_day, n))
            if n > 0
            else registered_at + timedelta(minutes=rng.randint(10, 240))
        )

    fate = rng.random()
    if fate < 0.02:
        return  # nobody picked it up: stays open (overdue once old)
    start = rng.choice((0, 0, 1, 1, 2))
    push(
        at_wd(start),
        i,
        device,
        lambda dev, s: commands.change_status(dev, s, Status.IN_BEHANDELING),
    )
    if fate < 0.10:
        push(
            at_wd(start + 1),
            i,
            other,
            lambda dev, s: commands.change_status(
                dev, s, Status.DOORGEZET, voor_melder="Doorgezet naar het waterschap."
            ),
        )
        return
    if fate < 0.14:
        push(
            at_wd(start),
            i,
            device,
            lambda dev, s: commands.change_status(
                dev, s, Status.GEANNULEERD, voor_melder="Dubbele melding."
            ),
        )
        return
    done = max(start, int(rng.triangular(0, norm * 1.4, norm * 0.6)))
    if rng.random() < 0.4 and done > start:
        push(
            at_wd(max(start, done - 1)),
            i,
            device,
            lambda dev, s: commands.change_status(dev, s, Status.INGEPLAND),
        )
    if rng.random() < 0.2:
        push(
            at_wd(start),
            i,
            other,
            lambda dev, s: commands.add_note(
                dev, s, "Ter plaatse bekeken; materiaal besteld."
            ),
        )
    if fate < 0.97:
        note = rng.choice(_CLOSE_NOTES)
        closed_at = at_wd(done) + timedelta(hours=1)
        push(
            closed_at,
            i,
            device,
            lambda dev, s: commands.change_status(dev, s, Status.AFGEHANDELD, voor_melder=note),
        )
        if melder.has_contact and rng.random() < 0.8:
            kanaal = Kanaal.TELEFOON if melder.telefoon else Kanaal.EMAIL
            tekst = rng.choice(_CALLBACK_TEXTS)
            bereikt = rng.random() < 0.9
            push(
                closed_at + timedelta(minutes=rng.randint(10, 90)),
                i,
                device,
                lambda dev, s: commands.log_callback(
                    dev,
                    s,
                    kanaal=kanaal,
                    tekst=tekst,
                    at=stamp_now(dev),
                    bereikt=bereikt,
                ),
            )
        if rng.random() < 0.03:
            push(
                at_wd(done + 2),
                i,
                other,
                lambda dev, s: commands.change_status(
                    dev, s, Status.HEROPEND, "Melder belt: probleem is terug."
                ),
            )
            push(
                at_wd(done + 4),
                i,
                device,
                lambda dev, s: commands.change_status(
                    dev, s, Status.AFGEHANDELD, voor_melder="Opnieuw hersteld."
                ),
            )


def stamp_now(dev: commands.DeviceClock) -> datetime:
    """The simulated wall time of a device clock as an aware UTC instant."""
    return datetime.fromtimestamp(dev.hlc._clock() / 1000, tz=UTC)
