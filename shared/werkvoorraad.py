"""The wijkuitvoerder's werkvoorraad (issue 14 §1): the rules, in one place.

* **Who gets a new melding** (:func:`default_assignment`, :func:`assign_new`): the first wijkuitvoerder of its wijk in
  the municipality configuration (``shared.gemeente``, ``wijken``); a wijk without one goes to the
  wijk's team; a melding without a wijk stays *niet toegewezen*.
* **The groups** (:func:`group_of`, :func:`bounds`): open meldingen by their streefdatum, in
  Europe/Amsterdam days — *over de norm* (the deadline has passed), *vandaag* (it ends today),
  *deze week* (it ends by Sunday), *later* (later, or no deadline yet).
* **Nog terugbellen** (:func:`terugbel_deadline`): a melder owed a call-back since the melding
  progressed (``shared.model.Melding.terugbellen``) is to be called within the configured
  ``terugbelnorm`` working days (default 2), counted like the servicenorm.

Pure: no database; the stores query with :func:`bounds`.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from shared.commands import DeviceClock, assign
from shared.deadlines import AMS, HolidayPolicy, deadline, local_date
from shared.events import Event
from shared.fold import fold
from shared.projection import iso
from shared.wijken import WijkConfig, load_wijken

#: The groups of "Mijn werkvoorraad", in the order shown.
GROUPS: tuple[str, ...] = ("over_de_norm", "vandaag", "deze_week", "later")
#: Their Dutch names.
GROUP_LABELS: dict[str, str] = {
    "over_de_norm": "Over de norm",
    "vandaag": "Vandaag",
    "deze_week": "Deze week",
    "later": "Later",
}


def bounds(now: datetime) -> tuple[str, str, str]:
    """``(now, end of today, end of this week)`` as projection text (UTC ISO, ``shared.projection.iso``):
    a deadline before the first is over the norm; up to the second, today; up to the third (Sunday
    23:59:59 Europe/Amsterdam), this week."""
    today = local_date(now)
    end_today = datetime.combine(today, time(23, 59, 59, 999999), tzinfo=AMS)
    end_week = end_today + timedelta(days=6 - today.weekday())
    return iso(now), iso(end_today), iso(end_week)  # type: ignore[return-value]


def group_of(deadline_iso: str | None, b: tuple[str, str, str]) -> str:
    """The group (:data:`GROUPS`) of an open melding with this deadline (projection text or None)."""
    if deadline_iso is None:
        return "later"
    now, end_today, end_week = b
    if deadline_iso < now:
        return "over_de_norm"
    if deadline_iso <= end_today:
        return "vandaag"
    if deadline_iso <= end_week:
        return "deze_week"
    return "later"


def wijkuitvoerders_of(wijken: WijkConfig) -> dict[str, tuple[str, ...]]:
    """Wijk code → its wijkuitvoerders (server user names), from the configuration in force."""
    return {w.code: tuple(w.wijkuitvoerders) for w in wijken.wijken}


def wijken_of(user: str, wijken: WijkConfig) -> list[str]:
    """The wijk codes ``user`` is a wijkuitvoerder of (their team's area), in configuration order."""
    return [w.code for w in wijken.wijken if user in w.wijkuitvoerders]


def default_assignment(wijk: str | None, wijkuitvoerders: dict[str, tuple[str, ...]]) -> tuple[str | None, bool]:
    """Who a new melding in ``wijk`` goes to: ``(behandelaar, aan_team)``.

    ``wijkuitvoerders``: wijk code → the server user names responsible for it, in configuration
    order (the first gets new meldingen: ``shared/data/wijken.toml``). A wijk without any goes to
    its team (``(None, True)``); no wijk: niet toegewezen (``(None, False)``).
    """
    if not wijk:
        return None, False
    names = wijkuitvoerders.get(wijk) or ()
    return (names[0], False) if names else (None, True)


def assign_new(dev: DeviceClock, registered: Event, wijkuitvoerders: dict[str, tuple[str, ...]] | None = None) -> list[Event]:
    """The ``assigned`` event a melding just registered by ``registered`` (its ``created`` event)
    gets by default (:func:`default_assignment`), or [] when it stays *niet toegewezen*. For every
    place a melding is made — the TUI intake, Open311 on the server, the demo — so all assign alike.

    ``wijkuitvoerders``: wijk code → user names (default: the configuration in force,
    ``shared.gemeente.gemeente().wijken``). ``dev`` makes the event (its user is who assigned).
    """
    state = fold([registered], history=False)
    if state is None:
        return []
    if wijkuitvoerders is None:
        wijkuitvoerders = wijkuitvoerders_of(load_wijken())
    behandelaar, aan_team = default_assignment(state.wijk, wijkuitvoerders)
    if not (behandelaar or aan_team):
        return []
    return [assign(dev, state, behandelaar, aan_team=aan_team)]


def terugbel_deadline(since: datetime, terugbelnorm: int, policy: HolidayPolicy | None = None) -> datetime:
    """When a melder owed a call-back since ``since`` (aware) should have been called: 23:59:59
    Europe/Amsterdam on the ``terugbelnorm``-th working day after it (as the servicenorm counts)."""
    return deadline(since, max(terugbelnorm, 1), policy)
