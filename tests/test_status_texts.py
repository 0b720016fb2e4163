"""A status change separates the internal note from the text for the resident (issue 11 §5): only
the latter is published; events from before the separation keep their meaning."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from shared import commands
from shared.enums import Status
from shared.errors import TransitionError
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.hlc import HLC
from shared.open311 import service_request
from shared.projection import projection_row
from shared.search import resident_view

T0 = datetime(2026, 4, 20, 8, 0, tzinfo=UTC)


def _melding():
    dev = commands.DeviceClock("K7", "piet", hlc=HLC())
    created = commands.register(
        dev, prefix="DLF", counter=1, registered_at=T0,
        fields=MeldingFields(omschrijving="Lamp kapot", categorie="verlichting/lantaarnpaal"),
    )  # fmt: skip
    return dev, [created]


def _published(events: list[Event]) -> tuple[str | None, str | None, str | None]:
    """What the resident sees: public status page, Open311 status_notes, the KCC's public note."""
    m = fold(events)
    row = projection_row(m)
    return resident_view(row).public_note, service_request(row).get("status_notes"), m.public_note()


def test_the_internal_note_is_never_published():
    dev, events = _melding()
    events.append(commands.change_status(dev, fold(events), Status.AFGEHANDELD, "Melder is lastig, niet terugbellen"))
    m = fold(events)
    assert [(n.tekst, n.openbaar) for n in m.notes] == [("Melder is lastig, niet terugbellen", False)]
    assert _published(events) == (None, None, None)


def test_only_the_text_for_the_resident_is_published():
    dev, events = _melding()
    events.append(
        commands.change_status(
            dev, fold(events), Status.AFGEHANDELD, "Kabel was doorgeknaagd", voor_melder="De lamp is vervangen."
        )
    )
    assert _published(events) == ("De lamp is vervangen.",) * 3
    notes = {(n.tekst, n.openbaar) for n in fold(events).notes}
    assert notes == {("Kabel was doorgeknaagd", False), ("De lamp is vervangen.", True)}


def test_a_status_note_from_before_the_separation_stays_public():
    """Schema-1 events have no ``voor_melder``: their note was told to the resident then, so it is now."""
    dev, events = _melding()
    new = commands.change_status(dev, fold(events), Status.AFGEHANDELD, voor_melder="x")
    payload = {"van": "gemeld", "naar": "afgehandeld", "notitie": "Lamp vervangen."}
    legacy = msgspec.structs.replace(new, payload=payload, schema=1)
    assert _published([*events, legacy]) == ("Lamp vervangen.",) * 3


def test_either_text_satisfies_a_required_note():
    dev, events = _melding()
    with pytest.raises(TransitionError) as exc:
        commands.change_status(dev, fold(events), Status.AFGEHANDELD)
    assert "intern of voor de melder" in exc.value.message
    commands.change_status(dev, fold(events), Status.AFGEHANDELD, voor_melder="Opgelost.")
    commands.change_status(dev, fold(events), Status.AFGEHANDELD, "Opgelost, intern.")
