"""shared.search.resident_view: what the resident may be told."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.enums import Status
from shared.model import Adres, Melder
from shared.reference import make_reference
from shared.search import dutch_date, resident_view
from shared.taxonomy import load_taxonomy
from tests.kcc.helpers import make

REG = datetime(2026, 4, 24, 8, 15, tzinfo=UTC)  # Fri 24 Apr 2026, 10:15 in Amsterdam
ADRES = Adres(straat="Kerkstraat", huisnummer=12, huisletter="A", postcode="7721EJ", woonplaats="Dalfsen")
MELDER = Melder(naam="Jan Jansen", telefoon="+31612345678", email="jan@example.nl")


def test_open_melding() -> None:
    _, _, row = make(registered_at=REG, adres=ADRES, melder=MELDER)
    v = resident_view(row)
    assert v.reference == make_reference("DLF", "K7", 142) == "DLF-K7-004E"
    assert v.open is True and v.status == "gemeld" and v.status_text == "Gemeld"
    assert v.registered_date == date(2026, 4, 24)
    # 5 working days after Fri 24 Apr, skipping King's Day (Mon 27 Apr): Mon 4 May 2026.
    assert v.expected_date == date(2026, 5, 4)
    assert v.categorie == "groen/boom" and v.categorie_naam == load_taxonomy().get("groen/boom").label
    assert "4 mei 2026" in v.message
    assert load_taxonomy().get("groen/boom").belofte in v.message
    assert (v.straat, v.woonplaats) == ("Kerkstraat", "Dalfsen")


def test_no_personal_data_and_no_house_number() -> None:
    _, _, row = make(registered_at=REG, adres=ADRES, melder=MELDER, omschrijving="Mevrouw Jansen belde")
    text = repr(resident_view(row))
    for secret in ("Jan Jansen", "612345678", "jan@example.nl", "12", "7721", "Mevrouw"):
        assert secret not in text.replace("2026", "")


def test_closed_with_public_note() -> None:
    _, _, row = make(
        registered_at=REG,
        status=[(Status.IN_BEHANDELING, ""), (Status.AFGEHANDELD, "Tak is weggehaald.")],
    )
    v = resident_view(row)
    assert v.open is False and v.status == "afgehandeld"
    assert v.public_note == "Tak is weggehaald."
    assert v.closed_date is not None
    assert "Tak is weggehaald." in v.message and "afgehandeld" in v.message
    assert "verwachten" not in v.message


def test_uncategorised_has_no_expected_date() -> None:
    _, _, row = make(registered_at=REG, categorie=None)
    v = resident_view(row)
    assert v.expected_date is None and v.categorie_naam is None and v.belofte is None


def test_dutch_date() -> None:
    assert dutch_date(date(2026, 12, 1)) == "1 december 2026"
