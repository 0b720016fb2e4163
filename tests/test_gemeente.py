"""The municipality configuration (shared.gemeente): the package default, reading a folder or one
file, every kind of invalid file refused whole with file, line and field, the JSON document, export."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import msgspec
import pytest

from shared.enums import Prioriteit, Status
from shared.gemeente import (
    ConfigError,
    GemeenteConfig,
    activate,
    check_successor,
    decode_config,
    encode_config,
    gemeente,
    package_default,
    read_config,
    to_files,
)

DATA = Path(str(resources.files("shared").joinpath("data")))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the package default as a configuration folder an admin would edit."""
    out = tmp_path / "config"
    out.mkdir()
    for name in ("gemeente.toml", "taxonomy.toml", "wijken.toml", "wijken.geojson", "certificering.toml", "teksten.toml"):
        shutil.copy(DATA / name, out / name)
    return out


def _line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [
        n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if needle in line and not line.lstrip().startswith("#")
    ]
    return hits[nth - 1]


def _replace(path: Path, old: str, new: str) -> None:
    """Replace the first occurrence of ``old`` outside comment lines."""
    lines = path.read_text(encoding="utf-8").split("\n")
    n = next(i for i, line in enumerate(lines) if old in line and not line.lstrip().startswith("#"))
    lines[n] = lines[n].replace(old, new, 1)
    path.write_text("\n".join(lines), encoding="utf-8")


def test_package_default_is_a_valid_sample_configuration():
    cfg = package_default()
    assert (cfg.version, cfg.naam, cfg.code, cfg.prefix, cfg.voorbeeld) == (0, "Gemeente Dalfsen", "0148", "DLF", True)
    assert cfg.terugbelnorm == 2
    assert cfg.bewaartermijnen.anonimiseren_na_dagen == 365
    assert cfg.bewaartermijnen.verwijderen_na_jaren == {Status.GEANNULEERD: 1, Status.AFGEHANDELD: 5}
    tax = gemeente().taxonomy
    # Every shipped category has a spoed norm of its own, below its ordinary norm.
    for cat in tax.categories:
        assert Prioriteit.SPOED in cat.normen and cat.norm("spoed") < cat.servicenorm, cat.code
    assert [w.code for w in gemeente().wijken.wijken] == ["dalfsen", "nieuwleusen", "lemelerveld"]
    assert gemeente().wijken.resolve(punt=None).status == "onbepaald"
    assert "pct_within_norm" in gemeente().criteria.criteria
    assert gemeente().label() == "Gemeente Dalfsen, voorbeeldconfiguratie (versie 0)"


def test_folder_and_single_file_read_the_same(folder: Path, tmp_path: Path):
    assert read_config(folder) == package_default()
    single = tmp_path / "gemeente-dalfsen.toml"
    parts = [(folder / "gemeente.toml").read_text(encoding="utf-8")]
    for section in ("taxonomy", "wijken", "certificering"):
        text = (folder / f"{section}.toml").read_text(encoding="utf-8")
        parts.append(_nest(text, section))
    parts.append(_nest((folder / "teksten.toml").read_text(encoding="utf-8"), "teksten"))
    single.write_text("\n".join(parts), encoding="utf-8")
    shutil.copy(folder / "wijken.geojson", tmp_path / "wijken.geojson")
    assert read_config(single) == package_default()


def _nest(text: str, section: str) -> str:
    """A section file's TOML nested under ``section`` (as in the single-file layout)."""
    import re

    out = [f"[{section}]"]  # for keys before the first table (wijken: sample, geojson)
    for line in text.splitlines():
        m = re.match(r"^(\[\[?)(.+?)(\]\]?)(.*)$", line)
        out.append(f"{m.group(1)}{section}.{m.group(2)}{m.group(3)}{m.group(4)}" if m else line)
    return "\n".join(out)


def test_optional_parts_take_the_defaults(folder: Path):
    (folder / "certificering.toml").unlink()
    (folder / "teksten.toml").unlink()
    _replace(folder / "gemeente.toml", "terugbelnorm = 2 ", "# ")
    cfg = read_config(folder)
    assert cfg.certificering == package_default().certificering
    assert cfg.teksten == package_default().teksten
    assert cfg.terugbelnorm == 2


def test_export_then_import_gives_the_same_configuration(tmp_path: Path):
    cfg = msgspec.structs.replace(package_default(), version=7)
    out = tmp_path / "export"
    out.mkdir()
    for name, text in to_files(cfg).items():
        (out / name).write_text(text, encoding="utf-8")
    assert "versie 7" in (out / "gemeente.toml").read_text(encoding="utf-8")
    assert read_config(out) == msgspec.structs.replace(cfg, version=0)


def test_json_document_round_trip_is_canonical():
    cfg = msgspec.structs.replace(package_default(), version=3)
    data = encode_config(cfg)
    assert decode_config(data) == cfg
    assert encode_config(decode_config(data)) == data


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b'{"naam": "x"}',
        b"[]",
    ],
)
def test_a_hostile_document_is_a_config_error(data: bytes):
    with pytest.raises(ConfigError):
        decode_config(data)


def test_a_document_breaking_a_rule_is_refused_like_a_file():
    doc = msgspec.json.decode(encode_config(package_default()))
    doc["taxonomy"]["groen"]["sub"]["boom"]["servicenorm"] = 0
    with pytest.raises(ConfigError) as exc:
        decode_config(msgspec.json.encode(doc))
    assert exc.value.path == "taxonomy.groen.sub.boom.servicenorm"


# -- every kind of invalid file: refused whole, the message names file, line and field -----------


def _refused(path: Path) -> ConfigError:
    before = gemeente()
    with pytest.raises(ConfigError) as exc:
        read_config(path)
    assert gemeente() is before  # reading never activates anything
    return exc.value


def test_not_toml(folder: Path):
    _replace(folder / "taxonomy.toml", 'naam = "Groen"', 'naam = "Groen')
    err = _refused(folder)
    assert (err.file, err.line) == ("taxonomy.toml", _line_of(folder / "taxonomy.toml", 'naam = "Groen'))
    assert "geen geldige TOML" in err.message
    assert err.message.startswith(f"taxonomy.toml, regel {err.line}: ")


def test_a_required_file_is_missing(folder: Path):
    (folder / "wijken.toml").unlink()
    err = _refused(folder)
    assert err.file == "wijken.toml" and "ontbreekt" in err.message


def test_an_unknown_file_in_the_folder(folder: Path):
    shutil.copy(folder / "taxonomy.toml", folder / "categorie.toml")
    err = _refused(folder)
    assert err.file == "categorie.toml" and "onbekend bestand" in err.message


def test_an_unknown_key(folder: Path):
    _replace(folder / "gemeente.toml", "inwoners = 29000", "inwoners = 29000\nkleur = \"blauw\"")
    err = _refused(folder)
    assert (err.file, err.line, err.path) == ("gemeente.toml", _line_of(folder / "gemeente.toml", "kleur"), "kleur")
    assert "onbekend veld 'kleur'" in err.message


def test_a_wrong_type(folder: Path):
    _replace(folder / "gemeente.toml", "inwoners = 29000", 'inwoners = "veel"')
    err = _refused(folder)
    assert (err.line, err.path) == (_line_of(folder / "gemeente.toml", "inwoners"), "inwoners")
    assert "verwacht een geheel getal, gevonden tekst" in err.message


def test_a_missing_required_field(folder: Path):
    _replace(folder / "taxonomy.toml", 'belofte = "Wij ruimen het zwerfvuil binnen 5 werkdagen op."', "")
    err = _refused(folder)
    assert (err.file, err.line) == ("taxonomy.toml", _line_of(folder / "taxonomy.toml", "[afval.sub.zwerfvuil]"))
    assert err.path == "afval.sub.zwerfvuil" and "'belofte' ontbreekt" in err.message


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment"),
    [
        ("servicenorm = 3", "servicenorm = 0", "servicenorm", "1 tot 60"),
        ("servicenorm = 3", "servicenorm = 61", "servicenorm", "1 tot 60"),
        ("normen = { spoed = 0 }", "normen = { spoed = -1 }", "normen.spoed", "0 (dezelfde dag)"),
        ("normen = { spoed = 0 }", "normen = { spoed = 0, hoog = 2 }", "normen.hoog", "eigen belofte"),
        ("normen = { spoed = 0 }", "normen = { dringend = 0 }", "normen", "onbekende waarde 'dringend'"),
    ],
)
def test_a_norm_out_of_range(folder: Path, old: str, new: str, field: str, fragment: str):
    # The first "servicenorm = 3" / "spoed = 0" in the file is verlichting.sub.paal_schade / groen.sub.boom.
    _replace(folder / "taxonomy.toml", old, new)
    err = _refused(folder)
    assert err.file == "taxonomy.toml"
    assert err.line == _line_of(folder / "taxonomy.toml", new)
    assert err.path.endswith(field) and fragment in err.message


def test_every_category_retired(folder: Path):
    text = (folder / "taxonomy.toml").read_text(encoding="utf-8")
    (folder / "taxonomy.toml").write_text(text.replace("servicenorm =", "vervallen = true\nservicenorm ="), encoding="utf-8")
    assert "geen enkele categorie" in _refused(folder).message


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment"),
    [
        ('prefix = "DLF"', 'prefix = "D1"', "prefix", "2 tot 5 hoofdletters"),
        ('code = "0148"', 'code = "148"', "code", "4 cijfers"),
        ("inwoners = 29000", "inwoners = 0", "inwoners", "inwoners"),
        ("terugbelnorm = 2", "terugbelnorm = 99", "terugbelnorm", "0 tot 60"),
        ("anonimiseren_na_dagen = 365", "anonimiseren_na_dagen = 0", "bewaartermijnen.anonimiseren_na_dagen", "dagen"),
        ("geannuleerd = 1", "gemeld = 1", "bewaartermijnen.verwijderen_na_jaren.gemeld", "afgesloten status"),
        ("goede_vrijdag_vrij = false", 'goede_vrijdag_vrij = "nee"', "feestdagen.goede_vrijdag_vrij", "true of false"),
    ],
)
def test_bad_municipality_values(folder: Path, old: str, new: str, field: str, fragment: str):
    _replace(folder / "gemeente.toml", old, new)
    err = _refused(folder)
    assert (err.file, err.line, err.path) == ("gemeente.toml", _line_of(folder / "gemeente.toml", new), field)
    assert fragment in err.message


def test_a_duplicate_wijk_code(folder: Path):
    _replace(folder / "wijken.toml", 'code = "lemelerveld"', 'code = "dalfsen"')
    err = _refused(folder)
    assert (err.file, err.path) == ("wijken.toml", "gemeente[0].wijk[2].code")
    assert err.line == _line_of(folder / "wijken.toml", 'code = "dalfsen"', nth=2)
    assert "twee keer" in err.message


def test_a_bad_postcode_area(folder: Path):
    _replace(folder / "wijken.toml", 'postcodes = ["7711"]', 'postcodes = ["7711 AB"]')
    err = _refused(folder)
    assert (err.path, err.line) == ("gemeente[0].wijk[1].postcodes[0]", _line_of(folder / "wijken.toml", "7711 AB"))


def test_geojson_that_is_not_json(folder: Path):
    text = (folder / "wijken.geojson").read_text(encoding="utf-8").splitlines()
    text[4] = text[4] + ","  # a trailing comma on line 5
    (folder / "wijken.geojson").write_text("\n".join(text), encoding="utf-8")
    err = _refused(folder)
    assert err.file == "wijken.geojson" and err.line in (5, 6) and "geen geldige JSON" in err.message


def test_geojson_naming_an_unknown_wijk(folder: Path):
    _replace(folder / "wijken.geojson", '"wijk": "lemelerveld"', '"wijk": "lemelerveld-oost"')
    err = _refused(folder)
    assert (err.file, err.line) == ("wijken.geojson", _line_of(folder / "wijken.geojson", "lemelerveld-oost"))


def test_geojson_file_missing(folder: Path):
    (folder / "wijken.geojson").unlink()
    err = _refused(folder)
    assert (err.file, err.path, err.line) == ("wijken.toml", "geojson", _line_of(folder / "wijken.toml", "geojson ="))


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("[criteria.pct_reopened]", "[criteria.pct_blij]", "onbekende indicator 'pct_blij'"),
        ("brons = 70.0", "brons = 95.0", "oplopend streng"),
        ('richting = "min"', 'richting = "omhoog"', "onbekende waarde 'omhoog'"),
    ],
)
def test_bad_certificate_criteria(folder: Path, old: str, new: str, fragment: str):
    _replace(folder / "certificering.toml", old, new)
    err = _refused(folder)
    assert err.file == "certificering.toml" and fragment in err.message
    assert err.line is not None and err.line <= _line_of(folder / "certificering.toml", new) + 4


@pytest.mark.parametrize(
    ("old", "new", "path", "fragment"),
    [
        ('categorie = "groen/boom"', 'categorie = "groen/palm"', "tekst[6].categorie", "onbekende categorie"),
        ('soort = "notitie"', 'soort = "memo"', "tekst[0].soort", "onbekende waarde 'memo'"),
        ('status = "ingepland"', 'status = "klaar"', "tekst[8].status", "onbekende waarde 'klaar'"),
        ('titel = "Ter plaatse bekeken"', 'titel = "Ter plaatse\\u001b[31m"', "tekst[0].titel", "stuurteken (U+001B)"),
    ],
)
def test_bad_standard_texts(folder: Path, old: str, new: str, path: str, fragment: str):
    _replace(folder / "teksten.toml", old, new)
    err = _refused(folder)
    assert (err.file, err.path) == ("teksten.toml", path)
    assert err.line == _line_of(folder / "teksten.toml", new.split(" = ")[1][:8]) and fragment in err.message


def test_single_file_errors_name_that_file_and_line(tmp_path: Path):
    path = tmp_path / "alles.toml"
    path.write_text(
        'naam = "Gemeente X"\ncode = "0001"\nprefix = "GX"\ninwoners = 1000\n\n'
        '[taxonomy.groen]\nnaam = "Groen"\n\n[taxonomy.groen.sub.boom]\nnaam = "Boom"\nservicenorm = 99\nbelofte = "x"\n\n'
        '[wijken]\n[[wijken.gemeente]]\nnaam = "X"\n',
        encoding="utf-8",
    )
    err = _refused(path)
    assert (err.file, err.line, err.path) == ("alles.toml", 11, "taxonomy.groen.sub.boom.servicenorm")
    path.write_text('naam = "Gemeente X"\ncode = "0001"\nprefix = "GX"\ninwoners = 1000\n', encoding="utf-8")
    err = _refused(path)
    assert (err.file, err.path) == ("alles.toml", "taxonomy") and "[taxonomy] ontbreekt" in err.message


def test_removing_a_category_is_refused_retiring_it_is_not(folder: Path):
    old = package_default()
    text = (folder / "taxonomy.toml").read_text(encoding="utf-8")
    start = text.index("[afval.sub.container]")
    end = text.index("[spelen]")
    (folder / "taxonomy.toml").write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        check_successor(old, read_config(folder))
    assert "afval/container" in exc.value.message and "vervallen = true" in exc.value.message
    retired = text.replace("[afval.sub.container]\n", "[afval.sub.container]\nvervallen = true\n")
    (folder / "taxonomy.toml").write_text(retired, encoding="utf-8")
    new = read_config(folder)
    check_successor(old, new)
    activate(new)
    assert gemeente().taxonomy.get("afval/container").vervallen


def test_standard_texts_most_specific_first():
    g = gemeente()
    assert [t.titel for t in g.teksten("status", status="afgehandeld", categorie="groen/boom")] == ["Boom gesnoeid", "Afgehandeld"]
    assert [t.titel for t in g.teksten("status", status="afgehandeld", categorie="afval/zwerfvuil")] == ["Afgehandeld"]
    assert [t.titel for t in g.teksten("terugkoppeling", categorie="groen/boom")][0] == "Boom beoordeeld"
    assert "Boom beoordeeld" not in [t.titel for t in g.teksten("terugkoppeling")]
    assert "Afgehandeld" not in [t.titel for t in g.teksten("notitie", status="ingepland")]


def test_activate_switches_every_part_at_once():
    own = msgspec.structs.replace(package_default(), version=4, naam="Gemeente Elders", prefix="ELD", voorbeeld=False)
    g = activate(own)
    assert gemeente() is g and (g.version, g.prefix, g.label()) == (4, "ELD", "Gemeente Elders, configuratie versie 4")
    assert isinstance(g.config, GemeenteConfig)
    activate(None)
    assert gemeente().version == 0
