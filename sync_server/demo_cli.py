"""``wijkteam-server demo --count N``: fill a server with sample meldingen, clearly labelled as such.

So that a newcomer sees the KCC look-up, the public status page and the barometer report with data
(README, "A first tour"). The meldingen are made by ``shared.demo.generate`` — every event by
``shared.commands``, over the 365 days before now, with made-up addresses from the sample
gazetteer and invented names — on the server's own device (``00``), through
``ServerStore.append_server_events``, so they sync to every laptop like any server-made melding.

Labelled three ways: ``bron = "demo"`` on every melding (projection column ``bron``; reports say
"voorbeeldgegevens"), the user ``demo`` in their history, and descriptions that start with
``VOORBEELD:``. A server that already holds real meldingen is refused unless ``--force``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from shared.commands import DeviceClock
from shared.demo import generate
from shared.events import Event
from shared.gemeente import gemeente
from sync_server.store import ServerStore

#: User name on the sample meldingen' events.
DEMO_USER = "demo"
#: Put before every sample description.
LABEL = "VOORBEELD: "


def fill_server_demo(store: ServerStore, count: int, *, seed: int = 1) -> list[str]:
    """Make ``count`` sample meldingen on the server in one transaction; returns their references.

    Raises:
        ValidationError: only for a broken configuration (a demo categorie refused): nothing is stored.
    """
    made: list[str] = []

    def build(dev: DeviceClock, next_counter: Any) -> list[Event]:
        groups, clocks, _ = generate(
            count, seed=seed, prefix=gemeente().prefix, users={dev.device_id: DEMO_USER},
            seq_start={dev.device_id: dev.seq}, next_counter=next_counter, label=LABEL,
        )  # fmt: skip
        dev.seq = clocks[dev.device_id].seq
        made.extend(g[0].payload["reference"] for g in groups)
        return [e for g in groups for e in g]

    store.append_server_events(DEMO_USER, build)
    return made


def _demo(args: argparse.Namespace) -> int:
    from sync_server.cli_common import open_store

    if not 1 <= args.count <= 100_000:
        print("Fout: --count is 1 tot 100.000.", file=sys.stderr)
        return 1
    store = open_store(args)
    try:
        live = store.live_meldingen_count()
        if live and not args.force:
            print(
                f"Fout: deze server heeft al {live} echte meldingen; voorbeeldgegevens zouden de rapportages "
                "vertroebelen. Gebruik een aparte database (--db), of --force als u het toch wilt.",
                file=sys.stderr,
            )
            return 1
        refs = fill_server_demo(store, args.count, seed=args.seed)
        from sync_server import audit

        audit.record_cli(store, "demo", f"{len(refs)} voorbeeldmeldingen")
    finally:
        store.close()
    print(
        f"{len(refs)} voorbeeldmeldingen gemaakt ({refs[0]} … {refs[-1]}), gemarkeerd als voorbeeld "
        "(bron 'demo', omschrijving 'VOORBEELD: …'). Laptops krijgen ze bij hun volgende sync."
    )
    return 0


def configure(sub: Any) -> None:
    """Add ``demo --count N [--seed S] [--force]`` to ``wijkteam-server``."""
    from sync_server.cli_common import add_command

    p = add_command(sub, "demo", "vul de server met voorbeeldmeldingen (duidelijk gemarkeerd), om rond te kijken")
    p.add_argument("--count", type=int, default=500, help="aantal voorbeeldmeldingen (standaard 500)")
    p.add_argument("--seed", type=int, default=1, help="andere voorbeelden met een ander getal")
    p.add_argument("--force", action="store_true", help="ook als de server al echte meldingen heeft")
    p.set_defaults(func=_demo)
