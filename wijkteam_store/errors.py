"""The one error both stores raise when an operation cannot be done: :class:`StoreError`.

The laptop store (:mod:`wijkteam_store.local`) raises it when its database cannot be written or read
(locked, read-only, full, damaged) and the TUI shows ``message``; the server's store and its commands
(``sync_server.store``, which re-exports it) raise it for a refusal the admin must read (a newer
database, a name already taken, an unreadable file), answered with ``message`` as the ``detail``.
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
