"""A laptop's sync as a separate process, so the crash tests can SIGKILL it at a chosen point.

``python -m tests.e2e.laptop_proc --db PATH --server URL --token T [--limit N]
[--crash before-apply|during-apply|after-apply --crash-page K] [--snapshot-behind N] [--crash-at POINT]``

With ``--crash``, the process kills itself (SIGKILL, like a power cut) at that point of applying the
K-th pulled page: before ``apply_remote``, inside its transaction after the rows are written but before
the commit, or right after the commit. With ``--crash-at``, it kills itself at that point of installing
a snapshot (``wijkteam_tui.snapshot_client.maybe_take_snapshot``'s fault points: ``downloading``,
``downloaded``, ``prepared``, ``replacing``, ``installed``). Without either, it syncs once and prints
the summary.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from shared.events import Event
from wijkteam_store.local import LocalStore
from wijkteam_tui.sync_client import describe, sync_once


class CrashingStore(LocalStore):
    def __init__(self, path: str, crash: str | None, page: int) -> None:
        super().__init__(path)
        self.crash = crash
        self.page = page
        self.pages = 0

    def apply_remote(
        self, events: list[Event], next_after: int, server_hlc: int | None = None, rows: list | None = None
    ) -> None:
        self.pages += 1
        if self.crash is None or self.pages != self.page:
            return super().apply_remote(events, next_after, server_hlc, rows)
        if self.crash == "before-apply":
            os.kill(os.getpid(), signal.SIGKILL)
        if self.crash == "during-apply":
            with self.transaction():
                super().apply_remote(events, next_after, server_hlc, rows)  # joins the outer transaction: written, not committed
                os.kill(os.getpid(), signal.SIGKILL)
        super().apply_remote(events, next_after, server_hlc, rows)
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--server", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--crash", choices=["before-apply", "during-apply", "after-apply"])
    p.add_argument("--crash-page", type=int, default=1)
    p.add_argument("--snapshot-behind", type=int, default=None)
    p.add_argument("--crash-at", choices=["downloading", "downloaded", "prepared", "replacing", "installed"])
    args = p.parse_args()
    store = CrashingStore(args.db, args.crash, args.crash_page)

    def fault(point: str) -> None:
        if point == args.crash_at:
            os.kill(os.getpid(), signal.SIGKILL)

    extra = {} if args.snapshot_behind is None else {"snapshot_behind": args.snapshot_behind}
    try:
        result = sync_once(store, args.server, args.token, pull_limit=args.limit, fault=fault, **extra)
    finally:
        store.close()
    print(describe(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
