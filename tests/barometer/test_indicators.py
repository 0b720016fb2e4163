"""Each barometer indicator against small hand-computed datasets, through the reference conversion
(shared.barometer.compute_from_projection) AND the report layer's SQL; both must agree."""

from __future__ import annotations

import math

import msgspec
import pytest

from shared.barometer import (
    Period,
    ReportSettings,
    barometer_row,
    compute_from_projection,
    format_value,
    median_and_p90,
    parse_period,
    period_between,
)
from shared.commands import delete
from shared.enums import Prioriteit, Status, VierB
from shared.errors import ValidationError
from wijkteam_reports.render import to_markdown
from wijkteam_reports.sql import build_report

from .helpers import World, make_db, utc

AS_OF = utc("2025-12-01 12:00")


def report(world_or_rows, period: str | Period, group_by=(), as_of=AS_OF, settings=None):
    """The report by the reference path, checked equal to the SQL path."""
    rows = world_or_rows.rows() if isinstance(world_or_rows, World) else world_or_rows
    p = parse_period(period) if isinstance(period, str) else period
    settings = settings or ReportSettings()
    ref = compute_from_projection(rows, p, as_of=as_of, group_by=group_by, settings=settings)
    fast = build_report(make_db(rows), p, as_of=as_of, group_by=group_by, settings=settings)
    assert msgspec.to_builtins(fast) == msgspec.to_builtins(ref)
    return ref


def test_empty_period_gives_nvt_not_zero_or_nan():
    w = World()
    w.melding("2025-03-03 09:00")
    r = report(w, "2025-06")
    t = r.totaal
    assert (t.received, t.closed) == (0, 0)
    for field in ("pct_within_norm", "pct_terugkoppeling", "pct_reopened", "pct_complete", "lead_median", "lead_p90"):
        assert getattr(t, field) is None
    md = to_markdown(r)
    assert "n.v.t." in md and "nan" not in md.lower()
    # The March melding is still open at the end of June: backlog, and overdue (deadline 10 March).
    assert (t.backlog, t.backlog_overdue) == (1, 1)


def test_empty_database():
    r = report([], "2025")
    assert r.totaal.received == 0 and r.totaal.backlog == 0
    assert r.totaal.pct_overdue is None
    assert all(m.indicators.pct_within_norm is None for m in r.months)
    # No criterion has a value, so no certificate level is claimed.
    assert r.certificate_level is None
    assert all(c.value is None and set(c.met.values()) == {None} for c in r.criteria)


def test_month_boundary_counts_local_date():
    w = World()
    w.melding("2025-03-31 23:30")  # 2025-04-01 01:30 in Amsterdam
    assert report(w, "2025-03").totaal.received == 0
    assert report(w, "2025-04").totaal.received == 1


@pytest.mark.parametrize(
    ("instant", "month"),
    [
        ("2025-03-31 22:30", "2025-04"),  # summer time (+2): 00:30 on 1 April
        ("2025-10-31 22:30", "2025-10"),  # winter time (+1): 23:30 on 31 October
        ("2025-03-30 22:30", "2025-03"),  # DST starts that night: 00:30 on 31 March
    ],
)
def test_dst_decides_the_month(instant, month):
    w = World()
    w.melding(instant)
    r = report(w, "2025")
    assert [m.maand for m in r.months if m.indicators.received] == [month]


def test_lead_time_uses_local_date_of_closure_across_dst():
    w = World()
    mid = w.melding("2025-10-24 10:00")  # Friday
    w.status(mid, "2025-10-27 23:30", Status.AFGEHANDELD)  # Tuesday 28 Oct 00:30 local (CET)
    r = report(w, "2025-10")
    assert r.totaal.lead_median == 2.0  # Mon 27 and Tue 28; the UTC date would give 1


def test_reopened_complaint_counts_once_in_march():
    w = World()
    mid = w.melding("2025-03-03 09:00")  # Monday; groen/boom: 5 working days → deadline Mon 10 March
    w.status(mid, "2025-03-05 10:00", Status.AFGEHANDELD)
    w.status(mid, "2025-03-20 10:00", Status.HEROPEND)
    w.status(mid, "2025-04-02 10:00", Status.AFGEHANDELD)
    march = report(w, "2025-03").totaal
    assert (march.received, march.closed, march.within_norm, march.pct_within_norm) == (1, 1, 1, 100.0)
    assert march.lead_median == 2.0 and march.lead_p90 == 2
    assert (march.reopened, march.pct_reopened) == (1, 100.0)
    # Reopened on 20 March and closed again only on 2 April: open (and overdue) at the end of March.
    assert (march.backlog, march.backlog_overdue) == (1, 1)
    april = report(w, "2025-04").totaal
    assert (april.received, april.closed, april.pct_within_norm, april.backlog) == (0, 0, None, 0)
    q1 = report(w, "2025-Q1")
    assert q1.totaal.received == 1
    assert [m.indicators.received for m in q1.months] == [0, 0, 1]


def test_within_norm_is_decided_at_first_closure():
    w = World()
    on_time = w.melding("2025-03-03 09:00")
    w.status(on_time, "2025-03-10 21:00", Status.AFGEHANDELD)  # 22:00 local on the deadline day
    late = w.melding("2025-03-03 09:00")
    w.status(late, "2025-03-10 23:30", Status.AFGEHANDELD)  # 00:30 local on 11 March
    w.melding("2025-03-04 09:00", categorie=None)  # no norm: not in the percentage
    nocat = w.melding("2025-03-04 09:00", categorie=None)
    w.status(nocat, "2025-03-05 09:00", Status.AFGEHANDELD)
    t = report(w, "2025-03").totaal
    assert (t.received, t.closed, t.closed_with_norm, t.within_norm, t.pct_within_norm) == (4, 3, 2, 1, 50.0)


def test_terugkoppeling_among_closed_with_contact():
    w = World()
    a = w.melding("2025-03-03 09:00")
    w.status(a, "2025-03-04 09:00", Status.AFGEHANDELD)
    w.callback(a, "2025-03-04 10:00")
    b = w.melding("2025-03-03 09:00")
    w.status(b, "2025-03-04 09:00", Status.AFGEHANDELD)
    c = w.melding("2025-03-03 09:00", contact=False)  # no contact details: not in the denominator
    w.status(c, "2025-03-04 09:00", Status.AFGEHANDELD)
    w.callback(c, "2025-03-04 10:00")
    d = w.melding("2025-03-03 09:00")  # still open: not in the denominator
    w.callback(d, "2025-03-04 10:00")
    t = report(w, "2025-03").totaal
    assert (t.contact_closed, t.terugkoppeling, t.pct_terugkoppeling) == (2, 1, 50.0)


def test_terugkoppeling_nvt_without_contact():
    w = World()
    a = w.melding("2025-03-03 09:00", contact=False)
    w.status(a, "2025-03-04 09:00", Status.AFGEHANDELD)
    assert report(w, "2025-03").totaal.pct_terugkoppeling is None


def test_completeness():
    w = World()
    w.melding("2025-03-03 09:00")
    w.melding("2025-03-03 09:00", location=False)
    w.melding("2025-03-03 09:00", vier_b=None)
    w.melding("2025-03-03 09:00", categorie=None)
    t = report(w, "2025-03").totaal
    assert (t.pct_complete, t.pct_location, t.pct_vier_b, t.pct_categorie, t.pct_kanaal) == (25.0, 75.0, 75.0, 75.0, 100.0)


def test_deleted_and_duplicates_are_left_out():
    w = World()
    keep = w.melding("2025-03-03 09:00")
    gone = w.melding("2025-03-03 09:00")
    w.at("2025-03-04 09:00")
    w.events[gone].append(delete(w.devs[gone], w.state(gone), "dubbel ingevoerd"))
    dup = w.melding("2025-03-03 10:00")
    w.edit(dup, "2025-03-03 11:00", duplicaat_van=w.state(keep).reference)
    rows = w.rows()
    assert sum(barometer_row(r) is not None for r in rows) == 1
    t = report(rows, "2025-03").totaal
    assert (t.received, t.backlog) == (1, 1)


def test_backlog_at_period_end_and_overdue():
    w = World()
    w.melding("2025-03-25 09:00")  # deadline 1 April: open at end of March, not yet overdue
    closed_later = w.melding("2025-03-03 09:00")  # deadline 10 March
    w.status(closed_later, "2025-04-03 09:00", Status.AFGEHANDELD)
    closed_before = w.melding("2025-03-03 09:00")
    w.status(closed_before, "2025-03-05 09:00", Status.AFGEHANDELD)
    w.melding("2025-04-01 09:00")  # registered after the period: not in its backlog
    t = report(w, "2025-03").totaal
    assert (t.backlog, t.backlog_overdue, t.pct_overdue) == (2, 1, 50.0)


def test_backlog_moment_is_now_for_a_running_period():
    w = World()
    mid = w.melding("2025-03-03 09:00")
    w.status(mid, "2025-03-20 09:00", Status.AFGEHANDELD)
    r = report(w, "2025-Q1", as_of=utc("2025-03-10 12:00"))
    assert r.backlog_at.startswith("2025-03-10T12:00")
    # At 10 March 12:00 UTC the melding was still open, and its deadline (10 March, 23:59 local) not passed.
    assert (r.totaal.backlog, r.totaal.backlog_overdue) == (1, 0)


def test_doorgezet_taken_back_uses_the_history():
    w = World()
    mid = w.melding("2025-03-03 09:00")
    w.status(mid, "2025-03-04 09:00", Status.DOORGEZET)  # closed for the wijkteam
    w.status(mid, "2025-03-25 09:00", Status.IN_BEHANDELING)  # taken back: open again, no reopen_count
    feb = report(w, "2025-03").totaal
    assert feb.backlog == 1 and feb.reopened == 0
    w.status(mid, "2025-04-10 09:00", Status.AFGEHANDELD)
    assert report(w, "2025-03").totaal.backlog == 1
    assert report(w, "2025-03-01..2025-03-20").totaal.backlog == 0


def test_group_by_wijk_and_kanaal():
    from shared.enums import Kanaal

    w = World()
    a = w.melding("2025-03-03 09:00", wijk="Centrum")
    w.status(a, "2025-03-04 09:00", Status.AFGEHANDELD)
    w.melding("2025-03-03 09:00", wijk="Noord", kanaal=Kanaal.EMAIL)
    w.melding("2025-03-03 09:00", wijk=None, vier_b=VierB.BEREIKBAARHEID)
    r = report(w, "2025-03", group_by=("wijk", "kanaal", "vier_b", "hoofdcategorie"))
    wijk = {g.key: g.indicators for g in r.groups["wijk"]}
    assert set(wijk) == {"Centrum", "Noord", None}
    assert (wijk["Centrum"].received, wijk["Centrum"].closed, wijk["Centrum"].pct_within_norm) == (1, 1, 100.0)
    assert (wijk["Noord"].received, wijk["Noord"].pct_within_norm, wijk["Noord"].backlog) == (1, None, 1)
    assert r.groups["wijk"][-1].label == "(niet ingevuld)"
    kanaal = {g.key: g.indicators.received for g in r.groups["kanaal"]}
    assert kanaal == {"telefoon": 2, "email": 1}
    assert {g.label for g in r.groups["kanaal"]} == {"Telefoon", "E-mail"}
    assert [g.key for g in r.groups["hoofdcategorie"]] == ["groen"]
    assert sum(g.indicators.received for g in r.groups["vier_b"]) == r.totaal.received


def test_unknown_group_by_is_refused():
    with pytest.raises(ValidationError) as exc:
        report([], "2025-03", group_by=("postcode",))
    assert exc.value.field == "group_by"


def test_median_and_p90_hand_computed():
    assert median_and_p90({}) == (None, None)
    assert median_and_p90({0: 1, 1: 1, 2: 1, 3: 1, 10: 1}) == (2.0, 10)
    assert median_and_p90({1: 1, 2: 1, 3: 1, 4: 1}) == (2.5, 4)
    assert median_and_p90({5: 10}) == (5.0, 5)
    # 10 values 1..10: p90 is the 9th (nearest rank ceil(0.9*10) = 9).
    assert median_and_p90({v: 1 for v in range(1, 11)}) == (5.5, 9)


def test_weights_equal_repeated_rows():
    w = World()
    for _ in range(3):
        mid = w.melding("2025-03-03 09:00")
        w.status(mid, "2025-03-06 09:00", Status.AFGEHANDELD)
    r = report(w, "2025-03")
    assert (r.totaal.received, r.totaal.lead_median) == (3, 3.0)


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("2026-Q3", "2026-07-01", "2026-09-30", "2026-Q3"),
        ("2026-02", "2026-02-01", "2026-02-28", "2026-02"),
        ("2024-02", "2024-02-01", "2024-02-29", "2024-02"),
        ("2026", "2026-01-01", "2026-12-31", "2026"),
        ("2026-01-05..2026-02-01", "2026-01-05", "2026-02-01", "2026-01-05 t/m 2026-02-01"),
    ],
)
def test_parse_period(text, start, end, label):
    p = parse_period(text)
    assert (p.start.isoformat(), p.end.isoformat(), p.label) == (start, end, label)


@pytest.mark.parametrize("text", ["", "2026-13", "Q3", "2026-Q5", "vorige maand", "2026-02-01..2026-01-01"])
def test_bad_period_is_refused_in_dutch(text):
    with pytest.raises(ValidationError) as exc:
        parse_period(text)
    assert exc.value.message and "Traceback" not in exc.value.message


def test_period_end_instant_is_local_midnight():
    assert parse_period("2025-03").end_instant() == utc("2025-03-31 22:00")  # CEST from 30 March
    assert parse_period("2025-01").end_instant() == utc("2025-01-31 23:00")
    with pytest.raises(ValidationError):
        period_between("2025-01-01", "31-01-2025")


def test_format_value():
    assert format_value(None, "pct") == "n.v.t."
    assert format_value(87.5, "pct") == "87,5"
    assert format_value(100.0, "pct") == "100,0"
    assert format_value(2.0, "days") == "2"
    assert format_value(2.5, "days") == "2,5"
    assert format_value(0, "count") == "0"
    assert not math.isnan(0.0)


def test_spoed_and_regular_within_norm_apart():
    w = World()
    spoed = w.melding("2025-03-03 09:00", prioriteit=Prioriteit.SPOED)  # deadline Mon 10 March (groen/boom)
    w.status(spoed, "2025-03-12 09:00", Status.AFGEHANDELD)  # too late
    regular = w.melding("2025-03-03 09:00", prioriteit=Prioriteit.HOOG)
    w.status(regular, "2025-03-04 09:00", Status.AFGEHANDELD)
    regular2 = w.melding("2025-03-03 09:00")
    w.status(regular2, "2025-03-05 09:00", Status.AFGEHANDELD)
    t = report(w, "2025-03").totaal
    assert (t.closed_with_norm_spoed, t.within_norm_spoed, t.pct_within_norm_spoed) == (1, 0, 0.0)
    assert (t.closed_with_norm_regulier, t.within_norm_regulier, t.pct_within_norm_regulier) == (2, 2, 100.0)
    assert t.pct_within_norm == 66.7
    # Without any spoed melding the spoed figure is n.v.t., not 0 %.
    assert report(w, "2025-04").totaal.pct_within_norm_spoed is None


def test_callback_within_the_terugbelnorm():
    w = World()
    in_norm = w.melding("2025-03-07 09:00")  # Friday
    w.callback(in_norm, "2025-03-11 15:00")  # Tuesday: 2 working days later
    late = w.melding("2025-03-07 09:00")
    w.callback(late, "2025-03-12 08:00")  # Wednesday: 3 working days
    w.melding("2025-03-07 09:00")  # contact details, never called back: not within the norm
    anonymous = w.melding("2025-03-07 09:00", contact=False)  # no contact details: left out
    w.callback(anonymous, "2025-03-07 10:00")
    t = report(w, "2025-03").totaal
    assert (t.contact_received, t.callback_in_norm, t.pct_callback_in_norm) == (3, 1, 33.3)
    # The norm is the configuration's: with 3 working days the Wednesday call counts too.
    t3 = report(w, "2025-03", settings=ReportSettings(terugbelnorm=3)).totaal
    assert (t3.callback_in_norm, t3.pct_callback_in_norm) == (2, 66.7)


def test_received_per_1000_inhabitants():
    w = World()
    for _ in range(3):
        w.melding("2025-03-03 09:00")
    r = report(w, "2025-03", settings=ReportSettings(inwoners=2000))
    assert r.totaal.received_per_1000 == 1.5 and r.inwoners == 2000
    assert [m.indicators.received_per_1000 for m in r.months] == [1.5]
    assert report(w, "2025-03").totaal.received_per_1000 is None  # no inhabitants configured: n.v.t.
    grouped = report(w, "2025-03", group_by=["wijk"], settings=ReportSettings(inwoners=2000))
    assert grouped.groups["wijk"][0].indicators.received_per_1000 is None


def test_backlog_by_age_and_over_three_times_the_norm():
    w = World()
    w.melding("2025-01-06 09:00")  # Monday: on Mon 31 March 60 working days old
    w.melding("2025-01-03 09:00")  # Friday: 61 working days
    w.melding("2025-03-24 09:00")  # Monday: 5 working days; groen/boom norm 5, 5 <= 15
    w.melding("2025-03-10 09:00", categorie=None)  # 15 working days, no norm: never "3x"
    closed = w.melding("2025-03-03 09:00")
    w.status(closed, "2025-03-04 09:00", Status.AFGEHANDELD)
    t = report(w, "2025-Q1").totaal
    assert t.backlog == 4
    assert (t.backlog_age_0_5, t.backlog_age_6_20, t.backlog_age_21_60, t.backlog_age_over_60) == (1, 1, 1, 1)
    assert t.backlog_over_3x_norm == 2
    assert report(w, "2025-Q1").months[0].indicators.backlog_age_0_5 is None  # no backlog in the trend


def test_data_quality_counts_conflicts_and_missing_fields():
    w = World()
    w.melding("2025-03-03 09:00", location=False)
    w.melding("2025-03-03 09:00", categorie=None)
    w.melding("2025-03-03 09:00")
    r = report(w, "2025-03", settings=ReportSettings(late_after_days=3))
    dq = r.data_quality
    assert (dq.without_location, dq.without_categorie, dq.conflicts, dq.late_after_days) == (1, 1, 0, 3)
    # A laptop database knows no arrival times, quarantine or clashes: n.v.t., not 0.
    assert (dq.events, dq.late_events, dq.quarantined, dq.reference_clashes) == (None, None, None, None)


def test_comparisons_with_previous_period_and_a_year_earlier():
    w = World()
    w.melding("2025-03-03 09:00")
    w.melding("2025-02-03 09:00")
    w.melding("2025-02-04 09:00")
    for _ in range(4):
        w.melding("2024-03-05 09:00")
    r = report(w, "2025-03")
    prev, year = r.comparisons
    assert (prev.kind, prev.period_label, prev.totaal.received) == ("vorige_periode", "2025-02", 2)
    assert (year.kind, year.period_label, year.totaal.received) == ("vorig_jaar", "2024-03", 4)
    q = report(w, "2025-01-01..2025-03-31")
    assert [c.period_label for c in q.comparisons] == ["2024-10-03 t/m 2024-12-31", "2024-01-01 t/m 2024-03-31"]  # 90 days back


def test_figures_hash_follows_the_figures_only():
    w = World()
    w.melding("2025-03-03 09:00")
    a = report(w, "2025-03")
    b = report(w, "2025-03")
    assert a.figures_hash == b.figures_hash and len(a.figures_hash) == 64
    w.melding("2025-03-04 09:00")
    assert report(w, "2025-03").figures_hash != a.figures_hash
