"""The one event codec of both stores: an :class:`shared.events.Event` as a database row and back.

Both stores (``wijkteam_store.local``, ``sync_server.store``; also the server's snapshot builder and
the report layer's as-of view) keep events in a table with the columns :data:`EVENT_COLUMNS`, read and
written in that order (the order of the fields of ``Event``), with the payload as JSON text; each store
adds its own columns (the laptop ``acked``; the server ``server_seq`` before them and ``received_at``,
``pushed_by`` after). ``user`` and ``schema`` are quoted in :data:`EVENT_SELECT` because PostgreSQL
reserves ``user``.

Rows are tuples (or any sequence) of those values: :func:`event_row` makes one to insert,
:func:`event_from_row` reads one back. Both are on the hot path of a pull (thousands of events a
page), so they do no more than build the tuple or the struct.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from shared.events import Event

#: The event columns of a store's events table, in this order (``Event``'s fields).
EVENT_COLUMNS: tuple[str, ...] = tuple(Event.__struct_fields__)
#: :data:`EVENT_COLUMNS` as a SELECT or INSERT column list, each name quoted.
EVENT_SELECT = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
#: Where ``melding_id`` sits in a row (rows are grouped by it).
MELDING_ID = EVENT_COLUMNS.index("melding_id")

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode

#: JSON text of any value, as bytes (the stores' JSON columns and JSON query parameters, e.g. id lists).
json_encode = _encode
#: Any JSON text back to Python values.
json_decode = msgspec.json.Decoder().decode


def encode_payload(payload: dict[str, Any]) -> str:
    """A payload as the JSON text the ``payload`` column holds."""
    return _encode(payload).decode()


def decode_payload(text: str | bytes) -> dict[str, Any]:
    """The payload of a ``payload`` column (JSON text).

    Raises:
        msgspec.DecodeError / msgspec.ValidationError: not a JSON object (a damaged row).
    """
    return _decode(text)


def event_row(e: Event) -> tuple[Any, ...]:
    """The values of :data:`EVENT_COLUMNS` for ``e``, payload as JSON text."""
    return (e.event_id, e.melding_id, e.device_id, e.device_seq, e.hlc, e.type, _encode(e.payload).decode(),
            e.user, e.prev, e.schema)  # fmt: skip


def event_from_row(row: Sequence[Any]) -> Event:
    """The :class:`Event` of a row holding the values of :data:`EVENT_COLUMNS` in order (further
    values after them are ignored). Not validated: the stores hold only events that were."""
    event_id, melding_id, device_id, device_seq, hlc, type_, payload, user, prev, schema = row[:10]
    return Event(event_id, melding_id, device_id, device_seq, hlc, type_, _decode(payload), user, prev, schema)
