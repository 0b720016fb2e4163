"""What the intake does in the UI thread for location (issue 7 wired into the TUI), on a laptop
database of N demo meldingen (default 20,000) and the shipped sample gazetteer:

* the nearby-duplicate check: ``nearby_candidates`` (SQL box pre-filter on the ``meldingen``
  projection + ``find_nearby``) at a sample address, for the categories the demo uses most;
* the postcode + huisnummer look-up in the local gazetteer (``Gazetteer.lookup``);
* the wijk decision (``WijkConfig.resolve``) for an address and point (polygons of the sample).

The floor, measured in the same run, is one primary-key read of the projection
(``SELECT reference FROM meldingen WHERE rowid = ?``). Figures are p50/p95 in microseconds and the
ratio p95 / floor p95. A frame at 60 Hz is 16,667 µs: every figure must stay well below it.

    python bench/bench_intake_location.py [--count 20000] [--queries 500]

Prints figures only; docs/benchmarks.md records them. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.deadlines import utcnow
from shared.gazetteer import load_sample_gazetteer
from shared.wijken import load_wijken
from wijkteam_tui.demo import fill_demo
from wijkteam_tui.location.nearby_query import nearby_candidates
from wijkteam_store.local import LocalStore


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e6)
    return sorted(out)


def p(samples: list[float], q: float) -> float:
    return samples[min(len(samples) - 1, int(q * len(samples)))]


def report(name: str, samples: list[float], floor95: float) -> None:
    print(f"{name:<52} p50 {p(samples, 0.5):9.1f} µs   p95 {p(samples, 0.95):9.1f} µs   "
          f"ratio {p(samples, 0.95) / floor95:8.1f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=500)
    args = ap.parse_args()
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(Path(tmp) / "bench.sqlite")
        t0 = time.perf_counter()
        fill_demo(store, args.count)
        print(f"fill {args.count} demo meldingen: {time.perf_counter() - t0:.1f} s")
        now = utcnow()
        rows = list(store.iter_rows())
        cats = [c for c, _ in Counter(r["categorie"] for r in rows).most_common(5)]
        gaz = load_sample_gazetteer()
        adressen = list(gaz)
        wijken = load_wijken()
        n_rows = len(rows)

        floor = timed(lambda: store.conn.execute(
            "SELECT reference FROM meldingen WHERE rowid = ?", (rng.randint(1, n_rows),)).fetchone(), args.queries)
        floor95 = p(floor, 0.95)
        print(f"{'floor: projection read by rowid':<52} p50 {p(floor, 0.5):9.1f} µs   p95 {floor95:9.1f} µs")

        hits = []

        def nearby() -> None:
            a = rng.choice(adressen)
            hits.append(len(nearby_candidates(store.conn, lat=a.lat, lon=a.lon, categorie=rng.choice(cats), now=now)))

        report(f"nearby check (SQL box + rule), {n_rows} meldingen", timed(nearby, args.queries), floor95)
        print(f"  candidates shown per check: mean {sum(hits) / len(hits):.2f}, max {max(hits)}")
        report("postcode + huisnummer (local gazetteer)",
               timed(lambda: gaz.lookup((a := rng.choice(adressen)).postcode, str(a.huisnummer)), args.queries),
               floor95)
        report("wijk decision (polygons, woonplaats)",
               timed(lambda: wijken.resolve((a := rng.choice(adressen)).adres, a.punt), args.queries), floor95)
        store.close()


if __name__ == "__main__":
    main()
