"""Typing ahead in Pilot tests: every key is put in the app's queue at once, as a terminal delivers
what a fast typist typed while the app was busy, without waiting for the app in between (Pilot's
``press`` waits after every key, which hides exactly the races issue 14 is about)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from textual import events
from textual.keys import _character_to_key, _get_unicode_name_from_key


def key_event(key: str) -> events.Key:
    """The ``events.Key`` a terminal gives for ``key`` (``"a"``, ``"enter"``, ``"ctrl+s"``, ``" "``)."""
    if len(key) == 1:
        # A character types itself, under the key name a terminal reports for it ("-" is "minus").
        return events.Key(key if key.isalnum() else _character_to_key(key), key)
    try:
        char = unicodedata.lookup(_get_unicode_name_from_key(key))
    except KeyError:
        char = None
    return events.Key(key, char)


def keys_of(*parts: str | Iterable[str]) -> list[str]:
    """Flatten ``"Jan", ["enter"], "06…"``: a plain string is typed character by character, a list
    holds named keys (``"enter"``, ``"ctrl+s"``)."""
    out: list[str] = []
    for part in parts:
        out.extend(part if isinstance(part, str) else list(part))
    return out


def type_ahead(app, keys: Iterable[str]) -> int:
    """Post every key to the app's queue now; returns how many. Wait with ``app.keygate.wait_idle()``."""
    n = 0
    for key in keys:
        app.post_message(key_event(key))
        n += 1
    return n
