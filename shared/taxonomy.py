"""The categorie taxonomy: main → sub categories of the public space, loaded from TOML data.

A sub-category's code is ``"hoofd/sub"`` (e.g. ``"groen/boom"``); it carries its servicenorm in
working days and the Dutch service promise (belofte) told to the caller. The shipped file is
``shared/data/taxonomy.toml``; a municipality can point ``WIJKTEAM_TAXONOMY`` at its own.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

import msgspec

from shared.errors import ValidationError


class Categorie(msgspec.Struct, frozen=True):
    """One sub-category.

    Attributes:
        code: ``"hoofd/sub"``, stable, stored on meldingen.
        hoofd: main category key, e.g. ``"groen"``; ``hoofd_naam`` its Dutch name.
        naam: Dutch display name of the sub-category.
        servicenorm: working days allowed (see ``shared.deadlines``), 1–60.
        belofte: the service promise read to the caller.
        trefwoorden: extra words the picker matches on.
    """

    code: str
    hoofd: str
    hoofd_naam: str
    naam: str
    servicenorm: int
    belofte: str
    trefwoorden: tuple[str, ...] = ()

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

    def search(self, text: str) -> list[Categorie]:
        """Categories whose code, names or keywords contain every word of ``text`` (case-blind)."""
        words = text.lower().split()
        hits = []
        for cat in self.categories:
            hay = " ".join((cat.code, cat.hoofd_naam, cat.naam, *cat.trefwoorden)).lower()
            if all(w in hay for w in words):
                hits.append(cat)
        return hits


def parse_taxonomy(text: str) -> Taxonomy:
    """Parse taxonomy TOML (the layout of ``shared/data/taxonomy.toml``).

    Raises:
        ValueError: a sub-category lacks ``naam``, ``servicenorm`` (1–60 working days) or ``belofte``.
    """
    data = tomllib.loads(text)
    cats: list[Categorie] = []
    for hoofd, main in data.items():
        for sub, d in main.get("sub", {}).items():
            norm = d.get("servicenorm")
            if not isinstance(norm, int) or not 1 <= norm <= 60:
                raise ValueError(f"taxonomy: {hoofd}/{sub}: servicenorm must be 1–60 working days")
            if not d.get("naam") or not d.get("belofte"):
                raise ValueError(f"taxonomy: {hoofd}/{sub}: naam and belofte are required")
            cats.append(
                Categorie(
                    code=f"{hoofd}/{sub}",
                    hoofd=hoofd,
                    hoofd_naam=main.get("naam", hoofd),
                    naam=d["naam"],
                    servicenorm=norm,
                    belofte=d["belofte"],
                    trefwoorden=tuple(d.get("trefwoorden", ())),
                )
            )
    return Taxonomy(tuple(cats))


@lru_cache(maxsize=4)
def _load(path: str | None) -> Taxonomy:
    if path:
        return parse_taxonomy(Path(path).read_text(encoding="utf-8"))
    return parse_taxonomy(resources.files("shared").joinpath("data/taxonomy.toml").read_text(encoding="utf-8"))


def load_taxonomy() -> Taxonomy:
    """The taxonomy in force: ``$WIJKTEAM_TAXONOMY`` if set, else the shipped file (cached).

    Raises:
        OSError: the file ``$WIJKTEAM_TAXONOMY`` names cannot be read.
        ValueError: it is not valid TOML or a sub-category is incomplete (see :func:`parse_taxonomy`).
    """
    return _load(os.environ.get("WIJKTEAM_TAXONOMY") or None)
