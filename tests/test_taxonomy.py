"""The categorie taxonomy (shared.taxonomy): shipped data, look-up, search, a municipality's own file."""

from __future__ import annotations

import re
import tomllib

import pytest

from shared.errors import ValidationError
from shared.taxonomy import Taxonomy, load_taxonomy, parse_taxonomy


@pytest.fixture
def tax() -> Taxonomy:
    return load_taxonomy()


def test_shipped_taxonomy_has_the_design_categories(tax):
    for code in (
        "groen/boom",
        "verlichting/lantaarnpaal",
        "riolering/verstopping",
        "afval/zwerfvuil",
        "spelen/speeltoestel",
    ):
        assert code in tax
    assert "groen/onbekend" not in tax


def test_every_category_is_complete(tax):
    codes = [c.code for c in tax.categories]
    assert len(codes) == len(set(codes))
    for cat in tax.categories:
        assert re.fullmatch(r"[a-z_]+/[a-z_]+", cat.code)
        assert cat.code.startswith(cat.hoofd + "/")
        assert cat.naam and cat.hoofd_naam and cat.belofte
        assert 1 <= cat.servicenorm <= 60
        # The promise told to the caller names the same number of working days as the norm.
        promised = re.findall(r"(\d+) werkdag", cat.belofte)
        assert all(int(n) == cat.servicenorm for n in promised), cat.code


def test_get_returns_the_category_with_norm_and_promise(tax):
    boom = tax.get("groen/boom")
    assert boom.hoofd == "groen"
    assert boom.servicenorm == 5
    assert "5 werkdagen" in boom.belofte
    assert boom.label == "Groen › " + boom.naam


def test_unknown_category_is_a_dutch_validation_error(tax):
    with pytest.raises(ValidationError) as exc:
        tax.get("groen/palmboom")
    assert exc.value.field == "categorie"
    assert "Onbekende categorie" in exc.value.message


def test_search_matches_every_word_case_blind(tax):
    assert [c.code for c in tax.search("Lantaarnpaal")] == ["verlichting/lantaarnpaal", "verlichting/paal_schade"]
    hits = [c.code for c in tax.search("tak")]
    assert "groen/boom" in hits
    assert [c.code for c in tax.search("lantaarnpaal scheef")] == ["verlichting/paal_schade"]
    assert tax.search("xyzzy") == []
    assert len(tax.search("")) == len(tax.categories)


VALID = """
[groen]
naam = "Groen"
[groen.sub.boom]
naam = "Boom"
servicenorm = 4
belofte = "Binnen 4 werkdagen."
trefwoorden = ["tak"]
"""


def test_parse_a_municipality_file():
    tax = parse_taxonomy(VALID)
    (boom,) = tax.categories
    assert (boom.code, boom.servicenorm, boom.trefwoorden) == ("groen/boom", 4, ("tak",))


@pytest.mark.parametrize(
    "broken",
    [
        VALID.replace("servicenorm = 4", "servicenorm = 0"),
        VALID.replace("servicenorm = 4", "servicenorm = 61"),
        VALID.replace("servicenorm = 4", 'servicenorm = "4"'),
        VALID.replace("servicenorm = 4\n", ""),
        VALID.replace('belofte = "Binnen 4 werkdagen."\n', ""),
        VALID.replace('naam = "Boom"\n', ""),
    ],
)
def test_incomplete_categories_are_refused(broken):
    with pytest.raises(ValueError, match=r"regel \d+, groen\.sub\.boom"):
        parse_taxonomy(broken)


def test_the_taxonomy_is_that_of_the_active_configuration():
    import msgspec

    from shared.gemeente import activate, check_taxonomy, package_default

    activate(msgspec.structs.replace(package_default(), taxonomy=check_taxonomy(tomllib.loads(VALID))))
    assert [c.code for c in load_taxonomy().categories] == ["groen/boom"]
    activate(None)
    assert len(load_taxonomy().categories) > 1


def test_spoed_has_its_own_norm_and_promise(tax):
    boom = tax.get("groen/boom")
    assert (boom.norm(), boom.norm("normaal"), boom.norm("hoog"), boom.norm("spoed")) == (5, 5, 5, 0)
    assert "vandaag" in boom.belofte_voor("spoed")
    assert boom.belofte_voor("laag") == boom.belofte
    # Without a spoed norm of its own a category promises the documented fallback, in words.
    (plain,) = parse_taxonomy(VALID).categories
    assert plain.norm("spoed") == 1
    assert "1 werkdag" in plain.belofte_voor("spoed")


def test_a_retired_category_is_readable_but_not_offered_or_chosen():
    tax = parse_taxonomy(VALID + '[groen.sub.oud]\nnaam = "Oud"\nservicenorm = 3\nbelofte = "x"\nvervallen = true\n')
    assert tax.get("groen/oud").label == "Groen › Oud"
    assert [c.code for c in tax.search("")] == ["groen/boom"]
    assert [c.code for c in tax.search("oud", vervallen=True)] == ["groen/oud"]
    with pytest.raises(ValidationError, match="vervallen"):
        tax.kiesbaar("groen/oud")
