"""What every full screen of the app shares: the footer shows *Help* and *Stoppen* first.

Textual's footer lists the keys of the focused widget, then the screen's, then the app's, and cuts
off what does not fit; at 80 columns the app's F1 and Ctrl+Q fell off the end. A user who does not
know a key must always see how to find it (F1) and how to leave (Ctrl+Q) — issue 14 §2.
"""

from __future__ import annotations

from textual.binding import ActiveBinding
from textual.screen import Screen

#: Keys the footer shows before all others, in this order.
FIRST_KEYS = ("f1", "ctrl+q")


class WijkteamScreen(Screen):
    """A ``Screen`` whose footer starts with F1 (Help) and Ctrl+Q (Stoppen)."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The screen's active bindings with :data:`FIRST_KEYS` moved to the front (the footer shows
        them in this order); otherwise exactly Textual's."""
        bindings = super().active_bindings
        first = {key: bindings[key] for key in FIRST_KEYS if key in bindings}
        return {**first, **{k: v for k, v in bindings.items() if k not in first}}
