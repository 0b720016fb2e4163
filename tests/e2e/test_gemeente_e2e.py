"""Issue 13: a configuration change made on the server reaches two laptops through real sync (a real
``wijkteam-server`` process, the admin CLI); a melding registered before the change keeps its norm;
a retired category stays readable on old meldingen but cannot be chosen for new ones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shared.enums import Prioriteit
from shared.errors import ValidationError
from shared.events import MeldingFields
from shared.gemeente import activate, gemeente
from wijkteam_tui.sync_client import sync_once


def _register(lap, categorie: str, text: str, prioriteit: Prioriteit = Prioriteit.NORMAAL):
    return lap.store.register(
        lap.store.device_clock(lap.name),
        prefix=gemeente().prefix,
        fields=MeldingFields(omschrijving=text, categorie=categorie, prioriteit=prioriteit),
    )


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_configuration_change_reaches_two_laptops(server, make_laptop, tmp_path):
    anna, bert = make_laptop("anna"), make_laptop("bert")
    for lap in (anna, bert):
        first = sync_once(lap.store, server.url, lap.token)
        assert first.config_version == 0  # the package default, until the admin imports one
    activate(anna.store.gemeente_config())
    old_boom = _register(anna, "groen/boom", "Tak op het fietspad")
    old_container = _register(anna, "afval/container", "Glasbak vol")
    assert (old_boom.servicenorm, old_container.servicenorm) == (5, 3)
    sync_once(anna.store, server.url, anna.token)

    # The admin changes the norm of groen/boom, its spoed norm, the prefix and retires afval/container.
    folder = tmp_path / "config"
    out = server.cli("config", "export", str(folder))
    assert out.returncode == 0, out.stderr
    _edit(folder / "taxonomy.toml", "servicenorm = 5\nbelofte = \"Wij beoordelen de boom binnen 5 werkdagen.",
          "servicenorm = 8\nbelofte = \"Wij beoordelen de boom binnen 8 werkdagen.")
    _edit(folder / "taxonomy.toml", "[afval.sub.container]\n", "[afval.sub.container]\nvervallen = true\n")
    _edit(folder / "gemeente.toml", 'naam = "Gemeente Dalfsen"', 'naam = "Gemeente Dalfsen (proef)"')
    out = server.cli("config", "import", str(folder))
    assert out.returncode == 0, out.stderr
    assert "Configuratie versie 1 opgeslagen" in out.stdout

    for lap in (anna, bert):
        result = sync_once(lap.store, server.url, lap.token)
        assert result.config_version == 1, result.config
        kept = lap.store.gemeente_config()
        assert kept is not None and kept.version == 1 and kept.naam == "Gemeente Dalfsen (proef)"
        again = sync_once(lap.store, server.url, lap.token)
        assert again.config_version is None and again.config == "Gemeenteconfiguratie is actueel."

    # bert (who never had these meldingen locally before) works on the new version.
    activate(bert.store.gemeente_config())
    assert gemeente().label() == "Gemeente Dalfsen (proef), configuratie versie 1"
    new_boom = _register(bert, "groen/boom", "Boom scheef")
    assert new_boom.servicenorm == 8
    spoed = _register(bert, "groen/boom", "Boom op de weg", Prioriteit.SPOED)
    assert spoed.servicenorm == 0
    with pytest.raises(ValidationError, match="vervallen"):
        _register(bert, "afval/container", "Container kapot")

    # The meldingen made before the change keep their norm and deadline on every replica.
    for lap in (anna, bert):
        m = lap.store.get(old_boom.melding_id)
        assert (m.servicenorm, m.deadline) == (5, old_boom.deadline)
        c = lap.store.get(old_container.melding_id)
        assert c.categorie == "afval/container" and c.servicenorm == 3
    retired = gemeente().taxonomy.get("afval/container")
    assert retired.vervallen and retired.label == "Afval › Container vol of kapot"
    assert "afval/container" not in [c.code for c in gemeente().taxonomy.search("")]
    # … and on the server, which never rewrites a stored norm either.
    sync_once(bert.store, server.url, bert.token)
    conn = sqlite3.connect(server.db, timeout=30)
    try:
        norms = dict(conn.execute("SELECT melding_id, servicenorm FROM meldingen").fetchall())
    finally:
        conn.close()
    assert norms[old_boom.melding_id] == 5 and norms[new_boom.melding_id] == 8 and norms[spoed.melding_id] == 0
    out = server.cli("config", "show")
    assert "versie 1" in out.stdout and "1 vervallen (afval/container)" in out.stdout
