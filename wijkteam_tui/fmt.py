"""Dutch display formats for the TUI (dates in Europe/Amsterdam, labels of stored values).

Formatting is done by hand rather than through the OS locale, which is often not installed on
laptops and would make screens differ between machines.
"""

from __future__ import annotations

from datetime import datetime

from shared.deadlines import to_local
from shared.enums import Kanaal, MeldingType, Prioriteit, Status, VierB
from shared.projection import parse_iso
from shared.taxonomy import load_taxonomy

DAGEN = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
MAANDEN = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def _dt(value: datetime | str | None) -> datetime | None:
    return parse_iso(value) if isinstance(value, str) else value


def long_date(value: datetime | str | None) -> str:
    """``"maandag 4 mei 2026"`` (Europe/Amsterdam date of a UTC instant); ``""`` for None."""
    d = _dt(value)
    if d is None:
        return ""
    local = to_local(d)
    return (
        f"{DAGEN[local.weekday()]} {local.day} {MAANDEN[local.month - 1]} {local.year}"
    )


def short_date(value: datetime | str | None, fmt: str = "%d-%m-%Y") -> str:
    """``"04-05-2026"`` (Europe/Amsterdam; ``fmt`` e.g. ``"%d-%m-%y"`` for narrow columns); ``""`` for None."""
    d = _dt(value)
    return to_local(d).strftime(fmt) if d else ""


def date_time(value: datetime | str | None) -> str:
    """``"04-05-2026 14:03"`` (Europe/Amsterdam); ``""`` for None."""
    d = _dt(value)
    return to_local(d).strftime("%d-%m-%Y %H:%M") if d else ""


def categorie_label(code: str | None) -> str:
    """The taxonomy label of a categorie code (``"Groen › Boom (…)"``), or the code if unknown."""
    if not code:
        return ""
    taxonomy = load_taxonomy()
    return taxonomy.get(code).label if code in taxonomy else code


def categorie_short(code: str | None) -> str:
    """A short label for narrow columns: the sub-category name up to a parenthesis."""
    if not code:
        return ""
    taxonomy = load_taxonomy()
    if code not in taxonomy:
        return code
    return taxonomy.get(code).naam.split(" (")[0]


def status_label(value: str) -> str:
    """Dutch label of a stored status value."""
    return Status(value).label


def enum_label(kind: type, value: str | None) -> str:
    """Dutch label of a stored enum value (type, kanaal, vier B, prioriteit); ``""`` for None."""
    if not value:
        return ""
    return kind(value).label


__all__ = [
    "DAGEN",
    "MAANDEN",
    "Kanaal",
    "MeldingType",
    "Prioriteit",
    "VierB",
    "categorie_label",
    "categorie_short",
    "date_time",
    "enum_label",
    "long_date",
    "short_date",
    "status_label",
    "wijk_label",
]


def wijk_label(value: str | None) -> str:
    """A stored wijk as shown (``shared.wijken.wijk_naam``: the configured name of a wijk code)."""
    from shared.wijken import wijk_naam

    return wijk_naam(value)


def not_saved_message(n_errors: int) -> str:
    """``"Niet opgeslagen: 1 veld klopt nog niet."`` / ``"… 3 velden kloppen nog niet."``"""
    if n_errors == 1:
        return "Niet opgeslagen: 1 veld klopt nog niet."
    return f"Niet opgeslagen: {n_errors} velden kloppen nog niet."


def key_label(binding: object) -> str:
    """A binding's key as the help screen and the palette show it: ``Ctrl+Q``, ``Esc``, ``F1``, ``]``.

    ``binding`` is a ``textual.binding.Binding``; its ``key_display`` wins when set; of several keys
    (``"ctrl+f,slash"``) the first is shown.
    """
    shown = getattr(binding, "key_display", None)
    if shown:
        return shown
    key = str(getattr(binding, "key", "")).split(",")[0].strip()
    names = {"escape": "Esc", "enter": "Enter", "slash": "/", "delete": "Del", "space": "Spatie"}
    if key in names:
        return names[key]
    parts = key.split("+")
    out = [p.capitalize() if p in ("ctrl", "shift", "alt") else p for p in parts]
    last = out[-1]
    if len(last) > 1 and last[0] == "f" and last[1:].isdigit():
        out[-1] = last.upper()
    return "+".join(out)
