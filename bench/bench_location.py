"""Location look-ups on a municipality-sized gazetteer (issue 7: "fast and right, offline too").

A synthetic gazetteer of N addresses (default 60,000, the size of a large rural municipality's BAG)
spread over a 20 × 20 km area around Dalfsen is written as CSV, parsed (``shared.gazetteer``),
indexed, then timed:

* parse + index of the CSV (what a laptop does at start-up);
* postcode + huisnummer look-up (the intake's fast path) for known addresses;
* free-text search ("straat nummer plaats");
* reverse look-up (nearest address within 100 m) for random points;
* nearby duplicates (``shared.nearby.find_nearby``) over 5,000 open candidate rows (what the store's
  box pre-filter would hand over in the worst case), and over the box-filtered subset;
* RD New ⇄ WGS84 conversion of one point (pyproj, cached Transformer).

The floor, measured in the same run, is one Python dict look-up by a (postcode, number) key; each
figure is printed as p50/p95 in microseconds and the ratio p95 / floor p95.

    python bench/bench_location.py [--addresses 60000] [--queries 2000]

Prints figures only; docs/benchmarks.md records them. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.gazetteer import Gazetteer, GazetteerAdres, parse_gazetteer_csv, to_csv_text
from shared.geo import bbox_around, rd_to_wgs84, wgs84_to_rd
from shared.nearby import find_nearby
from shared.projection import iso

STREETS = ["Kerk", "Molen", "School", "Dorps", "Brink", "Veld", "Heide", "Beek", "Marke", "Koren", "Stations",
           "Sluis", "Vecht", "Rozen", "Tulpen", "Merel", "Lijster", "Kievit", "Reiger", "Vink", "Haas", "Otter"]
SUFFIX = ["straat", "laan", "weg", "pad", "hof", "plein", "dijk", "kamp", "es", "erf", "singel", "dreef"]
PLACES = ["Dalfsen", "Nieuwleusen", "Lemelerveld", "Oudleusen", "Hoonhorst"]
LETTERS = "ABCDEFGHJKLMNPRTVWXZ"


def synthetic(n: int, rng: random.Random) -> list[GazetteerAdres]:
    out: list[GazetteerAdres] = []
    pc_num = 7700
    i = 0
    while len(out) < n:
        place = PLACES[i % len(PLACES)]
        street = f"{STREETS[(i // 5) % len(STREETS)]}{SUFFIX[(i // 110) % len(SUFFIX)]}"
        pc = f"{pc_num + i // 400}{LETTERS[(i // 20) % 20]}{LETTERS[i % 20]}"  # unique per block
        lat0 = 52.42 + rng.random() * 0.18
        lon0 = 6.15 + rng.random() * 0.29
        for nr in range(1, 31):
            if len(out) >= n:
                break
            lat, lon = round(lat0 + nr * 0.00007, 7), round(lon0, 7)
            if nr % 9 == 0:
                out.append(GazetteerAdres(street, nr, place, lat, lon, huisletter="A", postcode=pc))
                out.append(GazetteerAdres(street, nr, place, round(lat + 0.00003, 7), lon, huisletter="B", postcode=pc))
            else:
                out.append(GazetteerAdres(street, nr, place, lat, lon, postcode=pc))
        i += 1
    return out[:n]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return samples


def p(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def report(name: str, samples: list[float], floor95: float) -> None:
    p50, p95 = p(samples, 0.5), p(samples, 0.95)
    print(f"{name:<48} p50 {p50:10.1f} µs   p95 {p95:10.1f} µs   ratio {p95 / floor95:10.1f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--addresses", type=int, default=60_000)
    ap.add_argument("--queries", type=int, default=2000)
    args = ap.parse_args()
    rng = random.Random(7)

    adressen = synthetic(args.addresses, rng)
    text = to_csv_text(adressen)
    t0 = time.perf_counter()
    parsed = parse_gazetteer_csv(text)
    t1 = time.perf_counter()
    gaz = Gazetteer(parsed.adressen)
    t2 = time.perf_counter()
    print(f"gazetteer: {len(gaz)} addresses, {len(text) / 1e6:.1f} MB CSV; parse {t1 - t0:.2f} s, index {t2 - t1:.2f} s")

    sample = rng.sample(list(gaz), min(args.queries, len(gaz)))
    keys = {(a.postcode, a.huisnummer, a.suffix): a for a in gaz}
    it = iter(sample * 3)
    floor = timed(lambda: keys.get((next(it).postcode, 1, "")), args.queries)
    floor95 = p(floor, 0.95)
    print(f"{'floor: dict look-up (postcode, number)':<48} p50 {p(floor, 0.5):10.1f} µs   p95 {floor95:10.1f} µs")

    it = iter(sample * 3)
    report("postcode + huisnummer (lookup)", timed(lambda: gaz.lookup(next(it).postcode, str(next(it).huisnummer)), args.queries // 2), floor95)
    it = iter(sample * 3)

    def free() -> object:
        a = next(it)
        return gaz.search(f"{a.straat} {a.huisnummer} {a.woonplaats}")

    report("free text (street number place)", timed(free, min(args.queries, 300)), floor95)
    pts = [(52.42 + rng.random() * 0.18, 6.15 + rng.random() * 0.29) for _ in range(args.queries)]
    pit = iter(pts)
    report("reverse: nearest address within 100 m", timed(lambda: gaz.nearest(*next(pit)), args.queries), floor95)

    now = datetime(2026, 6, 1, tzinfo=UTC)
    rows = [
        {"melding_id": str(i), "reference": f"DLF-K7-{i:04d}", "lat": a.lat, "lon": a.lon,
         "categorie": "verharding/losse_tegel" if i % 3 else "groen/boom", "status": "gemeld", "deleted": 0,
         "registered_at": iso(now - timedelta(days=i % 120))}
        for i, a in enumerate(rng.sample(list(gaz), 5000))
    ]
    pit = iter(pts * 2)

    def nearby_all() -> object:
        lat, lon = next(pit)
        return find_nearby(rows, lat=lat, lon=lon, categorie="verharding/losse_tegel", now=now)

    report("nearby: 5,000 candidate rows, no pre-filter", timed(nearby_all, 200), floor95)

    def nearby_box() -> object:
        lat, lon = next(pit)
        a, b, c, d = bbox_around(lat, lon, 50)
        cands = [r for r in rows if a <= r["lat"] <= b and c <= r["lon"] <= d]
        return find_nearby(cands, lat=lat, lon=lon, categorie="verharding/losse_tegel", now=now)

    report("nearby: box pre-filter (Python) + exact rule", timed(nearby_box, 200), floor95)
    pit = iter(pts * 2)
    report("WGS84 -> RD New (pyproj, cached)", timed(lambda: wgs84_to_rd(*next(pit)), args.queries), floor95)
    rd = [wgs84_to_rd(*q) for q in pts[:500]]
    rit = iter(rd * 4)
    report("RD New -> WGS84 + bounds check", timed(lambda: rd_to_wgs84(*next(rit)), args.queries), floor95)
    print(f"median over all lookups is in µs; for scale, a keypress at 60 Hz is {1e6 / 60:,.0f} µs")


if __name__ == "__main__":
    main()
