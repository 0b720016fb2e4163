"""Errors of the domain core, each carrying a Dutch message that can be shown to the user as is."""

from __future__ import annotations


class ValidationError(ValueError):
    """A value a user typed (or a client sent) is not acceptable.

    ``field`` names the melding field concerned (e.g. ``"postcode"``) so that a form can put
    ``message`` next to the right input; ``message`` is Dutch and fit to show to a wijkuitvoerder.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class TransitionError(ValidationError):
    """A status change that the transition table (``shared.status``) does not allow."""


class InvalidEvent(ValueError):
    """An event that cannot be applied: wrong shape, unknown type, or values out of range.

    The sync server quarantines such an event with ``reason``; it never blocks the rest of a batch.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
