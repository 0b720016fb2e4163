"""KCC search on 1,000,000 meldingen: p50/p95 per search key, server-side (issue 5: p95 ≤ 50 ms).

The server's schema (``sync_server.store.ServerStore``: projection, indexes, FTS5 triggers) on a temp
file, the ``meldingen`` projection filled directly with ``executemany`` (folding a million meldingen
is the sync benchmark's business, not this one's), then ``sync_server.search.search`` — classify,
query, build the hits — timed for queries made from real rows in the spellings callers use. The floor
is a primary-key look-up of one projection row, measured in the same run; the ratio is p95 / floor p95.
Also timed: the KCC detail (``clashes.the_one`` + ``ServerStore.melding`` + ``detail``) and Open311 ``requests.json`` for the default
90-day window, both through the same SQL the routes run.

    python bench/bench_kcc.py [--rows 1000000] [--queries 200] [--keep PATH]

Prints figures only; docs/benchmarks.md records them. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.commands import DeviceClock, add_note, change_status, register
from shared.deadlines import deadline, local_date
from shared.enums import Status
from shared.events import Event, MeldingFields
from shared.fold import fold
from shared.ids import new_id
from shared.model import Adres, Melder
from shared.open311 import parse_request_filter, service_request
from shared.projection import COLUMNS, iso
from shared.reference import device_code, make_reference
from shared.status import is_open
from shared.taxonomy import load_taxonomy
from sync_server import search as kcc
from sync_server.clashes import the_one
from sync_server.store import ServerStore, now_iso

FIRST = ["Jan", "Piet", "Kees", "Anna", "Els", "Marieke", "Henk", "Fatima", "Mohamed", "Sanne", "Lotte", "Gerrit",
         "Willem", "Ingrid", "Bram", "Daan", "Emma", "Sophie", "Thijs", "Lisa", "Ruud", "Joke", "Ahmet", "Yvonne"]
LAST = ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit",
        "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker",
        "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "Kok", "Jacobs", "Haverkamp",
        "Nijenhuis", "Kamphuis", "Schuurman", "Wessels", "Lubbers", "Oosterhof", "Veldhuis", "Brinkman"]
STEM = ["Berken", "Eiken", "Beuken", "Linden", "Wilgen", "Kastanje", "Esdoorn", "Populieren", "Hazel", "Vlier",
        "Molen", "Kerk", "School", "Dorps", "Brink", "Veld", "Heide", "Beek", "Marke", "Koren", "Tarwe", "Rogge",
        "Haver", "Vlas", "Hoeve", "Stations", "Sluis", "Vecht", "Zwarte", "Rozen", "Tulpen", "Lelie", "Iris",
        "Merel", "Lijster", "Spreeuw", "Zwaluw", "Kievit", "Reiger", "Ooievaar", "Vink", "Mees", "Uilen",
        "Nachtegaal", "Wielewaal", "Kwartel", "Patrijs", "Fazant", "Haas", "Vos", "Das", "Egel", "Otter"]
SUFFIX = ["straat", "laan", "weg", "pad", "hof", "plein", "dijk", "steeg", "kamp", "es", "erf", "singel",
          "dreef", "veld", "horst", "brink", "gaarde", "akker", "hoek", "kade", "park", "zoom", "wal", "baan"]
PLACES = ["Dalfsen", "Nieuwleusen", "Lemelerveld", "Oudleusen", "Hoonhorst", "Ankum", "Welsum"]
WORDS = {
    "groen": ["tak", "boom", "omgewaaid", "snoeien", "heg", "gras", "maaien", "onkruid", "wortels", "blad"],
    "verlichting": ["lamp", "lantaarnpaal", "donker", "knippert", "kapot", "scheef", "kabel", "licht"],
    "riolering": ["put", "kolk", "verstopt", "stank", "water", "wateroverlast", "riool", "deksel"],
    "verharding": ["tegel", "stoep", "gat", "weg", "scheur", "verzakt", "struikelen", "fietspad"],
    "afval": ["zwerfvuil", "container", "vol", "dumping", "glasbak", "afval", "zakken", "bankstel"],
    "spelen": ["speeltoestel", "schommel", "glijbaan", "zandbak", "kapot", "hek", "wip", "speeltuin"],
}
FILLER = ["bij", "de", "het", "een", "naast", "voor", "achter", "nummer", "al", "weken", "sinds", "gisteren",
          "erg", "gevaarlijk", "kinderen", "graag", "snel", "oplossen", "opnieuw", "hoek", "brug", "school"]


def gazetteer_streets() -> list[tuple[str, str, str]]:
    """The sample gazetteer's (street, postcode, woonplaats) triples."""
    with (ROOT / "shared/data/sample_gazetteer.csv").open(encoding="utf-8") as fh:
        return sorted({(r["openbare_ruimte"], r["postcode"], r["woonplaats"]) for r in csv.DictReader(fh)})


def make_streets(rng: random.Random) -> list[tuple[str, str, float, float]]:
    """About 1,500 streets with a postcode area each (a municipality of ~100,000 residents)."""
    streets = []
    names = sorted({s + x for s in STEM for x in SUFFIX})
    rng.shuffle(names)
    for i, name in enumerate(names[:1500]):
        pc = f"{7700 + i // 3}{'ABCDEFGHJKLMNPRTVWXZ'[i % 20]}{'ABCDEFGHJKLMNPRTVWXZ'[(i * 7) % 20]}"
        streets.append((name, pc, 52.4 + rng.random() * 0.2, 6.1 + rng.random() * 0.3))
    return streets


def template_events() -> list[Event]:
    """A real melding's events (registered, taken in hand, a note), copied under the melding_id of
    every melding the detail benchmark opens (the detail folds them)."""
    dev = DeviceClock("K7", "bench")
    e = register(
        dev, prefix="DLF", counter=1, registered_at=datetime(2026, 4, 24, 8, 15, tzinfo=UTC),
        fields=MeldingFields(
            categorie="groen/boom", omschrijving="Tak afgebroken na storm", wijk="Centrum",
            adres=Adres(straat="Kerkstraat", huisnummer=12, huisletter="A", postcode="7721EJ", woonplaats="Dalfsen"),
            melder=Melder(naam="Jan Jansen", telefoon="+31612345678"),
        ),
    )  # fmt: skip
    state = fold([e])
    assert state is not None
    taken = change_status(dev, state, Status.IN_BEHANDELING)
    return [e, taken, add_note(dev, fold([e, taken]), "Boomploeg ingepland", openbaar=True)]


def store_events_of(store: ServerStore, melding_ids: list[str]) -> None:
    """Give each of ``melding_ids`` a copy of :func:`template_events` in the server's ``events`` table."""
    rows = []
    for mid in melding_ids:
        for e in template_events():
            rows.append((new_id(), mid, e.device_id, e.device_seq, e.hlc, e.type,
                         msgspec.json.encode(e.payload).decode(), e.user, e.prev, e.schema, now_iso(), "bench"))
    with store.write() as w:
        w.executemany(
            'INSERT INTO events (event_id, melding_id, device_id, device_seq, hlc, type, payload, "user", prev, "schema",'
            " received_at, pushed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def generate(n: int, rng: random.Random, now: datetime) -> list[tuple]:
    """``n`` projection rows (``COLUMNS`` order), registration order = rowid order, over 3 years."""
    taxonomy = load_taxonomy()
    cats = [c for c in taxonomy.categories]
    streets = make_streets(rng)
    start = now - timedelta(days=3 * 365)
    span = (now - start).total_seconds()
    offsets = sorted(rng.random() * span for _ in range(n))
    counters: dict[str, int] = {}
    deadline_cache: dict[tuple[str, int], str] = {}
    statuses = [s for s in Status]
    rows = []
    for i, off in enumerate(offsets):
        at = start + timedelta(seconds=off)
        dev = device_code(1 + rng.randrange(300))
        counters[dev] = counters.get(dev, 0) + 1
        cat = rng.choice(cats)
        straat, pc, lat, lon = rng.choice(streets)
        nr = 1 + rng.randrange(120)
        letter = rng.choice([None] * 8 + ["A", "B"])
        status = Status.GEMELD if off > span - 14 * 86400 and rng.random() < 0.7 else rng.choice(statuses)
        open_ = is_open(status)
        day = local_date(at).isoformat()
        key = (day, cat.servicenorm)
        if key not in deadline_cache:
            deadline_cache[key] = iso(deadline(at, cat.servicenorm))
        anon = rng.random() < 0.2
        naam = None if anon else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        tel = None if anon or rng.random() < 0.2 else f"+316{rng.choice('12345')}{rng.randrange(1_000_000, 9_999_999)}"
        words = WORDS.get(cat.hoofd, ["melding"])
        omschrijving = " ".join(rng.choice(words if k % 2 == 0 else FILLER) for k in range(8))
        closed = None if open_ else iso(at + timedelta(days=1 + rng.randrange(20)))
        row = {
            "melding_id": f"m{i:08d}", "reference": make_reference("DLF", dev, counters[dev]),
            "registered_at": iso(at), "registered_date": day, "registered_by": "bench", "device_id": dev,
            "type": "melding" if rng.random() < 0.9 else rng.choice(["vraag", "klacht"]),
            "kanaal": rng.choice(["telefoon", "balie", "email", "website", "mondeling", "kcc"]),
            "categorie": cat.code, "servicenorm": cat.servicenorm, "deadline": deadline_cache[key],
            "vier_b": None, "prioriteit": "normaal", "status": status.value, "is_open": int(open_),
            "wijk": f"Wijk {hash(straat) % 12}", "straat": straat, "huisnummer": nr, "huisletter": letter,
            "huisnummertoevoeging": None, "postcode": pc, "woonplaats": rng.choice(PLACES),
            "lat": round(lat, 7), "lon": round(lon, 7), "locatie_omschrijving": None, "omschrijving": omschrijving,
            "melder_naam": naam, "melder_telefoon": tel, "melder_email": None, "melder_anoniem": int(anon),
            "has_contact": int(bool(tel)), "first_closed_at": closed, "closed_at": closed, "reopen_count": 0,
            "first_callback_at": None, "callback_count": 0, "duplicaat_van": None,
            "deleted": int(rng.random() < 0.005), "conflict_count": 0,
            "public_note": None if open_ else "Afgehandeld door de buitendienst.",
            "updated_hlc": int(at.timestamp() * 1000) << 16, "event_count": 1 if open_ else 3, "status_timeline": None,
        }  # fmt: skip
        rows.append(tuple(row[c] for c in COLUMNS))
    return rows


def fill(store: ServerStore, rows: list[tuple]) -> float:
    """Insert ``rows`` into ``meldingen`` (FTS kept by the store's triggers); seconds taken."""
    sql = f"INSERT INTO meldingen ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    t0 = time.perf_counter()
    c = store.conn()
    c.execute("PRAGMA synchronous = OFF")  # a bulk load into a throw-away file
    for i in range(0, len(rows), 50_000):
        with store.write() as w:
            w.executemany(sql, rows[i : i + 50_000])
    c.execute("ANALYZE")
    return time.perf_counter() - t0


def phone_spellings(e164: str) -> list[str]:
    nat = "0" + e164[3:]
    return [f"{nat[:2]}-{nat[2:]}", nat, f"+31 {nat[1]} {nat[2:6]} {nat[6:]}"]


def queries(rows: list[tuple], rng: random.Random, k: int) -> dict[str, list[str]]:
    """``k`` queries per key, made from live rows as a caller would say them."""
    col = {c: i for i, c in enumerate(COLUMNS)}
    live = [r for r in rows if not r[col["deleted"]]]
    pick = lambda: rng.choice(live)
    out: dict[str, list[str]] = {k_: [] for k_ in ("referentie", "postcode", "straat+nr", "straat", "telefoon", "naam", "tekst")}
    while any(len(v) < k for v in out.values()):
        r = pick()
        ref = r[col["reference"]]
        if len(out["referentie"]) < k:
            out["referentie"].append(rng.choice([ref, ref.lower(), ref.replace("-", " "), ref.replace("-", "")]))
        pc, nr, straat = r[col["postcode"]], r[col["huisnummer"]], r[col["straat"]]
        if len(out["postcode"]) < k:
            out["postcode"].append(rng.choice([f"{pc} {nr}", f"{pc[:4]} {pc[4:].lower()} {nr}", f"{nr}, {pc}"]))
        if len(out["straat+nr"]) < k:
            out["straat+nr"].append(f"{straat} {nr}")
        if len(out["straat"]) < k:
            out["straat"].append(straat.lower())
        tel = r[col["melder_telefoon"]]
        if tel and len(out["telefoon"]) < k:
            out["telefoon"].append(rng.choice(phone_spellings(tel)))
        naam = r[col["melder_naam"]]
        if naam and len(out["naam"]) < k:
            out["naam"].append(rng.choice([naam, naam.split(" ", 1)[1]]))
        if len(out["tekst"]) < k:
            words = r[col["omschrijving"]].split()
            out["tekst"].append(" ".join(rng.sample(words[::2], 2)))
    return out


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t0) / 1e6


def pct(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[94]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200, help="queries per search key")
    ap.add_argument("--keep", type=Path, help="database file to keep and reuse on the next run (default: a temp file)")
    args = ap.parse_args()
    rng = random.Random(5)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "kcc-bench.sqlite3"
        store = ServerStore(path)
        t0 = time.perf_counter()
        rows = generate(args.rows, rng, now)
        gen_s = time.perf_counter() - t0
        have = store.conn().execute("SELECT count(*) FROM meldingen").fetchone()[0]
        if have == args.rows:  # a kept database of the same seed: the same rows, already loaded
            print(f"rows: {args.rows:,}  generated in {gen_s:.1f} s, reusing {path}")
        else:
            load_s = fill(store, rows)
            print(f"rows: {args.rows:,}  generated in {gen_s:.1f} s, loaded (projection + FTS) in {load_s:.1f} s")
        c = store.conn()  # the floor below reads the SQLite file directly
        qs = queries(rows, rng, args.queries)
        ids = [r[0] for r in rng.sample(rows, 2000)]
        del rows
        # Warm the page cache the way a running server is warm; then measure.
        for q in qs["referentie"][:20]:
            kcc.search(store, q)
        floor = [timed(lambda i=i: c.execute("SELECT * FROM meldingen WHERE melding_id = ?", (i,)).fetchone()) for i in ids]
        f50, f95 = pct(floor)
        print(f"floor (primary-key look-up of one row): p50 {f50:.3f} ms  p95 {f95:.3f} ms")
        every: list[float] = []
        hits: dict[str, float] = {}
        print(f"{'key':<12} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'x floor p95':>12} {'avg hits':>9}")
        for kind, items in qs.items():
            times, found = [], 0
            for q in items:
                res: list = []
                times.append(timed(lambda q=q, res=res: res.append(kcc.search(store, q))))
                found += len(res[0].results)
            every += times
            hits[kind] = found / len(items)
            p50, p95 = pct(times)
            print(f"{kind:<12} {p50:8.2f} {p95:8.2f} {max(times):8.2f} {p95 / f95:12.0f} {hits[kind]:9.1f}")
        p50, p95 = pct(every)
        print(f"{'all':<12} {p50:8.2f} {p95:8.2f} {max(every):8.2f} {p95 / f95:12.0f}")
        refs = [q for q in qs["referentie"]]
        store_events_of(store, [the_one(store, kcc.classify(r).reference)["melding_id"] for r in refs])

        def open_detail(ref: str) -> kcc.KccDetail:
            row = the_one(store, kcc.classify(ref).reference)
            return kcc.detail(row, store.melding(row["melding_id"]))

        detail = [timed(lambda r=r: open_detail(r)) for r in refs]
        d50, d95 = pct(detail)
        print(f"detail       {d50:8.2f} {d95:8.2f} {max(detail):8.2f} {d95 / f95:12.0f}")
        f = parse_request_filter({}, now=now)
        registered = (local_date(f.start).isoformat(), local_date(f.end).isoformat(), iso(f.start), iso(f.end))
        tax = load_taxonomy()

        def requests_json() -> list:  # what requests.json asks the store
            return [service_request(r, tax) for r in store.published_requests(registered=registered, limit=1000)]

        o311 = [timed(requests_json) for _ in range(20)]
        o50, o95 = pct(o311)
        print(f"open311 requests.json (90 days, 1000 requests): p50 {o50:.1f} ms  p95 {o95:.1f} ms")
        verdict = "OK" if p95 <= 50 else "TOO SLOW"
        print(f"KCC search p95 over every key: {p95:.2f} ms (target ≤ 50 ms): {verdict}")
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
