"""``wijkteam export``: the current meldingen as JSON Lines or CSV.

Columns are the projection's (``shared.projection.COLUMNS``) without the ``state`` JSON: every
field, the reference, status, deadline (UTC ISO 8601) and ``event_count`` (number of history
events). Rows are streamed, so exporting 100,000 meldingen does not hold them in memory.
"""

from __future__ import annotations

import csv
from typing import TextIO

import msgspec

from wijkteam_tui.store import LIST_COLUMNS, LocalStore

FORMATS = ("jsonl", "csv")


def export(store: LocalStore, out: TextIO, fmt: str) -> int:
    """Write every melding (deleted ones included, with ``deleted`` = 1) to ``out``.

    Args:
        fmt: ``"jsonl"`` (one JSON object per line) or ``"csv"`` (header row, comma-separated, UTF-8).

    Returns:
        The number of meldingen written.

    Raises:
        ValueError: unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"Onbekend formaat '{fmt}'; kies jsonl of csv.")
    n = 0
    if fmt == "jsonl":
        enc = msgspec.json.Encoder()
        for row in store.iter_rows():
            out.write(enc.encode(row).decode() + "\n")
            n += 1
    else:
        writer = csv.DictWriter(out, fieldnames=list(LIST_COLUMNS), lineterminator="\n")
        writer.writeheader()
        for row in store.iter_rows():
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
            n += 1
    return n
