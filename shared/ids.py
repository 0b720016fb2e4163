"""Identifiers made on the device without asking anyone: UUIDv7 (RFC 9562) for events and meldingen.

UUIDv7 starts with the Unix time in milliseconds, so ids sort roughly by creation time, which keeps
the event tables' primary-key index append-mostly. Made by the ``uuid6`` package.
"""

from __future__ import annotations

import uuid6


def new_id() -> str:
    """A fresh UUIDv7 as the canonical 36-character lower-case string."""
    return str(uuid6.uuid7())
