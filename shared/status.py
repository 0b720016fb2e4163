"""Status transitions of a melding: the one table every part of Wijkteam obeys.

Source: docs/design.md ("status"): gemeld → in_behandeling → ingepland → afgehandeld, plus doorgezet,
geannuleerd and heropend; a note is required for afgehandeld, geannuleerd and heropend. The public
view only knows open and closed.
"""

from __future__ import annotations

from shared.enums import Status
from shared.errors import TransitionError

S = Status

#: Allowed moves: from-status → set of to-statuses.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.GEMELD: frozenset({S.IN_BEHANDELING, S.INGEPLAND, S.AFGEHANDELD, S.DOORGEZET, S.GEANNULEERD}),
    S.IN_BEHANDELING: frozenset({S.INGEPLAND, S.AFGEHANDELD, S.DOORGEZET, S.GEANNULEERD}),
    S.INGEPLAND: frozenset({S.IN_BEHANDELING, S.AFGEHANDELD, S.DOORGEZET, S.GEANNULEERD}),
    S.DOORGEZET: frozenset({S.IN_BEHANDELING, S.AFGEHANDELD, S.HEROPEND}),
    S.AFGEHANDELD: frozenset({S.HEROPEND}),
    S.GEANNULEERD: frozenset({S.HEROPEND}),
    S.HEROPEND: frozenset({S.IN_BEHANDELING, S.INGEPLAND, S.AFGEHANDELD, S.DOORGEZET, S.GEANNULEERD}),
}

#: Moving to these statuses needs a note (the reason the resident can be told).
NOTE_REQUIRED: frozenset[Status] = frozenset({S.AFGEHANDELD, S.GEANNULEERD, S.HEROPEND})

#: Statuses in which the municipality's work on the melding is finished ("gesloten" to the public).
#: ``doorgezet`` is closed for the wijkteam: another party now owns it.
CLOSED: frozenset[Status] = frozenset({S.AFGEHANDELD, S.GEANNULEERD, S.DOORGEZET})


#: Statuses after which the melder is owed a call-back (issue 14, "Nog terugbellen"): the work is
#: planned (they hear when) or finished (they hear how). ``in_behandeling`` alone is not yet news.
CALLBACK_DUE: frozenset[Status] = frozenset({S.INGEPLAND}) | CLOSED


def allowed_next(current: Status) -> list[Status]:
    """The statuses a melding in ``current`` may move to, in life-cycle order."""
    order = list(Status)
    return sorted(TRANSITIONS[current], key=order.index)


#: The next step forward from each status: what the status dialog proposes (issue 14: from
#: *ingepland* the next step is *afgehandeld*, not back to *in behandeling*).
FORWARD: dict[Status, Status] = {
    S.GEMELD: S.IN_BEHANDELING,
    S.IN_BEHANDELING: S.INGEPLAND,
    S.INGEPLAND: S.AFGEHANDELD,
    S.DOORGEZET: S.AFGEHANDELD,
    S.AFGEHANDELD: S.HEROPEND,
    S.GEANNULEERD: S.HEROPEND,
    S.HEROPEND: S.IN_BEHANDELING,
}


def proposed_next(current: Status) -> Status:
    """The status the dialog proposes first: the next step forward (:data:`FORWARD`), always one
    of :func:`allowed_next`."""
    return FORWARD[current]


def check_transition(current: Status, new: Status, note: str | None) -> None:
    """Check a status change against the table.

    Raises:
        TransitionError: the move is not in ``TRANSITIONS`` or a required note is empty; the message
            is Dutch and names both statuses.
    """
    if new not in TRANSITIONS[current]:
        raise TransitionError(
            "status", f"Van '{current.label}' kan niet naar '{new.label}' worden gegaan."
        )
    if new in NOTE_REQUIRED and not (note or "").strip():
        raise TransitionError(
            "notitie", f"Voor '{new.label}' is een notitie verplicht (intern of voor de melder)."
        )


def is_open(status: Status) -> bool:
    """True when the public view shows the melding as open."""
    return status not in CLOSED


def promise_applies(status: Status) -> bool:
    """Whether the municipality's service promise (belofte) and deadline still speak for the melding.

    Not for a melding passed on to another organisation (``doorgezet``): they handle it on their
    terms, so public answers (status look-up, Open311) show neither our promise nor our date.
    """
    return status != S.DOORGEZET
