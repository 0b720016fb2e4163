"""Giving a melding to someone (issue 14 §1): me, a colleague, the wijk's team or nobody, chosen
with one key and stored as an ``assigned`` event (``shared.commands.assign``) that syncs like any
other; the melding's history then says who assigned whom. Used by the werkvoorraad and the melding
screen (kept apart from both so neither screen imports the other)."""

from __future__ import annotations

from typing import Any

from wijkteam_tui.fmt import wijk_label


def colleagues(app: Any, me: str) -> list[str]:
    """Everyone a melding can go to besides ``me``: the wijkuitvoerders of the configuration and
    everyone meldingen are assigned to here, sorted."""
    from shared.wijken import load_wijken

    wijken = getattr(app, "wijken", None) or load_wijken()
    names = {u for w in wijken.wijken for u in w.wijkuitvoerders} | set(app.store.behandelaars())
    names.discard(me)
    return sorted(names, key=str.casefold)


def assign_melding(app: Any, melding_id: str, *, after=None) -> None:
    """Ask to whom ``melding_id`` goes (me, a colleague, the team, nobody) and store an ``assigned``
    event; the history shows who assigned whom."""
    from shared import commands
    from shared.errors import ValidationError
    from wijkteam_store.local import StoreError
    from wijkteam_tui.screens.choice import ChoiceModal, digit_keys

    state = app.store.get(melding_id)
    if state is None:
        return
    me = app.config.user
    options: list[tuple[str, str, tuple[str | None, bool]]] = [("m", f"Mij ({me})", (me, False))]
    team = f"Het team ({wijk_label(state.wijk)})" if state.wijk else "Het team"
    options += [("t", team, (None, True)), ("x", "Niet toegewezen", (None, False))]
    # The first nine colleagues by a digit; everyone after them with ↑↓ Enter (no one unreachable).
    for key, name in digit_keys(colleagues(app, me)):
        options.append((key, name, (name, False)))

    def chosen(value: tuple[str | None, bool] | None) -> None:
        if value is None:
            return
        behandelaar, aan_team = value
        try:
            current = app.store.get(melding_id)
            dev = app.store.device_clock(app.config.user, clock=app.hlc_clock)
            app.store.append([commands.assign(dev, current, behandelaar, aan_team=aan_team)], dev)
        except (StoreError, ValidationError) as exc:
            app.notify(exc.message, severity="warning")
            return
        app.after_save()
        app.notify(f"{state.reference} is toegewezen aan {behandelaar or ('het team' if aan_team else 'niemand')}.")
        if after is not None:
            after()

    title = f"{state.reference} toewijzen (nu: {state.assignment_text()})"
    app.push_screen(ChoiceModal(title, options), chosen)


__all__ = ["assign_melding", "colleagues"]
