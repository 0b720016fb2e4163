"""The one rule set for text and values that enter (issue 11 §3): typed input is cleaned, events
arriving by sync are checked, every field of every event carries its rule."""

from __future__ import annotations

import types
import typing
from datetime import UTC, datetime

import msgspec
import pytest

from shared import commands
from shared.errors import InvalidEvent, ValidationError
from shared.events import PAYLOAD_TYPES, Event, MeldingFields, validate_event
from shared.fold import fold
from shared.hlc import HLC
from shared.model import Adres, Melder
from shared.validation import (
    MAX_INT64,
    MAX_NAME_LENGTH,
    clean_line,
    clean_text,
    field_rules,
    for_terminal,
    strip_for_display,
)

ESC_TITLE = "\x1b]0;overgenomen\x07"


@pytest.mark.parametrize(
    ("raw", "line", "text"),
    [
        ("Jan\x1b[2J Jansen", "Jan[2J Jansen", "Jan[2J Jansen"),
        ("Jan\nJansen\r\n", "Jan Jansen", "Jan\nJansen"),
        ("Kerk\tstraat", "Kerk straat", "Kerk\tstraat"),
        ("a\u2028b", "a b", "a\nb"),
        ("ref \u202eKO-7K-FLD", "ref KO-7K-FLD", "ref KO-7K-FLD"),  # a bidi override reorders the shown text
        ("NUL\x00 en CSI\x9b", "NUL en CSI", "NUL en CSI"),
        ("🌳 é e\u0301", "🌳 é e\u0301", "🌳 é e\u0301"),
    ],
)
def test_a_line_and_a_text_are_cleaned_by_their_own_rule(raw, line, text):
    assert clean_line(raw, "f", max_length=200) == line
    assert clean_text(raw, "f") == text


def test_a_line_is_refused_when_too_long_after_cleaning():
    assert clean_line("x" * MAX_NAME_LENGTH + "\x1b", "naam", max_length=MAX_NAME_LENGTH) == "x" * MAX_NAME_LENGTH
    with pytest.raises(ValidationError) as exc:
        clean_line("x" * (MAX_NAME_LENGTH + 1), "naam", max_length=MAX_NAME_LENGTH)
    assert exc.value.field == "naam" and str(MAX_NAME_LENGTH) in exc.value.message


def _scalar_types(hint) -> set[type]:
    """The text/integer/instant types a field may hold directly (through Annotated and unions; a
    ``dict`` payload is checked as its typed payload instead)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        return _scalar_types(args[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_scalar_types(a) for a in args))
    return {hint} if hint in (str, int, datetime) else set()


@pytest.mark.parametrize("kind", sorted({Event, MeldingFields, Melder, Adres, *PAYLOAD_TYPES.values()}, key=str))
def test_every_text_integer_and_instant_field_carries_its_rule(kind):
    """A field added later without a rule would let control characters or unstorable integers in."""
    hints = typing.get_type_hints(kind, include_extras=True)
    rules = dict(field_rules(kind))
    unruled = [name for name in kind.__struct_fields__ if _scalar_types(hints[name]) and rules[name] is None]
    assert unruled == []


def _created(**fields) -> Event:
    dev = commands.DeviceClock("K7", "jan", hlc=HLC())
    return commands.register(dev, prefix="DLF", counter=1, fields=MeldingFields(omschrijving="Tegel los"), **fields)


def _with(event: Event, path: tuple[str, ...], value) -> Event:
    """``event`` with one value replaced at ``path`` (envelope field, or inside the payload)."""
    if path[0] != "payload":
        return msgspec.structs.replace(event, **{path[0]: value})
    payload = msgspec.json.decode(msgspec.json.encode(event.payload))
    node = payload
    for key in path[1:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return msgspec.structs.replace(event, payload=payload)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("payload", "fields", "omschrijving"), "Boom " + ESC_TITLE, "payload.fields.omschrijving"),
        (("payload", "fields", "melder", "naam"), "Piet\nJansen", "payload.fields.melder.naam"),
        (("payload", "fields", "adres", "straat"), "Kerk\x00straat", "payload.fields.adres.straat"),
        (("payload", "fields", "locatie_omschrijving"), "x" * 201, "payload.fields.locatie_omschrijving"),
        (("payload", "fields", "adres", "huisnummer"), 2**63, "payload.fields.adres.huisnummer"),
        (("payload", "fields", "servicenorm"), 10**12, "payload.fields.servicenorm"),
        (("payload", "registered_at"), "9999-12-31T00:00:00Z", "payload.registered_at"),
        (("payload", "reference"), "DLF-\u202eK7", "payload.reference"),
        (("user",), "jan" + ESC_TITLE, "user"),
        (("event_id",), "x" * 65, "event_id"),
        (("device_seq",), 2**63, "device_seq"),
        (("hlc",), MAX_INT64 + 1, "hlc"),
    ],
)
def test_an_event_that_breaks_a_rule_is_invalid_and_the_reason_names_the_field(path, value, field):
    good = _created()
    validate_event(good)
    with pytest.raises(InvalidEvent) as exc:
        validate_event(_with(good, path, value))
    assert exc.value.reason.startswith(field + ":")


def test_a_text_keeps_its_newlines_and_tabs_on_the_wire():
    validate_event(_with(_created(), ("payload", "fields", "omschrijving"), "regel 1\n\tregel 2"))


def test_commands_clean_what_a_form_or_an_import_hands_them():
    e = _created()
    dev = commands.DeviceClock("K7", "jan", hlc=HLC())
    fields = MeldingFields(
        omschrijving="Boom" + ESC_TITLE + " om\r\nweg",
        locatie_omschrijving="bij de\nspeeltuin",
        melder=Melder(naam="Piet\x1b[2J\tJansen"),
        adres=Adres(straat="Kerk\x00straat", huisnummer=1, woonplaats="Dalf\x9bsen"),
    )
    e = commands.register(dev, prefix="DLF", counter=2, fields=fields)
    m = fold([e])
    assert m.omschrijving == "Boom]0;overgenomen om\nweg"
    assert m.locatie_omschrijving == "bij de speeltuin"
    assert m.melder.naam == "Piet[2J Jansen"
    assert (m.adres.straat, m.adres.woonplaats) == ("Kerkstraat", "Dalfsen")


def test_an_old_event_with_control_characters_still_folds_with_its_meaning():
    """Events stored before the rules are not dropped: they fold as they are; the screens clean what
    they draw (wijkteam_tui.safe_display)."""
    legacy = _with(_created(), ("payload", "fields", "omschrijving"), "Boom" + ESC_TITLE)
    assert fold([legacy]).omschrijving == "Boom" + ESC_TITLE


def test_display_and_terminal_forms():
    assert strip_for_display("a\x1b[2Jb\u202ec\x07") == "a[2Jbc"
    assert strip_for_display("plain") == "plain"
    assert for_terminal("a\x1b[2J\tb\nc\u202e") == "a\\x1b[2J\tb\nc\\u202e"


def test_instants_keep_their_zone_rule():
    e = _created(registered_at=datetime(2026, 4, 24, 8, 15, tzinfo=UTC))
    validate_event(e)
