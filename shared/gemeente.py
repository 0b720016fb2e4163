"""The municipality configuration: one document, owned by the server, used by every laptop.

What a municipality sets once (issue 13): its name, CBS code, reference prefix and number of
inwoners; the categorie taxonomy with servicenorm and belofte per sub-category and per prioriteit
(``spoed``), retired categories; the wijken with their polygons and wijkuitvoerders; the holiday
policy; the certificate criteria; standard texts for notes, call-backs and status messages; the
terugbelnorm; retention periods (used by the AVG work, issue 16).

Where it comes from:

* the **package default** (version 0): the files in ``shared/data/`` (a made-up SAMPLE
  municipality), so ``wijkteam --demo`` needs no server;
* the **server**: ``wijkteam-server config import DIR|FILE`` validates a configuration whole
  (:func:`read_config`) and stores it as the next version; laptops fetch it at sync
  (``GET /api/v1/config``), keep it in their database and :func:`activate` it.

Code reads the configuration in force through :func:`gemeente` (and the section helpers
``shared.taxonomy.load_taxonomy``, ``shared.wijken.load_wijken``, ``shared.certificering.load_criteria``,
``shared.deadlines.active_policy``), never from package files.

On disk a configuration is a folder or one TOML file (docs/server.md, "Gemeenteconfiguratie"):

=====================  ==========================================  =================================
folder file            single-file section                          content
=====================  ==========================================  =================================
``gemeente.toml``      top-level keys                               naam, code, prefix, inwoners,
                                                                    terugbelnorm, [feestdagen],
                                                                    [bewaartermijnen]
``taxonomy.toml``      ``[taxonomy.<hoofd>]``                       categories (``shared.taxonomy``)
``wijken.toml``        ``[wijken]``, ``[[wijken.gemeente]]``        wijken (``shared.wijken``)
``wijken.geojson``     named by ``wijken.geojson``                  wijk polygons (optional)
``certificering.toml`` ``[certificering.criteria.<indicator>]``    criteria (optional)
``teksten.toml``       ``[[teksten.tekst]]``                        standard texts (optional)
=====================  ==========================================  =================================

Every error is a :class:`ConfigError` whose Dutch message names the file, the line and the field.
"""

from __future__ import annotations

import json
import re
import threading
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import msgspec

from shared.certificering import Criteria, Criterion
from shared.deadlines import HolidayPolicy, set_active_policy
from shared.enums import Status
from shared.errors import ValidationError
from shared.reference import is_prefix
from shared.status import CLOSED
from shared.taxonomy import MAX_NORM, HoofdcategorieDef, SubcategorieDef, Taxonomy, taxonomy_from_defs
from shared.validation import FREE_TEXT, NAME, SHORT_LINE, TextRule, check_text
from shared.wijken import WijkConfig, WijkenFile

#: Default terugbelnorm: working days within which the melder is called back (docs/policy.md).
DEFAULT_TERUGBELNORM = 2

#: File names of a configuration folder, in export order; each is also the single-file section name.
FILES = ("gemeente.toml", "taxonomy.toml", "wijken.toml", "certificering.toml", "teksten.toml")
#: Sections that must be present in a configuration an admin imports.
REQUIRED = ("gemeente.toml", "taxonomy.toml", "wijken.toml")

Soort = Literal["notitie", "terugkoppeling", "status"]
_KEY = re.compile(r"^[a-z0-9_]+$")
_CBS_CODE = re.compile(r"^[0-9]{4}$")
_PC4 = re.compile(r"^[1-9][0-9]{3}$")


# -- the document ---------------------------------------------------------------------------------


class Bewaartermijnen(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How long personal data and meldingen are kept (issue 16 applies these).

    Attributes:
        anonimiseren_na_dagen: the melder's contact details are anonymised this many days after a
            melding is closed (default 365).
        verwijderen_na_jaren: closed status → years after closing when the melding is removed
            (default geannuleerd 1, afgehandeld 5; a closed status not named is kept).
    """

    anonimiseren_na_dagen: int = 365
    verwijderen_na_jaren: dict[Status, int] = msgspec.field(
        default_factory=lambda: {Status.GEANNULEERD: 1, Status.AFGEHANDELD: 5}
    )


class StandaardTekst(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A standard text a wijkuitvoerder can pick instead of typing.

    Attributes:
        soort: ``notitie`` (an internal note), ``terugkoppeling`` (what is said when calling back)
            or ``status`` (the text for the resident with a status change).
        titel: short name shown in the picker.
        tekst: the text itself (multi-line allowed).
        status: only offered for this status (the new status for ``status``); None: any.
        categorie: only offered for this categorie (``groen/boom``) or main category (``groen``); None: any.
    """

    soort: Soort
    titel: str
    tekst: str
    status: Status | None = None
    categorie: str | None = None


class _Basis(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The top-level keys (``gemeente.toml``); :class:`GemeenteConfig` adds the other parts."""

    naam: str
    code: str
    prefix: str
    inwoners: int
    terugbelnorm: int = DEFAULT_TERUGBELNORM
    voorbeeld: bool = False
    feestdagen: HolidayPolicy = HolidayPolicy()
    bewaartermijnen: Bewaartermijnen = msgspec.field(default_factory=Bewaartermijnen)


class GemeenteConfig(_Basis, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One version of the municipality configuration: what the server stores, sends to laptops
    (JSON, :func:`encode_config`) and laptops keep in their database.

    Attributes:
        version: 0 for the package default; the server numbers imports 1, 2, 3, …
        naam: the municipality's name as shown to residents (``Gemeente Dalfsen``).
        code: CBS gemeentecode, 4 digits (``0148``).
        prefix: reference prefix, 2–5 letters (``DLF`` in ``DLF-K7-0142``).
        inwoners: number of inhabitants (reports give figures per 1,000 inwoners).
        terugbelnorm: working days within which the melder is called back (default 2).
        voorbeeld: made-up sample data (the package default); labelled as such.
        feestdagen: Good Friday / 5 May policy (``shared.deadlines.HolidayPolicy``).
        bewaartermijnen: retention (:class:`Bewaartermijnen`).
        taxonomy: main category key → :class:`~shared.taxonomy.HoofdcategorieDef`, in file order.
        wijken: municipalities, wijken, wijkuitvoerders and polygons (``shared.wijken.WijkenFile``
            with the GeoJSON embedded in ``grenzen``).
        certificering: the certificate criteria (``shared.certificering.Criteria``).
        teksten: the standard texts, in file order.
    """

    version: int = 0
    taxonomy: dict[str, HoofdcategorieDef]
    wijken: WijkenFile
    certificering: Criteria
    teksten: tuple[StandaardTekst, ...] = ()


# -- errors with a place --------------------------------------------------------------------------


class ConfigError(ValidationError):
    """A configuration that cannot be used; nothing of it was applied.

    Attributes:
        file: the file concerned (``taxonomy.toml``), or ``""``.
        line: 1-based line in that file, or None when it cannot be told (a missing key).
        path: the field, dotted (``groen.sub.boom.servicenorm``), or ``""``.
        reason: what is wrong, Dutch.
        message: ``"taxonomy.toml, regel 14, groen.sub.boom.servicenorm: …"`` (the three places
            that are known, then the reason).
    """

    def __init__(self, file: str, line: int | None, path: str, reason: str) -> None:
        where = ", ".join(p for p in (file, f"regel {line}" if line else "", path) if p)
        super().__init__("configuratie", f"{where}: {reason}" if where else reason)
        self.file = file
        self.line = line
        self.path = path
        self.reason = reason


Path_ = tuple[str | int, ...]


class _TomlLines:
    """Where each table and key of a TOML text starts (1-based lines), for error messages.

    tomllib keeps no positions, so this reads the text line by line: table headers (``[a.b]``,
    ``[[a.b]]`` with a running index per array) and ``key = value`` lines. Multi-line strings are
    skipped. Good enough to point at the right line of a hand-written file; a place it cannot find
    falls back to the nearest enclosing table.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(#.*)?$")
    _ASSIGN = re.compile(r"""^\s*((?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'))*)\s*=""")

    def __init__(self, text: str) -> None:
        self.lines: dict[Path_, int] = {}
        arrays: dict[Path_, int] = {}
        current: Path_ = ()
        in_string: str | None = None
        for n, line in enumerate(text.splitlines(), start=1):
            if in_string:
                if line.count(in_string) % 2 == 1:
                    in_string = None
                continue
            header = self._HEADER.match(line)
            if header and not line.lstrip().startswith("#"):
                parts = self._keys(header.group(2))
                if header.group(1) == "[[":
                    base = self._resolve(parts[:-1], arrays) + (parts[-1],)
                    idx = arrays.get(base, -1) + 1
                    arrays[base] = idx
                    current = base + (idx,)
                    self.lines.setdefault(base, n)
                else:
                    current = self._resolve(parts, arrays)
                self.lines.setdefault(current, n)
                continue
            assign = self._ASSIGN.match(line)
            if assign:
                self.lines.setdefault(current + self._keys(assign.group(1)), n)
                rest = line[assign.end() :]
                for quote in ('"""', "'''"):
                    if rest.count(quote) % 2 == 1:
                        in_string = quote

    @staticmethod
    def _keys(dotted: str) -> tuple[str, ...]:
        return tuple(p.strip().strip("\"'") for p in re.findall(r"""(?:"[^"]*"|'[^']*'|[^.]+)""", dotted))

    @staticmethod
    def _resolve(parts: Iterable[str], arrays: dict[Path_, int]) -> Path_:
        out: list[str | int] = []
        for p in parts:
            out.append(p)
            if tuple(out) in arrays:
                out.append(arrays[tuple(out)])
        return tuple(out)

    def line(self, path: Path_) -> int | None:
        """The line of ``path``, else of its nearest enclosing table or key; None when unknown."""
        for cut in range(len(path), 0, -1):
            found = self.lines.get(path[:cut])
            if found:
                return found
        return None


@dataclass(frozen=True)
class _Source:
    """A section's text: the file it was read from and the path of the section inside it."""

    file: str
    text: str = ""
    prefix: Path_ = ()

    @cached_property
    def index(self) -> _TomlLines:
        return _TomlLines(self.text)

    def error(self, path: Path_, reason: str) -> ConfigError:
        full = self.prefix + tuple(path)
        line = self.index.line(full) if self.text else None
        return ConfigError(self.file, line, _dotted(full), reason)


def _dotted(path: Iterable[str | int]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


_TYPES = {
    "int": "een geheel getal", "str": "tekst", "bool": "true of false", "float": "een getal",
    "array": "een lijst", "object": "een tabel", "null": "niets", "number": "een getal",
}  # fmt: skip


def _msgspec_path(text: str) -> Path_:
    """``$.gemeente[0].wijk[1].code`` → ``("gemeente", 0, "wijk", 1, "code")`` (``[...]`` dict keys dropped)."""
    out: list[str | int] = []
    for name, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+|\.\.\.)\]", text):
        if name:
            out.append(name)
        elif index != "...":
            out.append(int(index))
    return tuple(out)


def _dutch(exc: msgspec.ValidationError) -> tuple[Path_, str]:
    """A msgspec validation message in Dutch, with the path it names (relative to the converted value)."""
    msg = str(exc)
    at = re.search(r" - at (?:`key` in )?`(\$[^`]*)`$", msg)
    path = _msgspec_path(at.group(1)) if at else ()
    text = msg[: at.start()] if at else msg
    if m := re.match(r"Object missing required field `(.+)`", text):
        return path, f"het verplichte veld '{m.group(1)}' ontbreekt"
    if m := re.match(r"Object contains unknown field `(.+)`", text):
        return path + (m.group(1),), f"onbekend veld '{m.group(1)}'"
    if m := re.match(r"Expected `(\w+)`, got `(\w+)`", text):
        want, got = m.groups()
        return path, f"verwacht {_TYPES.get(want, want)}, gevonden {_TYPES.get(got, got)}"
    if m := re.match(r"Expected `(\w+) \| null`, got `(\w+)`", text):
        want, got = m.groups()
        return path, f"verwacht {_TYPES.get(want, want)}, gevonden {_TYPES.get(got, got)}"
    if m := re.match(r"Invalid enum value (.+)", text):
        return path, f"onbekende waarde {m.group(1)}"
    return path, text


def _convert(raw: Any, kind: type, src: _Source, path: Path_ = ()) -> Any:
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        sub, reason = _dutch(exc)
        raise src.error(path + sub, reason) from None


def _table(raw: Any, src: _Source, path: Path_) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise src.error(path, "verwacht een tabel")
    return raw


def read_toml_struct(path: str | Path, kind: type) -> Any:
    """Any settings file: TOML at ``path`` converted to the msgspec Struct ``kind`` (unknown keys
    refused when ``kind`` forbids them), with errors that name file, line and field like the
    configuration's (``wijkteam-server serve --config`` uses it).

    Raises:
        ConfigError: unreadable, not TOML, an unknown key or a value of the wrong type.
    """
    path = Path(path)
    text = _read_text(path)
    return _convert(_load_toml(path.name, text), kind, _Source(path.name, text))


def located_error(path: str | Path, key: str, reason: str) -> ConfigError:
    """A :class:`ConfigError` for top-level ``key`` of the TOML file ``path``, naming its line: for
    rules a caller checks after :func:`read_toml_struct`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    return _Source(path.name, text).error((key,), reason)


# -- reading a configuration ----------------------------------------------------------------------


def _check_text(value: str, src: _Source, path: Path_, rule: TextRule = SHORT_LINE, *, required: bool = True) -> None:
    """A text of the configuration by the text rules of ``shared.validation`` (a configuration is
    input like any other): no control characters the kind does not allow, within the length."""
    if required and not value.strip():
        raise src.error(path, "mag niet leeg zijn")
    try:
        check_text(value, _dotted(path), rule)
    except ValidationError as exc:
        raise src.error(path, exc.message) from None


def _check_basis(raw: dict[str, Any], src: _Source) -> _Basis:
    basis: _Basis = _convert(raw, _Basis, src)
    _check_text(basis.naam, src, ("naam",), NAME)
    if not _CBS_CODE.match(basis.code):
        raise src.error(("code",), "de CBS-gemeentecode is 4 cijfers, zoals \"0148\"")
    if not is_prefix(basis.prefix):
        raise src.error(("prefix",), "het voorvoegsel is 2 tot 5 hoofdletters, zoals \"DLF\"")
    if not 1 <= basis.inwoners <= 10_000_000:
        raise src.error(("inwoners",), "het aantal inwoners is een getal van 1 tot 10.000.000")
    if not 0 <= basis.terugbelnorm <= MAX_NORM:
        raise src.error(("terugbelnorm",), f"de terugbelnorm is 0 tot {MAX_NORM} werkdagen")
    b = basis.bewaartermijnen
    if not 1 <= b.anonimiseren_na_dagen <= 36_500:
        raise src.error(("bewaartermijnen", "anonimiseren_na_dagen"), "verwacht 1 tot 36.500 dagen")
    for status, years in b.verwijderen_na_jaren.items():
        where = ("bewaartermijnen", "verwijderen_na_jaren", str(status))
        if status not in CLOSED:
            raise src.error(where, f"alleen een afgesloten status ({', '.join(sorted(CLOSED))}) wordt verwijderd")
        if not 1 <= years <= 100:
            raise src.error(where, "verwacht 1 tot 100 jaar")
    return basis


def check_taxonomy(raw: dict[str, Any], src: _Source | None = None) -> dict[str, HoofdcategorieDef]:
    """The ``taxonomy`` section checked and typed, in file order.

    Rules: keys are lower-case letters, digits and ``_``; every sub-category has ``naam``,
    ``belofte`` and ``servicenorm`` (1–60 working days); ``normen`` per prioriteit are 0–60 (0: the
    same day) and each has its own ``beloften`` entry (the promise must name the right number);
    at least one category can be chosen (not ``vervallen``).

    Raises:
        ConfigError: the first rule broken, with file, line and field.
    """
    src = src or _Source("taxonomy.toml")
    out: dict[str, HoofdcategorieDef] = {}
    active = 0
    for hoofd, raw_h in _table(raw, src, ()).items():
        if not _KEY.match(hoofd):
            raise src.error((hoofd,), "een categoriesleutel bestaat uit kleine letters, cijfers en _")
        raw_h = dict(_table(raw_h, src, (hoofd,)))
        raw_sub = _table(raw_h.pop("sub", {}), src, (hoofd, "sub"))
        naam = _convert(raw_h, HoofdcategorieDef, src, (hoofd,)).naam
        if naam:
            _check_text(naam, src, (hoofd, "naam"))
        subs: dict[str, SubcategorieDef] = {}
        for key, raw_s in raw_sub.items():
            where = (hoofd, "sub", key)
            if not _KEY.match(key):
                raise src.error(where, "een categoriesleutel bestaat uit kleine letters, cijfers en _")
            d: SubcategorieDef = _convert(_table(raw_s, src, where), SubcategorieDef, src, where)
            _check_text(d.naam, src, where + ("naam",))
            _check_text(d.belofte, src, where + ("belofte",), FREE_TEXT)
            if not 1 <= d.servicenorm <= MAX_NORM:
                raise src.error(where + ("servicenorm",), f"de servicenorm is 1 tot {MAX_NORM} werkdagen")
            for prio, n in d.normen.items():
                if not 0 <= n <= MAX_NORM:
                    raise src.error(where + ("normen", str(prio)), f"een norm is 0 (dezelfde dag) tot {MAX_NORM} werkdagen")
                if prio not in d.beloften:
                    raise src.error(
                        where + ("normen", str(prio)),
                        f"een eigen norm voor '{prio}' vraagt ook een eigen belofte (beloften.{prio})",
                    )
            for prio, text in d.beloften.items():
                _check_text(text, src, where + ("beloften", str(prio)), FREE_TEXT)
            for i, word in enumerate(d.trefwoorden):
                _check_text(word, src, where + ("trefwoorden", i))
            active += not d.vervallen
            subs[key] = d
        out[hoofd] = HoofdcategorieDef(naam=naam, sub=subs)
    if not active:
        raise src.error((), "geen enkele categorie om uit te kiezen (alle vervallen, of geen)")
    return out


def _check_wijken(raw: dict[str, Any], src: _Source, geojson: tuple[str, str] | None) -> WijkenFile:
    data: WijkenFile = _convert(raw, WijkenFile, src)
    if not data.gemeente:
        raise src.error(("gemeente",), "noem minstens één gemeente ([[gemeente]])")
    seen: set[str] = set()
    for g_i, g in enumerate(data.gemeente):
        _check_text(g.naam, src, ("gemeente", g_i, "naam"), NAME)
        for p_i, pc in enumerate(g.postcodes):
            if not _PC4.match(pc):
                raise src.error(("gemeente", g_i, "postcodes", p_i), f"'{pc}' is geen postcodegebied van 4 cijfers")
        for w_i, w in enumerate(g.wijk):
            where = ("gemeente", g_i, "wijk", w_i)
            if not _KEY.match(w.code):
                raise src.error(where + ("code",), "een wijkcode bestaat uit kleine letters, cijfers en _")
            if w.code in seen:
                raise src.error(where + ("code",), f"de wijkcode '{w.code}' komt twee keer voor")
            seen.add(w.code)
            _check_text(w.naam, src, where + ("naam",), NAME)
            for p_i, pc in enumerate(w.postcodes):
                if not _PC4.match(pc):
                    raise src.error(where + ("postcodes", p_i), f"'{pc}' is geen postcodegebied van 4 cijfers")
            for u_i, user in enumerate(w.wijkuitvoerders):
                _check_text(user, src, where + ("wijkuitvoerders", u_i), NAME)
    if data.grenzen is not None and geojson is None:
        raise src.error(("grenzen",), "zet de wijkgrenzen in een GeoJSON-bestand en noem dat met geojson = \"…\"")
    grenzen = None
    if geojson is not None:
        name, text = geojson
        try:
            grenzen = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(name, exc.lineno, "", f"geen geldige JSON: {exc.msg}") from None
        if not isinstance(grenzen, dict) or grenzen.get("type") not in ("FeatureCollection", "Feature"):
            raise ConfigError(name, 1, "type", "verwacht een GeoJSON FeatureCollection")
    data = msgspec.structs.replace(data, geojson="", grenzen=grenzen)
    try:
        WijkConfig.from_file(data)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        name = geojson[0] if geojson else src.file
        text = geojson[1] if geojson else ""
        named = re.search(r"'([^']+)'", str(exc))
        line = next(
            (n for n, ln in enumerate(text.splitlines(), 1) if named and f'"{named.group(1)}"' in ln), None
        ) if text else None
        raise ConfigError(name, line, "", f"onbruikbare wijkgrens: {exc}") from None
    return data


def _check_certificering(raw: dict[str, Any], src: _Source) -> Criteria:
    from shared.barometer.indicators import Indicators

    raw = dict(_table(raw, src, ()))
    crit = _table(raw.pop("criteria", {}), src, ("criteria",))
    if raw:
        key = next(iter(raw))
        raise src.error((key,), f"onbekend veld '{key}' (criteria staan onder [criteria.<indicator>])")
    known = set(Indicators.__struct_fields__)
    out: dict[str, Criterion] = {}
    for name, raw_c in crit.items():
        where = ("criteria", name)
        if name not in known:
            raise src.error(where, f"onbekende indicator '{name}'")
        c: Criterion = _convert(_table(raw_c, src, where), Criterion, src, where)
        ok = c.brons <= c.zilver <= c.goud if c.richting == "min" else c.brons >= c.zilver >= c.goud
        if not ok:
            raise src.error(where + ("zilver",), "brons, zilver en goud moeten oplopend streng zijn")
        out[name] = c
    return Criteria(out)


class _TekstenFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    tekst: tuple[StandaardTekst, ...] = ()


def _check_teksten(raw: dict[str, Any], src: _Source, taxonomy: Taxonomy) -> tuple[StandaardTekst, ...]:
    teksten = _convert(raw, _TekstenFile, src).tekst
    hoofden = {c.hoofd for c in taxonomy.categories}
    for i, t in enumerate(teksten):
        where = ("tekst", i)
        _check_text(t.titel, src, where + ("titel",))
        _check_text(t.tekst, src, where + ("tekst",), FREE_TEXT)
        if t.categorie is not None and t.categorie not in taxonomy and t.categorie not in hoofden:
            raise src.error(where + ("categorie",), f"onbekende categorie '{t.categorie}'")
    return teksten


def _load_toml(name: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        reason = str(exc)[: m.start()].strip() if m else str(exc)
        raise ConfigError(name, int(m.group(1)) if m else None, "", f"geen geldige TOML ({reason})") from None


def _assemble(
    sections: dict[str, tuple[dict[str, Any], _Source]], geojson: Callable[[str, _Source], tuple[str, str]]
) -> GemeenteConfig:
    basis_raw, basis_src = sections["gemeente.toml"]
    basis = _check_basis(basis_raw, basis_src)
    tax_raw, tax_src = sections["taxonomy.toml"]
    taxonomy = check_taxonomy(tax_raw, tax_src)
    wijk_raw, wijk_src = sections["wijken.toml"]
    ref = wijk_raw.get("geojson") if isinstance(wijk_raw, dict) else None
    if ref is not None and not isinstance(ref, str):
        raise wijk_src.error(("geojson",), "verwacht tekst: de naam van het GeoJSON-bestand")
    wijken = _check_wijken(wijk_raw, wijk_src, geojson(ref, wijk_src) if ref else None)
    if "certificering.toml" in sections:
        certificering = _check_certificering(*sections["certificering.toml"])
    else:
        certificering = package_default().certificering
    tax = taxonomy_from_defs(taxonomy)
    if "teksten.toml" in sections:
        teksten = _check_teksten(*sections["teksten.toml"], tax)
    else:
        hoofden = {c.hoofd for c in tax.categories}
        teksten = tuple(
            t for t in package_default().teksten if t.categorie is None or t.categorie in tax or t.categorie in hoofden
        )
    return GemeenteConfig(
        naam=basis.naam, code=basis.code, prefix=basis.prefix, inwoners=basis.inwoners,
        terugbelnorm=basis.terugbelnorm, voorbeeld=basis.voorbeeld, feestdagen=basis.feestdagen,
        bewaartermijnen=basis.bewaartermijnen, taxonomy=taxonomy, wijken=wijken,
        certificering=certificering, teksten=teksten,
    )  # fmt: skip


def read_config(path: str | Path) -> GemeenteConfig:
    """Read and validate a configuration folder or single TOML file (module docstring), whole.

    Optional parts left out take the package defaults: ``certificering`` and ``teksten`` (texts
    naming a category the configuration lacks are dropped), and within ``gemeente`` the
    terugbelnorm, feestdagen and bewaartermijnen. The result has ``version`` 0: the server
    numbers it when it stores it.

    Raises:
        ConfigError: a file is missing or unreadable, not TOML or JSON, has an unknown file or key,
            or breaks a rule; the message names file, line and field.
    """
    path = Path(path)
    sections: dict[str, tuple[dict[str, Any], _Source]] = {}
    if path.is_dir():
        known = set(FILES)
        for f in sorted(path.glob("*.toml")):
            if f.name not in known:
                raise ConfigError(f.name, None, "", f"onbekend bestand; een configuratiemap bevat {', '.join(FILES)}")
        for name in FILES:
            f = path / name
            if not f.exists():
                if name in REQUIRED:
                    raise ConfigError(name, None, "", f"dit bestand ontbreekt in {path}")
                continue
            text = _read_text(f)
            sections[name] = (_load_toml(name, text), _Source(name, text))
        folder = path
    else:
        text = _read_text(path)
        data = _load_toml(path.name, text)
        for name in FILES[1:]:
            key = name.removesuffix(".toml")
            if key in data:
                sections[name] = (_table(data.pop(key), _Source(path.name, text), (key,)), _Source(path.name, text, (key,)))
            elif name in REQUIRED:
                raise ConfigError(path.name, None, key, f"de sectie [{key}] ontbreekt")
        sections["gemeente.toml"] = (data, _Source(path.name, text))
        folder = path.parent

    def geojson(ref: str, src: _Source) -> tuple[str, str]:
        f = folder / ref
        if not f.is_file():
            raise src.error(("geojson",), f"het bestand '{ref}' bestaat niet (naast {src.file})")
        return f.name, _read_text(f)

    return _assemble(sections, geojson)


def _read_text(f: Path) -> str:
    try:
        return f.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f.name, None, "", "het bestand is geen UTF-8-tekst") from None
    except OSError as exc:
        raise ConfigError(f.name, None, "", f"kan het bestand niet lezen ({exc.strerror or exc})") from None


def validate(config: GemeenteConfig) -> GemeenteConfig:
    """Check a configuration received as a document (from the server, from a database) by the same
    rules as :func:`read_config`; returns it unchanged.

    Raises:
        ConfigError: the first rule broken (file ``""``: the place is the field path).
    """
    doc = msgspec.to_builtins(config)
    src = _Source("")
    basis = {k: doc[k] for k in _Basis.__struct_fields__ if k in doc}
    _check_basis(basis, src)
    taxonomy = check_taxonomy(doc["taxonomy"], _Source("", prefix=("taxonomy",)))
    grenzen = doc["wijken"].get("grenzen")
    wijken_raw = {k: v for k, v in doc["wijken"].items() if k != "grenzen"}
    geo = ("wijken.grenzen", json.dumps(grenzen)) if grenzen is not None else None
    _check_wijken(wijken_raw, _Source("", prefix=("wijken",)), geo)
    _check_certificering(doc["certificering"], _Source("", prefix=("certificering",)))
    _check_teksten({"tekst": doc.get("teksten", [])}, _Source("", prefix=("teksten",)), taxonomy_from_defs(taxonomy))
    return config


def check_successor(old: GemeenteConfig, new: GemeenteConfig) -> None:
    """Rules between two versions: a category of ``old`` stays in ``new`` (mark it ``vervallen =
    true`` to retire it), so meldingen that carry it keep a readable label.

    Raises:
        ConfigError: a category was removed (file ``taxonomy.toml``).
    """
    kept = {f"{h}/{s}" for h, main in new.taxonomy.items() for s in main.sub}
    for hoofd, main in old.taxonomy.items():
        for sub in main.sub:
            if f"{hoofd}/{sub}" not in kept:
                raise ConfigError(
                    "taxonomy.toml", None, f"{hoofd}.sub.{sub}",
                    f"de categorie '{hoofd}/{sub}' ontbreekt, maar bestaande meldingen kunnen haar dragen: "
                    "laat haar staan met vervallen = true",
                )  # fmt: skip


# -- the document as JSON and as files ------------------------------------------------------------

_encoder = msgspec.json.Encoder(order="deterministic")
_decoder = msgspec.json.Decoder(GemeenteConfig)


def encode_config(config: GemeenteConfig) -> bytes:
    """The configuration as canonical JSON (keys in a fixed order: equal configurations give equal bytes)."""
    return _encoder.encode(config)


def decode_config(data: bytes | str) -> GemeenteConfig:
    """Inverse of :func:`encode_config`, validated (:func:`validate`): a document from the network or
    a database is hostile until checked.

    Raises:
        ConfigError: not a configuration document, or one that breaks a rule.
    """
    try:
        config = _decoder.decode(data)
    except msgspec.ValidationError as exc:
        path, reason = _dutch(exc)
        raise ConfigError("", None, _dotted(path), reason) from None
    except msgspec.DecodeError as exc:
        raise ConfigError("", None, "", f"geen configuratiedocument ({exc})") from None
    return validate(config)


def _prune(value: Any) -> Any:
    """Builtins without None, empty tables/lists and false flags, so exported TOML stays readable."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _prune(v)
            if v is None or v == {} or v == [] or (v is False and k in ("vervallen", "sample", "voorbeeld")):
                continue
            out[k] = v
        return out
    if isinstance(value, list | tuple):
        return [_prune(v) for v in value]
    return value


def to_files(config: GemeenteConfig) -> dict[str, str]:
    """The configuration as a folder: file name → text (TOML, and ``wijken.geojson`` when it has
    polygons). :func:`read_config` of the written folder gives the same configuration back."""
    import tomlkit

    doc = _prune(msgspec.to_builtins(config))
    version = doc.pop("version", 0)
    head = f"# Gemeenteconfiguratie {config.naam}, versie {version} (wijkteam-server config export)\n"
    files: dict[str, str] = {}
    basis = {k: doc[k] for k in _Basis.__struct_fields__ if k in doc}
    files["gemeente.toml"] = head + tomlkit.dumps(basis)
    files["taxonomy.toml"] = head + tomlkit.dumps(doc["taxonomy"])
    wijken = dict(doc["wijken"])
    grenzen = wijken.pop("grenzen", None)
    wijken.pop("geojson", None)
    if grenzen is not None:
        wijken = {"geojson": "wijken.geojson", **wijken}
        files["wijken.geojson"] = json.dumps(grenzen, ensure_ascii=False, indent=1) + "\n"
    files["wijken.toml"] = head + tomlkit.dumps(wijken)
    files["certificering.toml"] = head + tomlkit.dumps(doc.get("certificering", {}))
    files["teksten.toml"] = head + tomlkit.dumps({"tekst": doc.get("teksten", [])})
    return files


# -- the configuration in force -------------------------------------------------------------------


class Gemeente:
    """The configuration in force, with its parts ready to use (immutable; share it freely).

    Attributes:
        config: the document (:class:`GemeenteConfig`).
        taxonomy: ``shared.taxonomy.Taxonomy`` (retired categories included, flagged).
        wijken: ``shared.wijken.WijkConfig``.
        criteria: ``shared.certificering.Criteria``.
        policy: ``shared.deadlines.HolidayPolicy``.
        version, naam, code, prefix, inwoners, terugbelnorm, bewaartermijnen: as in the document
            (version 0: the package default).
    """

    def __init__(self, config: GemeenteConfig) -> None:
        self.config = config
        self.taxonomy: Taxonomy = taxonomy_from_defs(config.taxonomy)
        label = "voorbeeld" if config.voorbeeld else f"versie {config.version}"
        self.wijken: WijkConfig = WijkConfig.from_file(config.wijken, source=f"gemeenteconfiguratie ({label})")
        self.criteria: Criteria = config.certificering
        self.policy: HolidayPolicy = config.feestdagen
        self.version: int = config.version  # 0: the package default
        self.naam: str = config.naam
        self.code: str = config.code
        self.prefix: str = config.prefix
        self.inwoners: int = config.inwoners
        self.terugbelnorm: int = config.terugbelnorm
        self.bewaartermijnen: Bewaartermijnen = config.bewaartermijnen

    def label(self) -> str:
        """``"Gemeente Dalfsen, configuratie versie 3"`` (or ``…, voorbeeldconfiguratie``), for screens."""
        if self.config.voorbeeld and self.version == 0:
            return f"{self.naam}, voorbeeldconfiguratie (versie 0)"
        return f"{self.naam}, configuratie versie {self.version}"

    def teksten(
        self, soort: Soort, *, status: Status | str | None = None, categorie: str | None = None
    ) -> list[StandaardTekst]:
        """Standard texts of ``soort`` that fit ``status`` and ``categorie``, most specific first
        (same categorie, then same main category, then any; within that, same status before any),
        in file order otherwise. A text bound to a status or categorie is left out when the caller
        names another (or none)."""
        hoofd = categorie.split("/", 1)[0] if categorie else None

        def rank(t: StandaardTekst) -> int | None:
            score = 0
            if t.status is not None:
                if status is None or t.status != status:
                    return None
                score += 1
            if t.categorie is not None:
                if t.categorie == categorie:
                    score += 4
                elif t.categorie == hoofd and "/" not in t.categorie:
                    score += 2
                else:
                    return None
            return score

        ranked = [(r, i, t) for i, t in enumerate(self.config.teksten) if t.soort == soort and (r := rank(t)) is not None]
        return [t for _, _, t in sorted(ranked, key=lambda x: (-x[0], x[1]))]


@lru_cache(maxsize=1)
def package_default() -> GemeenteConfig:
    """The package default (version 0): the SAMPLE municipality of ``shared/data/`` (cached).

    Raises:
        ConfigError: the shipped files are broken (a packaging error; a test guards it).
    """
    folder = resources.files("shared").joinpath("data")
    return read_config(Path(str(folder)))


_lock = threading.Lock()
_active: Gemeente | None = None


def gemeente() -> Gemeente:
    """The configuration in force in this process: the last one :func:`activate` d, else the
    package default. The laptop activates the version kept in its database; the server the
    newest version it stores."""
    g = _active
    return g if g is not None else activate(None)


def activate(config: GemeenteConfig | None) -> Gemeente:
    """Make ``config`` (None: the package default) the configuration in force, and its holiday
    policy the default of ``shared.deadlines``. Returns it. Thread-safe; readers see either the
    old or the new configuration, never a mix of parts."""
    global _active
    g = Gemeente(config if config is not None else package_default())
    with _lock:
        _active = g
        set_active_policy(g.policy)
    return g
