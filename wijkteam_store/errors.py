"""The error a store raises when an operation cannot be done: :class:`StoreError`.

The laptop store (:mod:`wijkteam_store.local`) raises it when its database cannot be written or read
(locked, read-only, full, damaged) and the TUI shows ``message``. It is meant for the server's store
too (a refusal the admin must read, answered as 409 with ``message`` as ``detail``), which still has
its own ``sync_server.store.StoreError`` of the same shape until it moves to its store interface.
"""

from __future__ import annotations


class StoreError(Exception):
    """A store operation cannot be done; nothing of it was stored.

    Attributes:
        message: Dutch, fit to show the person who asked (the laptop's user, the server's admin).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
