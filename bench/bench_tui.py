"""Intake app with 100,000 meldingen in the local store (issue 3): start, search-as-you-type, save;
and the werkvoorraad (issue 14).

Goals: app start to the first interactive screen ≤ 1 s; search query p95 ≤ 50 ms; save ≤ 20 ms;
the werkvoorraad of one of 20 wijkuitvoerders opens in ≤ 150 ms once the app is up.

* werkvoorraad: the projection's ``behandelaar`` spread over 20 names (``wijkuitvoerder-00`` …
  ``-19``, by the melding id; the screen reads only the projection, so this is what it sees of 20
  wijkuitvoerders); timed: the queries (``LocalStore.werkvoorraad`` + ``terugbellen``) per user
  (floor: a primary-key look-up); in a running app, the switch to another user's werkvoorraad
  (``w`` + a key: the screen re-queries and refills) and a new werkvoorraad screen from push to
  filled tables (floor: pushing the same layout without data).

* fill: ``wijkteam_tui.demo.fill_demo`` (every event made by ``shared.commands``, one transaction).
* start: ``make_app`` on the filled file until the list screen shows its first page (headless
  ``run_test``); floor: the same for an empty Textual app.
* search: what the list runs per keystroke (``store.search`` of one page of ``PAGE_SIZE``; the
  match count, capped at ``COUNT_CAP``, runs in a worker and is timed separately),
  for queries typed letter by letter from real rows (street, name, reference, phone, description
  words), with and without a filter; floor: a primary-key look-up of one projection row.
* save: ``store.register`` of one melding (``BEGIN IMMEDIATE``, ``synchronous=FULL``, projection +
  FTS); floor: a one-row INSERT + COMMIT into a plain table on the same file.

    python bench/bench_tui.py [--count 100000] [--keep PATH]

Prints figures only; docs/benchmarks.md ("Intake app") records them. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.enums import VierB
from shared.events import MeldingFields
from shared.model import Adres, Melder
from wijkteam_store.local import COUNT_CAP, LocalStore
from wijkteam_tui.app import make_app
from wijkteam_tui.config import Config
from wijkteam_tui.demo import fill_demo
from wijkteam_tui.screens.meldingen import PAGE_SIZE


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


async def _time_start(db: Path) -> float:
    from textual.widgets import DataTable

    t0 = time.perf_counter()
    # A wijkuitvoerder with work: the app starts on "Mijn werkvoorraad" (issue 14).
    app = make_app(db, Config(device_code="K7", user="wijkuitvoerder-03"), auto_sync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        while not (app.screen.query("#werk") and app.screen.query_one("#werk", DataTable).row_count > 4):
            await pilot.pause()
        elapsed = time.perf_counter() - t0
    return elapsed


async def _time_werkvoorraad(db: Path, users: list[str]) -> tuple[list[float], list[float], list[float]]:
    """In a running app: (1) switching the werkvoorraad on screen to each other user (what ``w`` +
    a key does: re-query and refill), (2) pushing a new werkvoorraad screen until its tables are
    filled, (3) the floor: pushing a screen with the same widgets and no data."""
    from textual.screen import Screen
    from textual.widgets import DataTable, Footer, Label

    from wijkteam_tui.screens.werkvoorraad import View, WerkvoorraadScreen

    class Empty(Screen):
        def compose(self):
            yield Label("x")
            yield Label("y")
            yield DataTable()
            yield Label("z")
            yield DataTable()
            yield Footer()

    switches, opens, empties = [], [], []
    app = make_app(db, Config(device_code="K7", user=users[0]), auto_sync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.keygate.wait_idle()
        await pilot.pause()
        screen = app.screen
        for user in users[1:] * 2:
            t0 = time.perf_counter()
            screen.view = View("collega", user)
            screen.refresh_rows()
            switches.append(time.perf_counter() - t0)
            await pilot.pause()
        for user in users[1:]:
            t0 = time.perf_counter()
            await app.push_screen(WerkvoorraadScreen(View("collega", user)))
            opens.append(time.perf_counter() - t0)
            app.pop_screen()
            await pilot.pause()
            t0 = time.perf_counter()
            await app.push_screen(Empty())
            empties.append(time.perf_counter() - t0)
            app.pop_screen()
            await pilot.pause()
    return switches, opens, empties


async def _time_empty_app() -> float:
    from textual.app import App
    from textual.widgets import Label

    class Empty(App):
        def compose(self):
            yield Label("x")

    t0 = time.perf_counter()
    async with Empty().run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        elapsed = time.perf_counter() - t0
    return elapsed


def typed_queries(
    store: LocalStore, n_rows: int, rng: random.Random
) -> list[tuple[str, dict]]:
    rows = store.search(limit=200, offset=rng.randint(0, max(0, n_rows - 200)))
    words: list[str] = []
    for r in rows[:40]:
        words += [
            r["straat"] or "",
            (r["melder_naam"] or "").split(" ")[-1],
            r["reference"],
            (r["omschrijving"] or "").split(" ")[0],
            "0" + (r["melder_telefoon"] or "+316")[3:9],
        ]
    queries = []
    for w in [w for w in words if w]:
        for i in range(1, min(len(w), 8) + 1):
            queries.append((w[:i], {}))
    queries += [(q, {"status": "open"}) for q, _ in queries[::7]]
    queries += [
        ("", {"overdue": True}),
        ("", {"wijk": "Dalfsen"}),
        ("", {"categorie": "verlichting"}),
    ] * 5
    return queries


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, help="reuse/keep the filled database at PATH")
    args = ap.parse_args()
    rng = random.Random(5)
    tmp = tempfile.TemporaryDirectory()
    db = args.keep or Path(tmp.name) / "bench.sqlite"

    store = LocalStore(db)
    if not store.count(include_deleted=True):
        t0 = time.perf_counter()
        n = fill_demo(store, args.count)
        fill = time.perf_counter() - t0
        print(
            f"fill: {n:,} meldingen, {store.conn.execute('select count(*) from events').fetchone()[0]:,} events "
            f"in {fill:.1f} s ({fill / n * 1e6:.0f} µs per melding)"
        )
    n_rows = store.count()
    print(f"database: {n_rows:,} meldingen, {db.stat().st_size / 1e6:.0f} MB")

    # 20 wijkuitvoerders (see the module docstring)
    users = [f"wijkuitvoerder-{i:02d}" for i in range(20)]
    with store.transaction():
        # spread by the melding id's last two (random) hex digits: rowids are registration times
        store.conn.execute(
            "UPDATE meldingen SET behandelaar = 'wijkuitvoerder-' || printf('%02d', "
            "(unicode(substr(melding_id, -1)) * 31 + unicode(substr(melding_id, -2, 1))) % 20)"
        )

    # start
    starts = [asyncio.run(_time_start(db)) for _ in range(3)]
    floors = [asyncio.run(_time_empty_app()) for _ in range(3)]
    print(
        f"start to the filled werkvoorraad: median {ms(statistics.median(starts))}  (floor: empty Textual app "
        f"{ms(statistics.median(floors))}; ratio {statistics.median(starts) / statistics.median(floors):.1f}×)  goal ≤ 1000 ms"
    )

    # imports of a fresh process (part of a cold start; not in the figure above)
    import subprocess

    code = (
        "import time; t = time.perf_counter(); import wijkteam_tui.app, wijkteam_tui.screens.meldingen; "
        "print(time.perf_counter() - t)"
    )
    imports = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(3)
    ]
    floor_code = "import time; t = time.perf_counter(); import textual.app; print(time.perf_counter() - t)"
    floor_imports = [
        float(
            subprocess.run(
                [sys.executable, "-c", floor_code],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(3)
    ]
    print(
        f"imports in a fresh process: median {ms(statistics.median(imports))}  (floor: textual.app alone "
        f"{ms(statistics.median(floor_imports))}); cold start ≈ imports + start"
    )

    # search as you type
    queries = typed_queries(store, n_rows, rng)
    times, counts = [], []
    for text, filters in queries:
        t0 = time.perf_counter()
        store.search(text, limit=PAGE_SIZE, **filters)
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        store.count(text, cap=COUNT_CAP + 1, **filters)
        counts.append(time.perf_counter() - t0)
    ids = [r["melding_id"] for r in store.search(limit=200)]
    floor = []
    for mid in ids:
        t0 = time.perf_counter()
        store.conn.execute(
            "SELECT reference FROM meldingen WHERE melding_id = ?", (mid,)
        ).fetchone()
        floor.append(time.perf_counter() - t0)
    p95 = pct(times, 95)
    print(
        f"search ({len(queries)} keystrokes, page of {PAGE_SIZE}): median {ms(statistics.median(times))}  "
        f"p95 {ms(p95)}  max {ms(max(times))}  (floor: PK look-up p95 {ms(pct(floor, 95))}; "
        f"ratio {p95 / pct(floor, 95):.0f}×)  goal p95 ≤ 50 ms"
    )
    print(
        f"match count (capped at {COUNT_CAP + 1}, runs in a worker, typing does not wait): "
        f"median {ms(statistics.median(counts))}  p95 {ms(pct(counts, 95))}  max {ms(max(counts))}"
    )
    slow = sorted(zip(times, queries, strict=True), reverse=True)[:3]
    print(
        "  slowest: "
        + ", ".join(f"{q[0]!r}{q[1] or ''} {t * 1000:.1f} ms" for t, q in slow)
    )

    # werkvoorraad: the queries, then the screen in a running app
    from wijkteam_tui.screens.werkvoorraad import PER_GROUP, TERUGBELLEN_SHOWN

    qtimes = []
    for _round in range(3):
        for user in users:
            t0 = time.perf_counter()
            store.werkvoorraad(behandelaar=user, per_group=PER_GROUP)
            store.terugbellen(behandelaar=user, limit=TERUGBELLEN_SHOWN)
            qtimes.append(time.perf_counter() - t0)
    counts, _rows = store.werkvoorraad(behandelaar=users[3])
    print(
        f"werkvoorraad queries (one of 20 wijkuitvoerders, {sum(counts.values()):,} open meldingen, "
        f"{store.terugbellen(behandelaar=users[3])[0]:,} nog terugbellen): median {ms(statistics.median(qtimes))}  "
        f"p95 {ms(pct(qtimes, 95))}  (floor: PK look-up p95 {ms(pct(floor, 95))})"
    )
    switches, opens, empties = asyncio.run(_time_werkvoorraad(db, users))
    print(
        f"werkvoorraad switch to another user (w + key; re-query and refill): median {ms(statistics.median(switches))}  "
        f"p95 {ms(pct(switches, 95))}  max {ms(max(switches))}  goal ≤ 150 ms"
    )
    print(
        f"werkvoorraad as a new screen, push to filled tables: median {ms(statistics.median(opens))}  "
        f"p95 {ms(pct(opens, 95))}  (floor: the same layout without data median {ms(statistics.median(empties))}; "
        f"ratio {statistics.median(opens) / statistics.median(empties):.1f}×)  goal ≤ 150 ms"
    )

    # save
    fields = MeldingFields(
        omschrijving="Lamp brandt niet",
        categorie="verlichting/lantaarnpaal",
        vier_b=VierB.BETROUWBAARHEID,
        adres=Adres(
            straat="Kerkstraat",
            huisnummer=12,
            huisletter="A",
            postcode="7721EJ",
            woonplaats="Dalfsen",
        ),
        melder=Melder(naam="Jan Jansen", telefoon="+31612345678"),
        wijk="Dalfsen",
    )
    saves = []
    for _ in range(50):
        t0 = time.perf_counter()
        store.register(store.device_clock("bench"), prefix="DLF", fields=fields)
        saves.append(time.perf_counter() - t0)
    store.conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (x INTEGER)")
    floor = []
    for i in range(50):
        t0 = time.perf_counter()
        with store.transaction():
            store.conn.execute("INSERT INTO bench_floor VALUES (?)", (i,))
        floor.append(time.perf_counter() - t0)
    store.conn.execute("DROP TABLE bench_floor")
    print(
        f"save one melding: median {ms(statistics.median(saves))}  p95 {ms(pct(saves, 95))}  "
        f"(floor: one-row durable INSERT median {ms(statistics.median(floor))}; "
        f"ratio {statistics.median(saves) / statistics.median(floor):.1f}×)  goal ≤ 20 ms"
    )
    store.close()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
