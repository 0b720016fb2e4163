"""Meldingen made the real way (shared.commands → fold → projection row) for the KCC tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.commands import DeviceClock, change_status, register
from shared.enums import Kanaal, Status
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.hlc import HLC, pack
from shared.model import Adres, Melder, Melding, Punt
from shared.projection import projection_row


def clock(device: str = "K7", at: datetime | None = None) -> DeviceClock:
    """A device clock whose HLC reads ``at`` (so history instants are predictable)."""
    ms = int((at or datetime(2026, 4, 24, 8, 15).astimezone()).timestamp() * 1000)
    return DeviceClock(device_id=device, user="piet", hlc=HLC(clock=lambda: ms))


def make(
    counter: int = 142,
    *,
    device: str = "K7",
    registered_at: datetime,
    categorie: str | None = "groen/boom",
    adres: Adres | None = None,
    punt: Punt | None = None,
    melder: Melder | None = None,
    omschrijving: str = "Tak afgebroken",
    wijk: str | None = "Centrum",
    status: list[tuple[Status, str]] = (),
    kanaal: Kanaal = Kanaal.TELEFOON,
) -> tuple[list[Event], Melding, dict[str, Any]]:
    """Register a melding and move it through ``status`` (each with its text for the resident);
    returns (events, folded state, projection row)."""
    dev = clock(device, registered_at)
    events = [
        register(
            dev,
            prefix="DLF",
            counter=counter,
            registered_at=registered_at,
            fields=MeldingFields(
                categorie=categorie, adres=adres, punt=punt, melder=melder, omschrijving=omschrijving,
                wijk=wijk, kanaal=kanaal,
            ),
        )
    ]
    state = fold(events)
    for naar, note in status:
        events.append(change_status(dev, state, naar, voor_melder=note))
        state = fold(events)
    return events, state, projection_row(state)


__all__ = ["clock", "make", "pack"]
