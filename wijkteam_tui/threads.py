"""Handing a worker thread's result to the UI without ever waiting on the UI.

Textual's ``App.call_from_thread`` waits until the event loop has run the callback. When the app
closes in between (the user quits while a look-up, count, report or sync is still running), the
loop never runs it: the worker thread then waits forever, and so does the interpreter's exit, which
joins every worker thread (a test run once stalled for 17 minutes this way). ``MessagePump.call_later``
instead posts a message thread-safely and returns at once; a closing widget drops it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message_pump import MessagePump


def to_ui(node: MessagePump, callback: Callable[..., Any], *args: Any) -> bool:
    """From a worker thread: run ``callback(*args)`` on the UI thread, in ``node``'s message queue,
    without waiting for it. Returns whether it was queued (False once ``node`` or the app closes)."""
    try:
        return node.call_later(callback, *args)
    except RuntimeError:  # the event loop is already closed
        return False


__all__ = ["to_ui"]
