"""Nothing the TUI draws reaches the terminal with a control character in it.

Stored text may hold ESC sequences: events pushed before the server checked the text rules
(``shared.validation``), or text from an older server. Written raw, such a sequence clears the
screen of the laptop that shows it or sets its terminal's title. Rather than trusting every widget
and every call site to clean its text, :class:`ControlCharacterFilter` is a Textual line filter that
every widget's rendered lines pass through (``WijkteamApp.get_line_filters``), so also text that
arrived before the rules, KCC answers and server messages are drawn without them.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from shared.validation import strip_for_display


class ControlCharacterFilter(LineFilter):
    """Removes every control character (``shared.validation.strip_for_display``) from the text of
    each rendered segment; styles and control segments of Textual itself are kept. Widths do not
    change: control characters take no cell."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        """The segments with their text cleaned (the same list objects when nothing needed it)."""
        out: list[Segment] | None = None
        for i, seg in enumerate(segments):
            text = seg.text
            clean = strip_for_display(text)
            if clean is not text:
                if out is None:
                    out = list(segments[:i])
                out.append(Segment(clean, seg.style, seg.control))
            elif out is not None:
                out.append(seg)
        return segments if out is None else out
