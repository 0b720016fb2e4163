"""The report layer's SQL gives exactly the report of the reference conversions (shared.barometer)
on random projection rows: empty strings, missing deadlines, DST hours, reopenings, deletions."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from shared.barometer import AGE_FIELDS, ReportSettings, compute_from_projection, parse_period, vocabularies
from shared.deadlines import deadline, local_date
from shared.projection import COLUMNS, iso
from wijkteam_reports.sql import build_report

from .helpers import figures, make_db, make_summary_db


def random_rows(seed: int, n: int = 400) -> list[dict]:
    rnd = random.Random(seed)
    rows = []
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(n):
        # Hours around the DST switches and midnight are over-represented on purpose.
        reg = start + timedelta(days=rnd.choice([rnd.randrange(365), 88, 89, 297, 298]), hours=rnd.choice([21, 22, 23, rnd.randrange(24)]), minutes=rnd.randrange(60))
        norm = rnd.choice([None, 3, 5, 10])
        closed = rnd.random() < 0.75
        first = reg + timedelta(hours=rnd.expovariate(1 / 150)) if closed else None
        reopen = int(closed and rnd.random() < 0.2)
        last = first
        state = None
        if closed and (reopen or rnd.random() < 0.1):
            again = first + timedelta(days=rnd.randint(0, 30))
            last = None if rnd.random() < 0.4 else again + timedelta(days=rnd.randint(0, 30))
            hist = [
                {"at": iso(first), "type": "status_changed", "details": {"naar": "doorgezet" if not reopen else "afgehandeld"}},
                {"at": iso(again), "type": "status_changed", "details": {"naar": "heropend" if reopen else "in_behandeling"}},
            ]
            if last:
                hist.append({"at": iso(last), "type": "status_changed", "details": {"naar": "afgehandeld"}})
            state = json.dumps({"history": hist})
        r = {c: None for c in COLUMNS}
        r.update(
            melding_id=f"m{i}", reference=f"DLF-K7-{i:04d}", registered_at=iso(reg),
            registered_date=local_date(reg).isoformat(), type=rnd.choice(["melding", "vraag", "klacht", None]),
            kanaal=rnd.choice(["telefoon", "email", "", None]), categorie=rnd.choice(["groen/boom", "riolering/stank", "oud/vervallen", "", None]),
            servicenorm=norm, deadline=iso(deadline(reg, norm)) if norm else None,
            vier_b=rnd.choice(["betrouwbaarheid", "brede_blik", "", None]), wijk=rnd.choice(["Centrum", "Noord", "", None, *vocabularies()["wijk"][:2]]),
            straat=rnd.choice(["Kerkstraat", "", None]), postcode=rnd.choice(["7721EJ", None]),
            lat=rnd.choice([52.5, None]), locatie_omschrijving=rnd.choice(["bij de speeltuin", "", None]),
            has_contact=rnd.randint(0, 1), first_closed_at=iso(first), closed_at=iso(last), reopen_count=reopen,
            callback_count=rnd.choice([0, 0, 1, 3]), duplicaat_van=rnd.choice([None] * 20 + ["DLF-K7-0001", ""]),
            deleted=int(rnd.random() < 0.05), state=state,
            prioriteit=rnd.choice(["spoed", "normaal", "hoog", None]),
            conflict_count=rnd.choice([0, 0, 0, 1, 2, None]),
            first_callback_at=iso(reg + timedelta(hours=rnd.expovariate(1 / 60))) if rnd.random() < 0.6 else None,
        )
        rows.append(r)
    return rows


@pytest.mark.parametrize("path", ["projection", "summary"])
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("period", ["2025-03", "2025-Q4", "2025", "2025-03-30..2025-04-02"])
def test_sql_path_equals_reference(seed, period, path):
    """Both SQL paths — over the projection (laptop) and over the server's summary table — give the
    reference report."""
    rows = random_rows(seed)
    p = parse_period(period)
    as_of = datetime(2026, 2, 1, tzinfo=UTC) if seed % 2 else datetime(2025, 11, 3, 12, tzinfo=UTC)
    dims = ("wijk", "categorie", "hoofdcategorie", "kanaal", "vier_b", "type")
    settings = ReportSettings(gemeente="Dalfsen", inwoners=29_000, terugbelnorm=seed % 4)
    ref = compute_from_projection(rows, p, as_of=as_of, group_by=dims, settings=settings)
    conn = make_summary_db(rows) if path == "summary" else make_db(rows)
    fast = build_report(conn, p, as_of=as_of, group_by=dims, use_summary=path == "summary", settings=settings)
    assert msgspec.to_builtins(fast) == msgspec.to_builtins(ref)
    t = ref.totaal
    assert t.received > 0 and t.received_per_1000 == round(t.received * 1000 / 29_000, 2)
    # The new rules are exercised, not just equal: spoed and regular split the decided closures.
    assert t.closed_with_norm_spoed + t.closed_with_norm_regulier == t.closed_with_norm
    assert 0 < t.closed_with_norm_spoed < t.closed_with_norm
    assert 0 < t.callback_in_norm < t.contact_received
    assert t.backlog == sum(getattr(t, f) for f in AGE_FIELDS)


def test_closure_beyond_the_calendar_takes_the_slow_path():
    rows = random_rows(1, 50)
    rows[0].update(registered_date="2025-03-03", registered_at="2025-03-03T09:00:00.000000Z",
                   first_closed_at="2031-01-06T09:00:00.000000Z", closed_at="2031-01-06T09:00:00.000000Z",
                   deleted=0, duplicaat_van=None, reopen_count=0, state=None)
    p = parse_period("2025-03")
    as_of = datetime(2025, 12, 1, tzinfo=UTC)
    ref = compute_from_projection(rows, p, as_of=as_of)
    fast = build_report(make_db(rows), p, as_of=as_of)
    assert msgspec.to_builtins(fast) == msgspec.to_builtins(ref)
    assert ref.totaal.lead_p90 is not None and ref.totaal.lead_p90 > 1000
    # The summary stores the lead time computed when the row was written: no calendar limit.
    summary = build_report(make_summary_db(rows), p, as_of=as_of, use_summary=True)
    assert msgspec.to_builtins(summary) == msgspec.to_builtins(ref)


@pytest.mark.parametrize("path", ["projection", "summary"])
@pytest.mark.parametrize(("seed", "period"), [(0, "2025-Q4"), (1, "2025"), (2, "2025-03-30..2025-04-02")])
def test_postgresql_gives_the_reference_report(seed, period, path):
    """The same SQL on PostgreSQL (issue 17 §4): both paths give the reference report there too."""
    from sync_server.store import ServerStore
    from tests import backends, pg_cluster
    from wijkteam_reports.summary import backfill

    try:
        url = backends.new_schema_url()
    except pg_cluster.Unavailable as exc:
        pytest.skip(f"PostgreSQL niet beschikbaar: {exc}")
    store = ServerStore(url)
    try:
        names = list(COLUMNS)
        with store.write() as c:
            c.executemany(
                f"INSERT INTO meldingen ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                [[r[n] for n in names] for r in random_rows(seed)],
            )
            backfill(c)  # the summary as a store's upgrade fills it
        rows = random_rows(seed)
        p = parse_period(period)
        as_of = datetime(2026, 2, 1, tzinfo=UTC) if seed % 2 else datetime(2025, 11, 3, 12, tzinfo=UTC)
        dims = ("wijk", "categorie", "hoofdcategorie", "kanaal", "vier_b", "type")
        settings = ReportSettings(gemeente="Dalfsen", inwoners=29_000, terugbelnorm=seed % 4)
        ref = compute_from_projection(rows, p, as_of=as_of, group_by=dims, settings=settings)
        fast = store.barometer(p, as_of=as_of, group_by=dims, use_summary=path == "summary", settings=settings)
        assert figures(fast) == figures(ref)
    finally:
        store.close()
        backends.drop_schema(url)
