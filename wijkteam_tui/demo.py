"""The laptop's demo database: sample meldingen (``shared.demo``) stored as if already synced.

The generator lives in ``shared.demo`` (the server's ``wijkteam-server demo`` uses it too); this module
keeps what needs the laptop's store.
"""

from __future__ import annotations

from datetime import datetime

from shared.demo import DEMO_DEVICE, DEMO_DEVICES, DEMO_USERS, generate, sample_addresses
from wijkteam_store.local import LocalStore

__all__ = ["DEMO_DEVICE", "DEMO_DEVICES", "DEMO_USERS", "fill_demo", "generate", "sample_addresses"]


def fill_demo(
    store: LocalStore,
    count: int,
    *,
    now: datetime | None = None,
    seed: int = 1,
    prefix: str = "DLF",
) -> int:
    """Fill ``store`` with ``count`` sample meldingen in one transaction; it becomes laptop ``DEMO_DEVICE``.

    All demo events are marked acknowledged (as if already synced), so the demo shows nothing waiting.

    Returns:
        The number of meldingen stored.
    """
    groups, devices, own_counter = generate(count, now=now, seed=seed, prefix=prefix)
    own = devices[DEMO_DEVICE]
    return store.bulk_load(groups, acked=True, device=own, melding_counter=own_counter)
