"""The intake's free-text address search, keystroke by keystroke, on a municipality-sized gazetteer.

What ``AdresZoeker`` does for every change of the text: ``LocationLookup.suggest_local`` (the local
gazetteer's ``search``, at most 8 hits) in a thread worker. It never blocks typing, but its latency
is how long a suggestion list takes to appear. Timed for every prefix (from 2 characters, the
minimum) of typed addresses "straat nummer plaats", on the synthetic 60,000-address gazetteer of
``bench/bench_location.py``; separately for short prefixes (2–4 characters, the widest matches).

The floor, measured in the same run, is one Python dict look-up by a (postcode, number) key, as in
bench_location.py; figures are p50/p95 in microseconds and the ratio p95 / floor p95.

    python bench/bench_address_search.py [--addresses 60000] [--calls 200]

Prints figures only; docs/benchmarks.md records them. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_location import p, report, synthetic, timed  # noqa: E402

from shared.gazetteer import Gazetteer  # noqa: E402
from wijkteam_tui.location.service import SUGGEST_MIN_LOCAL, LocationLookup  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--addresses", type=int, default=60_000)
    ap.add_argument("--calls", type=int, default=200, help="typed addresses (each typed prefix is one look-up)")
    args = ap.parse_args()
    rng = random.Random(7)
    gaz = Gazetteer(synthetic(args.addresses, rng))
    lookup = LocationLookup(gaz, online=False)
    print(f"gazetteer: {len(gaz)} addresses")

    sample = rng.sample(list(gaz), args.calls)
    keys = {(a.postcode, a.huisnummer, a.suffix): a for a in gaz}
    it = iter(sample * 50)
    floor = timed(lambda: keys.get((next(it).postcode, 1, "")), 2000)
    floor95 = p(floor, 0.95)
    print(f"{'floor: dict look-up (postcode, number)':<48} p50 {p(floor, 0.5):10.1f} µs   p95 {floor95:10.1f} µs")

    typed = [f"{a.straat.lower()[:-2]} {a.huisnummer} {a.woonplaats.lower()}" for a in sample]
    prefixes = [t[:n] for t in typed for n in range(SUGGEST_MIN_LOCAL, len(t) + 1)]
    short = [t[:n] for t in typed for n in range(SUGGEST_MIN_LOCAL, 5)]
    pit = iter(prefixes)
    report(f"suggest_local, every prefix ({len(prefixes)})", timed(lambda: lookup.suggest_local(next(pit)), len(prefixes)),
           floor95)
    sit = iter(short)
    report(f"suggest_local, 2-4 characters ({len(short)})", timed(lambda: lookup.suggest_local(next(sit)), len(short)),
           floor95)
    full = iter(typed)
    report("suggest_local, whole address", timed(lambda: lookup.suggest_local(next(full)), len(typed)), floor95)


if __name__ == "__main__":
    main()
