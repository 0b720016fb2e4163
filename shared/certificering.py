"""Certificate criteria: thresholds per barometer indicator for the levels brons, zilver and goud.

The criteria are configuration (TOML), not code: the ``certificering`` part of the municipality
configuration (``shared.gemeente``, loaded on the server by the admin); ``shared/data/certificering.toml``
holds the documented package defaults, which are local policy (docs/barometer.md). Layout::

    [criteria.pct_within_norm]          # an Indicators field
    naam = "Binnen de servicenorm afgehandeld (%)"
    richting = "min"                    # "min": value >= threshold; "max": value <= threshold
    brons = 70.0
    zilver = 80.0
    goud = 90.0
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

import msgspec

from shared.errors import ValidationError

LEVELS: tuple[str, ...] = ("brons", "zilver", "goud")


class Criterion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One criterion: the indicator's Dutch name, direction and the three thresholds."""

    naam: str
    richting: Literal["min", "max"]
    brons: float
    zilver: float
    goud: float

    def threshold(self, level: str) -> float:
        """The threshold of ``level`` (one of ``LEVELS``), in the indicator's unit."""
        return float(getattr(self, level))

    def meets(self, value: float, level: str) -> bool:
        """Whether ``value`` reaches ``level`` (``>=`` for richting min, ``<=`` for max)."""
        t = self.threshold(level)
        return value >= t if self.richting == "min" else value <= t


class CriterionResult(msgspec.Struct):
    """One certificate criterion judged on the report's totals (:func:`evaluate`; part of a
    ``shared.barometer.BarometerReport``).

    ``met`` maps each level (brons, zilver, goud) to whether the value reaches it; ``None`` for all
    levels when the value is n.v.t.; ``level`` is the highest level reached (``None``: none).
    """

    indicator: str
    label: str
    direction: str
    value: float | None
    thresholds: dict[str, float]
    met: dict[str, bool | None]
    level: str | None


class Criteria(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """All criteria, keyed by the ``shared.barometer.Indicators`` field they judge."""

    criteria: dict[str, Criterion]


def parse_criteria(text: str) -> Criteria:
    """Parse criteria TOML.

    Raises:
        ValidationError: field ``certificering``: bad TOML, an unknown key or indicator, or thresholds
            that do not rise from brons to goud in the criterion's direction.
    """
    from shared.barometer.indicators import Indicators

    try:
        crit = msgspec.convert(tomllib.loads(text), Criteria)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise ValidationError("certificering", f"Ongeldige certificeringscriteria: {exc}") from None
    known = set(Indicators.__struct_fields__)
    for name, c in crit.criteria.items():
        if name not in known:
            raise ValidationError("certificering", f"Onbekende indicator '{name}' in de certificeringscriteria.")
        b, z, g = c.brons, c.zilver, c.goud
        ok = b <= z <= g if c.richting == "min" else b >= z >= g
        if not ok:
            raise ValidationError(
                "certificering", f"Criterium '{name}': brons, zilver en goud moeten oplopend streng zijn."
            )
    return crit


@lru_cache(maxsize=8)
def _read(path: str) -> Criteria:
    return parse_criteria(Path(path).read_text(encoding="utf-8"))


def load_criteria(path: str | Path | None = None) -> Criteria:
    """The criteria of the file ``path`` (a what-if, e.g. ``wijkteam-server report --criteria``), else
    those of the active municipality configuration (``shared.gemeente.gemeente()``).

    Raises:
        ValidationError: the file's criteria are invalid (see :func:`parse_criteria`). OSError: unreadable.
    """
    if path:
        return _read(str(path))
    from shared.gemeente import gemeente

    return gemeente().criteria


def evaluate(criteria: Criteria, indicators: object) -> tuple[list[CriterionResult], str | None]:
    """Judge ``indicators`` (a ``shared.barometer.Indicators``) against every criterion.

    Returns:
        ``(results, level)``: a ``CriterionResult`` per criterion, and the highest level that every
        criterion reaches. ``None`` when one misses brons or when any criterion is n.v.t.: a level is
        never claimed on missing data (a month with one melding and nothing closed would otherwise
        read as "goud"). A criterion whose value is n.v.t. is reported as such.
    """
    results = []
    tops: list[int] = []  # per judged criterion: how many levels it reaches
    for name, c in criteria.criteria.items():
        value = getattr(indicators, name)
        if value is None:
            met: Mapping[str, bool | None] = {lvl: None for lvl in LEVELS}
            level = None
        else:
            met = {lvl: c.meets(float(value), lvl) for lvl in LEVELS}
            reached = [i for i, lvl in enumerate(LEVELS) if met[lvl]]
            level = LEVELS[max(reached)] if reached else None
            tops.append(max(reached) + 1 if reached else 0)
        results.append(
            CriterionResult(
                indicator=name,
                label=c.naam,
                direction=c.richting,
                value=None if value is None else float(value),
                thresholds={lvl: c.threshold(lvl) for lvl in LEVELS},
                met=dict(met),
                level=level,
            )
        )
    all_judged = len(tops) == len(results)
    certificate = LEVELS[min(tops) - 1] if tops and all_judged and min(tops) > 0 else None
    return results, certificate
