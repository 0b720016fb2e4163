"""A question answered with one key (issue 14: the werkvoorraad switch, assignment): a small modal
of its own, depending on nothing of the app, so any screen can open it without an import loop."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option


class ChoiceModal(ModalScreen[Any]):
    """Pick one of a few options, each with its own key (shown before it); ↑/↓ and Enter work too,
    Escape picks nothing (None). Opened by the user's own key, so keys typed after that key are
    meant for it (no ``DISCARDS_TYPEAHEAD``): "w m" typed fast switches to "Mijn werkvoorraad".

    Args:
        title: the question.
        options: ``(key, label, value)``; the modal dismisses with ``value``. An option with key
            ``""`` is chosen with ↑↓ Enter only.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Annuleren", id="choice.cancel")]

    DEFAULT_CSS = """
    ChoiceModal OptionList { height: auto; max-height: 16; }
    """

    def __init__(self, title: str, options: list[tuple[str, str, Any]]) -> None:
        super().__init__()
        self.title_text = title
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield OptionList(
                *(Option(Text.assemble((key or " ", "bold underline"), f"  {label}"), id=str(i))
                  for i, (key, label, _v) in enumerate(self.options)),
                id="keuze",
            )  # fmt: skip
            yield Static(Text("Toets of ↑↓ Enter · Esc annuleren"), classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def on_key(self, event: events.Key) -> None:
        for key, _label, value in self.options:
            if key and event.character == key:
                event.stop()
                event.prevent_default()
                self.dismiss(value)
                return

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.options[int(event.option.id or 0)][2])

    def action_cancel(self) -> None:
        self.dismiss(None)


def digit_keys(names: list[str]) -> list[tuple[str, str]]:
    """``(key, name)`` for a :class:`ChoiceModal`: ``1``–``9`` for the first nine names, ``""``
    (↑↓ Enter only) for the rest, so a long list of colleagues leaves nobody unreachable."""
    return [(str(i) if i <= 9 else "", name) for i, name in enumerate(names, start=1)]
