"""The categorie taxonomy: main → sub categories of the public space, part of the municipality
configuration (``shared.gemeente``).

A sub-category's code is ``"hoofd/sub"`` (e.g. ``"groen/boom"``); it carries its servicenorm in
working days, the Dutch service promise (belofte) told to the caller, optionally its own norm and
promise per prioriteit (``spoed`` above all), and ``vervallen`` once it is retired: a retired
category stays readable on old meldingen but cannot be chosen for new ones. The package default
is ``shared/data/taxonomy.toml``; the configuration in force comes from the server
(``wijkteam-server config import``, docs/server.md) and is read with :func:`load_taxonomy`.
"""

from __future__ import annotations

import tomllib

import msgspec

from shared.enums import Prioriteit
from shared.errors import ValidationError

#: Working days for prioriteit ``spoed`` when a category names no spoed norm of its own (docs/policy.md).
SPOED_FALLBACK_NORM = 1
#: Bounds of a norm in working days: 0 means "the same day" (allowed only per prioriteit, for spoed).
MAX_NORM = 60


class SubcategorieDef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One sub-category as written in the configuration (``[hoofd.sub.code]`` in taxonomy.toml).

    Attributes:
        naam: Dutch display name.
        servicenorm: working days (1–60) for every prioriteit without a norm of its own.
        belofte: the service promise read to the caller (names the same number of working days).
        normen: prioriteit → working days (0–60; 0 = the same day), e.g. ``{spoed = 0}``.
        beloften: prioriteit → the promise for that prioriteit; required for each key of ``normen``.
        trefwoorden: extra words the picker matches on.
        vervallen: retired: readable on old meldingen, no longer offered or accepted for new ones.
    """

    naam: str
    servicenorm: int
    belofte: str
    # default_factory, not {}: OpenAPI schema generation hashes plain defaults (GET /api/v1/config).
    normen: dict[Prioriteit, int] = msgspec.field(default_factory=dict)
    beloften: dict[Prioriteit, str] = msgspec.field(default_factory=dict)
    trefwoorden: tuple[str, ...] = ()
    vervallen: bool = False


class HoofdcategorieDef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A main category as written in the configuration: Dutch ``naam`` and its sub-categories by key."""

    naam: str = ""
    sub: dict[str, SubcategorieDef] = msgspec.field(default_factory=dict)


class Categorie(msgspec.Struct, frozen=True):
    """One sub-category.

    Attributes:
        code: ``"hoofd/sub"``, stable, stored on meldingen.
        hoofd: main category key, e.g. ``"groen"``; ``hoofd_naam`` its Dutch name.
        naam: Dutch display name of the sub-category.
        servicenorm: working days allowed (see ``shared.deadlines``), 1–60.
        belofte: the service promise read to the caller.
        trefwoorden: extra words the picker matches on.
        normen / beloften: norm (working days, 0–60) and promise per prioriteit that differs from
            ``servicenorm`` / ``belofte`` (see :meth:`norm`, :meth:`belofte_voor`).
        vervallen: retired (readable, not selectable).
    """

    code: str
    hoofd: str
    hoofd_naam: str
    naam: str
    servicenorm: int
    belofte: str
    trefwoorden: tuple[str, ...] = ()
    normen: dict[str, int] = {}
    beloften: dict[str, str] = {}
    vervallen: bool = False

    def norm(self, prioriteit: Prioriteit | str | None = None) -> int:
        """Working days allowed for a melding of ``prioriteit`` (default ``normaal``).

        The category's own norm for that prioriteit, else ``servicenorm``; for ``spoed`` without a
        norm of its own ``min(servicenorm, SPOED_FALLBACK_NORM)`` (docs/policy.md). 0 means the
        deadline is the end of the registration day.
        """
        key = str(prioriteit or Prioriteit.NORMAAL)
        if key in self.normen:
            return self.normen[key]
        if key == Prioriteit.SPOED:
            return min(self.servicenorm, SPOED_FALLBACK_NORM)
        return self.servicenorm

    def belofte_voor(self, prioriteit: Prioriteit | str | None = None) -> str:
        """The promise told to the caller for ``prioriteit``: its own, else the general one (for a
        spoed norm that comes from the fallback, a sentence naming that norm)."""
        key = str(prioriteit or Prioriteit.NORMAAL)
        if key in self.beloften:
            return self.beloften[key]
        if key == Prioriteit.SPOED and key not in self.normen:
            n = self.norm(key)
            return "Met spoed: wij pakken dit vandaag nog op." if n == 0 else (
                f"Met spoed: wij pakken dit binnen {n} werkdag{'en' if n > 1 else ''} op."
            )
        return self.belofte

    @property
    def label(self) -> str:
        """``"Groen › Boom (…)"``, as shown in lists and pickers."""
        return f"{self.hoofd_naam} › {self.naam}"


class Taxonomy(msgspec.Struct, frozen=True):
    """All categories in file order; look one up with :meth:`get`."""

    categories: tuple[Categorie, ...]

    def get(self, code: str) -> Categorie:
        """The category with ``code``.

        Raises:
            ValidationError: unknown code (field ``categorie``).
        """
        for cat in self.categories:
            if cat.code == code:
                return cat
        raise ValidationError("categorie", f"Onbekende categorie '{code}'.")

    def __contains__(self, code: object) -> bool:
        return any(c.code == code for c in self.categories)

    def kiesbaar(self, code: str) -> Categorie:
        """The category with ``code`` if it may be chosen for a melding now.

        Raises:
            ValidationError: unknown or retired (``vervallen``) code (field ``categorie``).
        """
        cat = self.get(code)
        if cat.vervallen:
            raise ValidationError("categorie", f"De categorie '{cat.label}' is vervallen; kies een andere.")
        return cat

    def search(self, text: str, *, vervallen: bool = False) -> list[Categorie]:
        """Categories whose code, names or keywords contain every word of ``text`` (case-blind);
        retired ones only when ``vervallen`` is true (a picker never offers them)."""
        words = text.lower().split()
        hits = []
        for cat in self.categories:
            if cat.vervallen and not vervallen:
                continue
            hay = " ".join((cat.code, cat.hoofd_naam, cat.naam, *cat.trefwoorden)).lower()
            if all(w in hay for w in words):
                hits.append(cat)
        return hits


def taxonomy_from_defs(defs: dict[str, HoofdcategorieDef]) -> Taxonomy:
    """The :class:`Taxonomy` of a configuration's ``taxonomy`` section (already validated by
    ``shared.gemeente``), in file order."""
    cats = [
        Categorie(
            code=f"{hoofd}/{sub}",
            hoofd=hoofd,
            hoofd_naam=main.naam or hoofd,
            naam=d.naam,
            servicenorm=d.servicenorm,
            belofte=d.belofte,
            trefwoorden=d.trefwoorden,
            normen={str(k): v for k, v in d.normen.items()},
            beloften={str(k): v for k, v in d.beloften.items()},
            vervallen=d.vervallen,
        )
        for hoofd, main in defs.items()
        for sub, d in main.sub.items()
    ]
    return Taxonomy(tuple(cats))


def parse_taxonomy(text: str) -> Taxonomy:
    """Parse taxonomy TOML (the layout of ``shared/data/taxonomy.toml``) on its own.

    The configuration import (``shared.gemeente``) checks the same rules with file, line and field.

    Raises:
        ValueError: the message names the place (``regel 5, groen.sub.boom.servicenorm``) and what is wrong: a missing
            ``naam``/``servicenorm``/``belofte``, a norm outside 1–60 working days, unknown keys.
    """
    from shared.gemeente import ConfigError, _Source, check_taxonomy

    try:
        return taxonomy_from_defs(check_taxonomy(tomllib.loads(text), _Source("taxonomy.toml", text)))
    except ConfigError as exc:
        raise ValueError(f"taxonomy: {exc}") from None


def load_taxonomy() -> Taxonomy:
    """The taxonomy in force: that of the active municipality configuration
    (``shared.gemeente.gemeente()``; the package default until a configuration is activated)."""
    from shared.gemeente import gemeente

    return gemeente().taxonomy
