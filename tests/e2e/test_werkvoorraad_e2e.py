"""The werkvoorraad across laptops (issue 14 §1), end to end with a real ``wijkteam-server``: an
assignment made on one laptop is an event like any other — it reaches the server and the other
laptop, lands in the colleague's werkvoorraad there, and the history says who assigned whom; the
laptop learns its own user name from the server (``GET /api/v1/me``, CONTRACTS §5)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shared import commands
from shared.events import MeldingFields
from tests.e2e.conftest import Laptop, ServerProcess
from tests.e2e.replicas import assert_replicas_equal
from wijkteam_tui.app import fetch_user_name
from wijkteam_tui.sync_client import sync_once

pytestmark = pytest.mark.e2e


def test_an_assignment_syncs_into_the_colleagues_werkvoorraad(
    server: ServerProcess, make_laptop: Callable[[str], Laptop]
) -> None:
    anna, bram = make_laptop("anna"), make_laptop("bram")
    # each laptop learns its user name from the server: the name meldingen are assigned to
    assert fetch_user_name(server.url, anna.token) == "anna"
    assert fetch_user_name(server.url, bram.token) == "bram"
    assert fetch_user_name(server.url, "geen-token") is None

    dev = anna.store.device_clock("anna")
    m = anna.store.register(dev, prefix="DLF", fields=MeldingFields(omschrijving="tegel los", categorie="verharding/losse_tegel"))
    anna.store.append([commands.assign(dev, anna.store.get(m.melding_id), "bram")], dev)
    for lap in (anna, bram):
        sync_once(lap.store, server.url, lap.token)

    counts, rows = bram.store.werkvoorraad(behandelaar="bram")
    assert [r["reference"] for group in rows.values() for r in group] == [m.reference]
    assert sum(counts.values()) == 1
    assert sum(bram.store.werkvoorraad(behandelaar="anna")[0].values()) == 0
    state = bram.store.get(m.melding_id)
    assert state is not None and state.behandelaar == "bram" and not state.aan_team
    line = next(h for h in state.history if "Toegewezen" in h.summary)
    assert line.summary == "Toegewezen aan bram" and line.user == "anna"
    # the server's projection agrees with both laptops
    rows_all = assert_replicas_equal(anna.path, bram.path, server.db)
    assert rows_all[m.melding_id]["behandelaar"] == "bram"

    # bram hands it to the team (holiday cover); anna sees that after her next sync
    dev_b = bram.store.device_clock("bram")
    bram.store.append([commands.assign(dev_b, state, None, aan_team=True)], dev_b)
    for lap in (bram, anna):
        sync_once(lap.store, server.url, lap.token)
    again = anna.store.get(m.melding_id)
    assert again is not None and again.behandelaar is None and again.aan_team
    assert sum(anna.store.werkvoorraad(behandelaar="bram")[0].values()) == 0
