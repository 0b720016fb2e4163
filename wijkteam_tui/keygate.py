"""Type-ahead that lands where the user meant it, in order, or nowhere (issue 14 §2, docs/design.md "UI").

A wijkuitvoerder types a call from memory, faster than a busy laptop reacts. Textual hands each key
to the widget that has the focus *when the key is taken from the app's queue*; a key that moves the
focus (Enter along the fast path, Tab, a B chosen with 1–4, ``n`` opening the form) only takes
effect a few messages later. Keys typed in between then land in the old field ("Huisnummer
10bor", a name "Lang7721"), or on a screen that is not mounted yet (the first keys after start-up
were lost).

:class:`KeyGate` orders this by construction instead of by timing. The app asks it about every key
and paste (:meth:`WijkteamApp.on_event`):

* A key that can only edit the focused text field (a printable character, Backspace, the arrows…
  in an ``Input`` or ``TextArea``) goes through at once: it cannot move the focus, and the field's
  queue keeps the order.
* Any other key first waits until the keys before it have been taken in (a shortcut such as
  Ctrl+S runs in the app at once, while text typed just before it may still sit in the field's
  queue), goes through, and then the gate **settles**: later keys are held, in order, until the
  app has finished reacting to it — the app's queue and the queue of every widget on the current
  screen are empty and no explicit look-up is running (:meth:`busy`). Then the held keys go out
  again, one by one, under the same rule.
* When, while settling, a *question the user did not ask for* opened (a screen whose class says
  ``DISCARDS_TYPEAHEAD = True``: the 12 A / 12 B choice after a look-up, "buiten de gemeente"),
  the held keys are dropped and a message says how many: answering a question nobody saw with keys
  meant for the next field would be worse than asking again.

The gate also starts closed, so keys typed while the app starts wait for the first screen.

Nothing here sleeps or guesses a duration: the only timer re-checks the queues every
:data:`CHECK_S` seconds while settling. :data:`WATCHDOG_S` is a last resort for a queue that never
empties (a bug elsewhere): the held keys are then delivered, and the fact is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import events
from textual.widgets import Input, TextArea

if TYPE_CHECKING:
    from textual.app import App

log = logging.getLogger(__name__)

#: How often (seconds) the queues are looked at while the gate settles.
CHECK_S = 0.002
#: Longest a settle may take before held keys are delivered anyway (seconds; logged).
WATCHDOG_S = 10.0

#: Keys that edit a text field without ever moving the focus.
_EDIT_KEYS = frozenset(
    {
        "backspace", "delete", "left", "right", "home", "end", "space",
        "ctrl+left", "ctrl+right", "ctrl+w", "ctrl+u", "ctrl+k", "ctrl+a", "ctrl+e", "ctrl+f",
        "shift+left", "shift+right", "shift+home", "shift+end",
    }
)  # fmt: skip


def edits_only(event: events.Key | events.Paste, focused: object) -> bool:
    """True when ``event`` can only change the text of the ``focused`` widget (an ``Input`` or
    ``TextArea``), never the focus or the screen: a printable character or an editing key.

    A paste counts as editing only for a text field. Enter, Tab, Escape and every shortcut do not.
    """
    if not isinstance(focused, (Input, TextArea)):
        return False
    if isinstance(event, events.Paste):
        return True
    if event.key in _EDIT_KEYS:
        return True
    return bool(event.is_printable) and event.key not in ("enter", "tab")


class KeyGate:
    """Holds typed-ahead keys while the app still reacts to an earlier one (see the module docstring).

    Args:
        app: the app whose queues are watched.
        dispatch: delivers one key or paste as if it had just arrived (the app's own ``on_event``).
        notify: shows a Dutch message to the user (keys dropped before a question).
    """

    def __init__(
        self,
        app: App,
        dispatch: Callable[[events.Event], object],
        notify: Callable[[str], None],
    ) -> None:
        self.app = app
        self._dispatch = dispatch
        self._notify = notify
        self._held: deque[events.Key | events.Paste] = deque()
        self._held_since = 0.0
        self._busy: set[str] = set()
        self._settling = True  # closed until the first screen is up
        self._settle_started = time.monotonic()
        self._screen_before: object = None
        self._draining = False
        self._timer: asyncio.TimerHandle | None = None
        self._idle = asyncio.Event()
        #: Keys dropped before an unasked question, for tests and the log.
        self.dropped = 0

    # -- state ------------------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """True when nothing is held, nothing settles and no look-up is marked busy."""
        return not (self._held or self._settling or self._busy or self._draining)

    async def wait_idle(self) -> None:
        """Wait until :attr:`idle` and the app has nothing left to process — keys posted but not yet
        taken from the app's queue included (tests: "every key typed ahead has landed"; without the
        second condition a loaded machine returned before the first typed-ahead key was looked at)."""
        while not (self.idle and self._quiet()):
            self._idle.clear()
            self._kick()
            await self._idle.wait()

    def busy(self, reason: str, on: bool = True) -> None:
        """Mark (``on``) or clear an explicit reason to hold keys, e.g. ``"adres-zoek"`` while the
        address search waits for the answer an Enter asked for. Idempotent per reason."""
        if on:
            self._busy.add(reason)
            return
        if reason in self._busy:
            self._busy.discard(reason)
            if self._timer is not None:  # maybe the slow watchdog tick: look again now
                self._timer.cancel()
                self._timer = None
            self._kick()

    # -- the app's hooks --------------------------------------------------------------------------

    def hold(self, event: events.Key | events.Paste) -> bool:
        """Called for every key and paste before it is dispatched: True when it was held (the app
        must not dispatch it now). Keys behind held ones are held too, so the order stays. A key
        that is more than an edit also waits until the keys before it have been taken in: a
        shortcut (Ctrl+S) runs in the app at once, while text typed just before it may still sit
        in the field's queue."""
        if self._held or self._settling or self._busy or self._draining:
            self._append(event)
            return True
        if not edits_only(event, self._focused()) and not self._quiet():
            self._append(event)
            self._begin_settle()
            return True
        return False

    def _append(self, event: events.Key | events.Paste) -> None:
        if not self._held:
            self._held_since = time.monotonic()
        self._held.append(event)
        self._kick()

    def _focused(self) -> object:
        try:
            return self.app.focused
        except Exception:  # noqa: BLE001 - no screen yet
            return None

    def dispatched(self, event: events.Key | events.Paste, *, edits: bool) -> None:
        """Called after a key went out: unless it only edited text, settle before the next one."""
        if not edits:
            self._begin_settle()

    def _begin_settle(self) -> None:
        self._settling = True
        self._settle_started = time.monotonic()
        self._screen_before = self._current_screen()
        self._idle.clear()
        self._kick()

    # -- settling ---------------------------------------------------------------------------------

    def _current_screen(self) -> object:
        try:
            return self.app.screen
        except Exception:  # noqa: BLE001 - no screen yet (start-up) or already gone (closing)
            return None

    def _quiet(self) -> bool:
        """The app and every widget of the current screen have nothing left to process."""
        app = self.app
        if app.message_queue_size:
            return False
        screen = self._current_screen()
        if screen is None:
            return False
        if not getattr(screen, "is_mounted", True):
            return False
        for node in screen.walk_children(with_self=True):
            if node.message_queue_size:
                return False
        return True

    def _kick(self) -> None:
        """Look again soon (a loop callback: the queues drain in other tasks meanwhile)."""
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timer = loop.call_later(CHECK_S, self._check)

    def _kick_later(self) -> None:
        """Look again in a second (only the watchdog needs it while a look-up is marked busy)."""
        if self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(1.0, self._check)
            except RuntimeError:
                pass

    def _check(self) -> None:
        self._timer = None
        if self._draining:
            return
        if self._settling:
            overdue = time.monotonic() - self._settle_started > WATCHDOG_S
            if not self._quiet() and not overdue:
                self._kick()
                return
            if overdue:
                log.warning("keygate: queues not quiet after %.0f s; delivering held keys", WATCHDOG_S)
            self._settling = False
            self._drop_before_question()
        if self._busy and self._held and time.monotonic() - self._held_since > WATCHDOG_S:
            log.warning("keygate: %s still busy after %.0f s; delivering held keys", sorted(self._busy), WATCHDOG_S)
            self._busy.clear()
        if self._busy:
            if self._held:
                self._kick_later()
            return  # busy() clears with a kick
        if self._held:
            self._draining = True
            self.app.call_later(self._drain)
        else:
            self._idle.set()

    def _drop_before_question(self) -> None:
        screen = self._current_screen()
        if not self._held or screen is self._screen_before:
            return
        if not getattr(type(screen), "DISCARDS_TYPEAHEAD", False):
            return
        n = sum(1 for e in self._held if isinstance(e, events.Key))
        self._held.clear()
        self.dropped += n
        log.info("keygate: %d typed-ahead keys dropped before %s", n, type(screen).__name__)
        if n:
            what = "toets" if n == 1 else "toetsen"
            self._notify(f"{n} vooruit getypte {what} niet gebruikt: beantwoord eerst deze vraag.")

    async def _drain(self) -> None:
        """Deliver held keys in order until one of them makes the gate settle again (in the app's
        own task, so keys still in the app's queue come after these)."""
        try:
            while self._held and not self._busy:
                event = self._held[0]
                edits = edits_only(event, self._focused())
                if not edits and not self._quiet():
                    self._begin_settle()  # text before this key is still being taken in
                    return
                self._held.popleft()
                await self._dispatch(event)
                if not edits:
                    self._begin_settle()
                    return
        finally:
            self._draining = False
        self._kick()
