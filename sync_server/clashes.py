"""Look-ups by reference that never silently pick one of two meldingen (reference clashes).

A reference is unique by construction (``shared.reference``), but a device code issued twice, a
restored backup or a hand-made import can still put one reference on two meldingen; the store then
flags the pair in ``reference_clashes`` (``wijkteam-server clashes list``). The look-ups by reference
(the resident's public status, the KCC detail) take *every* live melding with the reference
(``ServerStore.live_by_reference``) and treat more than one as a clash (:class:`ReferenceClash`) rather
than answering for the newest: the public route says so in Dutch, the KCC route lists them all
(docs/kcc.md, "Dubbele referenties").

The projection is the truth here, not the ``reference_clashes`` table: a clash the admin resolved by
deleting one of the two meldingen answers normally again, without editing the table.
"""

from __future__ import annotations

from typing import Any

#: What the resident is told when their reference belongs to more than one melding.
PUBLIC_CLASH_MESSAGE = (
    "Dit nummer hoort bij meer dan één melding; wij kunnen de status daarom niet tonen. "
    "Neem contact op met de gemeente en noem dit nummer, dan zoeken wij uw melding op."
)


class ReferenceClash(Exception):
    """More than one live melding has ``reference``.

    Attributes:
        reference: the canonical reference (``DLF-K7-0142``).
        rows: the projection rows (``shared.projection.COLUMNS``) of every live
            melding with this reference, newest registration first; at least two.
    """

    def __init__(self, reference: str, rows: list[dict[str, Any]]) -> None:
        super().__init__(f"reference {reference} belongs to {len(rows)} meldingen")
        self.reference = reference
        self.rows = rows


def the_one(store: Any, reference: str, melding_id: str | None = None) -> dict[str, Any] | None:
    """The one live melding with ``reference`` (projection row), or None when there is none.

    Args:
        store: the server store (``ServerStore.live_by_reference``).
        reference: canonical form (``shared.reference.normalise_reference``).
        melding_id: picks one of several meldingen that share the reference (the KCC chose it from
            the list a clash answers with); a melding_id that does not carry this reference is None.

    Raises:
        ReferenceClash: more than one live melding has the reference and ``melding_id`` is not given.
    """
    rows = store.live_by_reference(reference)
    if melding_id is not None:
        rows = [r for r in rows if r["melding_id"] == melding_id]
    if len(rows) > 1:
        raise ReferenceClash(reference, rows)
    return rows[0] if rows else None
