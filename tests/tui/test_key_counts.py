"""The keystroke counts of docs/intake.md, typed for real: a phone call (9 keys beyond the typed
text), a street contact (mondeling, only a place description) and a complaint by letter (with the
date it came and the sender's postal address) — each at most 12 (issue 14). Every key is sent at
once, as a fast typist would, and the stored melding is checked."""

from __future__ import annotations

from dataclasses import dataclass

from shared.enums import Kanaal, MeldingType
from shared.gazetteer import load_sample_gazetteer
from wijkteam_store.local import LocalStore
from wijkteam_tui.location.service import LocationLookup
from wijkteam_tui.screens.intake import IntakeScreen

from .conftest import NOW
from .keys import type_ahead
from .test_flow import SIZE


@dataclass(frozen=True)
class T:
    """Typed text: its characters are not counted."""

    text: str


@dataclass(frozen=True)
class K:
    """One counted key (``"enter"``, ``"shift+tab"``, ``"ctrl+s"``, a choice such as ``"r"``)."""

    key: str


def keys_and_count(*steps: T | K) -> tuple[list[str], int]:
    keys: list[str] = []
    counted = 0
    for step in steps:
        if isinstance(step, T):
            keys.extend(step.text)
        else:
            keys.append(step.key)
            counted += 1
    return keys, counted


PHONE_CALL = (
    K("n"), T("Jan Jansen"), K("enter"), T("06-12345678"), K("enter"), T("7721 EJ"), K("enter"), T("12a"),
    K("enter"), T("lamp"), K("enter"), K("2"), T("Lamp kapot"), K("ctrl+s"), K("enter"),
)  # fmt: skip
STREET_CONTACT = (
    K("n"), K("shift+tab"), K("shift+tab"), K("m"), K("m"), T("bij de speeltuin aan de Kerkstraat"), K("enter"),
    T("speeltoestel"), K("enter"), K("3"), T("Schommel hangt scheef"), K("ctrl+s"), K("enter"),
)  # fmt: skip
LETTER = (
    K("n"), K("shift+tab"), K("shift+tab"), K("r"), K("k"), T("20-04-2026"), K("enter"), T("A. Schrijver"),
    K("enter"), T("7721 ej 14"), K("enter"), T("dienstverlening"), K("enter"), K("1"),
    T("Niet teruggebeld over mijn eerdere melding"), K("ctrl+s"), K("enter"),
)  # fmt: skip


async def _type(app_factory, db_path, steps):
    keys, counted = keys_and_count(*steps)
    app = app_factory(location=LocationLookup(load_sample_gazetteer(), online=False))
    async with app.run_test(size=SIZE) as pilot:
        type_ahead(app, keys)
        await app.keygate.wait_idle()
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen), app.screen
        assert app.focused.id == "naam" and app.focused.value == ""  # saved; ready for the next one
    with LocalStore(db_path) as store:
        rows = list(store.iter_rows())
        assert len(rows) == 1, rows
        return store.get(rows[0]["melding_id"]), counted


async def test_phone_call_takes_9_keys(app_factory, db_path):
    m, counted = await _type(app_factory, db_path, PHONE_CALL)
    assert counted == 9
    assert (m.kanaal, m.type) == (Kanaal.TELEFOON, MeldingType.MELDING)
    assert (m.melder.naam, m.adres.huisnummer, m.adres.huisletter) == ("Jan Jansen", 12, "A")
    assert m.categorie == "verlichting/lantaarnpaal" and m.omschrijving == "Lamp kapot"


async def test_street_contact_takes_at_most_12_keys(app_factory, db_path):
    m, counted = await _type(app_factory, db_path, STREET_CONTACT)
    assert counted <= 12 and counted == 10
    assert (m.kanaal, m.type, m.melder) == (Kanaal.MONDELING, MeldingType.MELDING, None)
    assert m.locatie_omschrijving == "bij de speeltuin aan de Kerkstraat"
    assert m.categorie == "spelen/speeltoestel" and m.vier_b.value == "bereikbaarheid"
    assert m.omschrijving == "Schommel hangt scheef"


async def test_letter_takes_at_most_12_keys_with_date_and_postal_address(app_factory, db_path):
    m, counted = await _type(app_factory, db_path, LETTER)
    assert counted <= 12 and counted == 12
    assert (m.kanaal, m.type) == (Kanaal.BRIEF, MeldingType.KLACHT)
    assert m.ontvangen_op.isoformat() == "2026-04-20"
    assert m.melder.naam == "A. Schrijver"
    assert m.melder.postadres.oneline() == "Kerkstraat 14, 7721 EJ Dalfsen"
    assert m.melder.has_contact  # a letter is answered by letter
    assert m.categorie == "overig/dienstverlening"
    # The norm counts from the day the letter came (Monday 20 April), not from the typing (Friday 24).
    from shared.deadlines import deadline

    assert m.deadline == deadline(NOW.replace(day=20), m.servicenorm)
    assert m.adres is None  # a complaint about how we acted: no location needed
