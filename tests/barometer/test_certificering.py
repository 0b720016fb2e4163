"""Certificate criteria: TOML config with brons/zilver/goud thresholds, judged per criterion."""

from __future__ import annotations

import pytest

from shared.barometer import Indicators
from shared.certificering import evaluate, load_criteria, parse_criteria
from shared.errors import ValidationError

TOML = """
[criteria.pct_within_norm]
naam = "Binnen norm"
richting = "min"
brons = 70.0
zilver = 80.0
goud = 90.0

[criteria.lead_p90]
naam = "p90"
richting = "max"
brons = 15
zilver = 10
goud = 5
"""


def test_shipped_defaults_load_and_cover_known_indicators():
    crit = load_criteria()
    assert {"pct_within_norm", "pct_terugkoppeling", "pct_complete", "pct_reopened", "lead_p90"} <= set(crit.criteria)
    assert set(crit.criteria) <= set(Indicators.__struct_fields__)


def test_levels_per_criterion_and_overall():
    crit = parse_criteria(TOML)
    results, level = evaluate(crit, Indicators(pct_within_norm=85.0, lead_p90=4))
    by = {r.indicator: r for r in results}
    assert by["pct_within_norm"].met == {"brons": True, "zilver": True, "goud": False}
    assert by["pct_within_norm"].level == "zilver"
    assert by["lead_p90"].met == {"brons": True, "zilver": True, "goud": True}
    assert level == "zilver"  # the weakest criterion decides


def test_threshold_itself_is_met():
    results, level = evaluate(parse_criteria(TOML), Indicators(pct_within_norm=70.0, lead_p90=15))
    assert [r.level for r in results] == ["brons", "brons"] and level == "brons"


def test_missing_brons_gives_no_level():
    results, level = evaluate(parse_criteria(TOML), Indicators(pct_within_norm=69.9, lead_p90=3))
    assert results[0].level is None and results[0].met["brons"] is False
    assert level is None


def test_no_level_is_claimed_while_a_criterion_is_nvt():
    results, level = evaluate(parse_criteria(TOML), Indicators(pct_within_norm=None, lead_p90=3))
    assert results[0].value is None and set(results[0].met.values()) == {None}
    assert results[1].level == "goud"  # the judged criterion still shows its own level
    assert level is None


@pytest.mark.parametrize(
    "text",
    [
        "[criteria.pct_within_norm]\nnaam='x'\nrichting='min'\nbrons=90\nzilver=80\ngoud=70\n",  # not stricter
        "[criteria.pct_within_norm]\nnaam='x'\nrichting='max'\nbrons=1\nzilver=2\ngoud=3\n",
        "[criteria.onbekend]\nnaam='x'\nrichting='min'\nbrons=1\nzilver=2\ngoud=3\n",
        "[criteria.pct_within_norm]\nnaam='x'\nrichting='min'\nbrons=1\nzilver=2\ngoud=3\nplatina=4\n",
        "[criteria.pct_within_norm]\nnaam='x'\nrichting='omhoog'\nbrons=1\nzilver=2\ngoud=3\n",
        "dit is geen toml",
    ],
)
def test_bad_criteria_are_refused(text):
    with pytest.raises(ValidationError) as exc:
        parse_criteria(text)
    assert exc.value.field == "certificering"


def test_criteria_follow_the_active_configuration_or_a_file(tmp_path):
    import msgspec

    from shared.gemeente import activate, package_default

    path = tmp_path / "eigen.toml"
    path.write_text(TOML, encoding="utf-8")
    assert set(load_criteria(path).criteria) == {"pct_within_norm", "lead_p90"}
    assert "pct_overdue" in load_criteria().criteria
    activate(msgspec.structs.replace(package_default(), certificering=parse_criteria(TOML)))
    assert set(load_criteria().criteria) == {"pct_within_norm", "lead_p90"}
