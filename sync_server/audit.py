"""Audit of personal-data reads (issue 5): who read a melding's reporter details, when, through what.

Every API answer that shows a melding's reporter contact (name, phone, e-mail) calls
:func:`record_personal_read` before it returns, with the token's user name and role, the melding and
the route. Entries go to the store's ``audit`` table (``at`` UTC, ``actor``, ``action``,
``melding_id``, ``detail``) in their own transaction, so a failed write of the audit fails the read
instead of leaving it unrecorded. The token itself is never written, only whose it is.

``wijkteam-server audit list`` prints them (:func:`configure`, :func:`run_list`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import msgspec

from sync_server.store import ServerStore, TokenInfo

#: The ``action`` of a personal-data read.
PERSONAL_DATA_READ = "persoonsgegevens_gelezen"


class AuditEntry(msgspec.Struct, frozen=True):
    """One audit line: ``at`` (UTC ISO text), ``actor`` (``naam (rol)``), ``action``, ``melding_id``,
    ``reference`` (from the projection, None when the melding is gone) and ``detail`` (the route)."""

    id: int
    at: str
    actor: str
    action: str
    melding_id: str | None
    reference: str | None
    detail: str


def actor_of(info: TokenInfo) -> str:
    """How a token's user is written in the audit: ``"anna (kcc)"``."""
    return f"{info.name} ({info.role.value})"


def os_user() -> str:
    """The operating-system user running this process (``getpass.getuser``), or ``"onbekend"``."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "onbekend"


def cli_actor() -> str:
    """How an admin at the command line is written in the audit: ``"beheer (os: root)"`` (the
    operating-system user; the CLI has no token)."""
    return f"beheer (os: {os_user()})"


def record_cli(store: ServerStore, action: str, detail: str = "", melding_id: str | None = None) -> None:
    """Audit an admin command (backup, restore, import, report with personal data, the AVG commands)
    under :func:`cli_actor`. ``detail`` names what was done, never a person's data."""
    store.audit(cli_actor(), action, melding_id, detail)


def record_personal_read(store: ServerStore, info: TokenInfo, melding_id: str, reference: str, route: str) -> None:
    """Write one audit entry for a read of ``melding_id``'s personal data by ``info`` through ``route``
    (e.g. ``"GET /api/v1/kcc/meldingen/DLF-K7-0142"``)."""
    store.audit(actor_of(info), PERSONAL_DATA_READ, melding_id, f"{reference} via {route}")


def record_search_reads(store: ServerStore, info: TokenInfo, hits: list[tuple[str, str]], searched_on: str, route: str) -> None:
    """Audit a KCC search that found meldingen *by personal data* (a phone number, a name, or free
    text, which also matches the melder's name): the agent learned each melding's address from
    that, so each hit is recorded like a detail read, in one transaction.

    Args:
        hits: ``(melding_id, reference)`` per result.
        searched_on: the key, e.g. ``"telefoon"`` (never the search term itself: it is the personal
            data).
        route: e.g. ``"POST /api/v1/kcc/search"``.
    """
    if hits:
        detail = f"via zoeken op {searched_on} ({route})"
        store.audit_many(actor_of(info), PERSONAL_DATA_READ, [(mid, f"{ref} {detail}") for mid, ref in hits])


def list_entries(
    store: ServerStore,
    *,
    reference: str | None = None,
    actor: str | None = None,
    action: str | None = PERSONAL_DATA_READ,
    limit: int = 100,
    melding_ids: Sequence[str] | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[AuditEntry]:
    """Audit entries of ``store``, newest first.

    Args:
        reference: only entries about the melding with this reference.
        actor: only entries whose actor starts with this user name (``anna`` matches ``anna (kcc)``;
            ``beheer`` every admin command).
        action: only this action (default personal-data reads; None: every action).
        limit: at most this many entries.
        melding_ids: only entries about these meldingen (a person's: ``ServerStore.find_person``).
        since / until: only entries at or after / before these instants (UTC ISO text, as stored).
    """
    rows = store.audit_rows(
        reference=reference, actor=actor, action=action, limit=limit, melding_ids=melding_ids, since=since, until=until
    )
    return [AuditEntry(*row) for row in rows]


def configure(sub: Any) -> None:
    """Add ``audit list`` to the ``wijkteam-server`` subcommands (``sync_server.cli.COMMANDS``)."""
    from sync_server.cli_common import add_command

    audit = sub.add_parser(
        "audit", help="auditlog: wie las persoonsgegevens van welke melding, en wat de beheerder deed",
        description="auditlog",
    )
    sub_audit = audit.add_subparsers(dest="audit_command", required=True, metavar="{list}")
    lst = add_command(sub_audit, "list", "toon de laatste inzagen van persoonsgegevens (nieuwste eerst)")
    lst.add_argument("--referentie", dest="reference", help="alleen deze melding (bv. DLF-K7-0142)")
    lst.add_argument("--gebruiker", dest="actor", help="alleen deze gebruiker ('beheer': de beheeropdrachten)")
    person = lst.add_argument_group("persoon (alle meldingen waarin deze persoon voorkomt)")
    person.add_argument("--telefoon", help="telefoonnummer, in elke schrijfwijze")
    person.add_argument("--email", help="e-mailadres")
    person.add_argument("--naam", help="naam")
    lst.add_argument("--van", help="vanaf deze dag (JJJJ-MM-DD, Nederlandse tijd)")
    lst.add_argument("--tot", help="tot en met deze dag (JJJJ-MM-DD, Nederlandse tijd)")
    lst.add_argument("--alles", action="store_true", help="alle acties, niet alleen inzage van persoonsgegevens")
    lst.add_argument("--limit", type=int, default=100, help="hoogstens zoveel regels (standaard 100)")
    lst.add_argument("--json", action="store_true", help="één JSON-object per regel")
    lst.set_defaults(func=run_list)


def day_bounds(van: str | None, tot: str | None) -> tuple[str | None, str | None]:
    """``--van``/``--tot`` days (``JJJJ-MM-DD``, Europe/Amsterdam) as the audit's UTC text bounds
    ``[start of van, start of the day after tot)``.

    Raises:
        ValidationError: a day that is not ``JJJJ-MM-DD``.
    """
    from datetime import date, datetime, time, timedelta

    from shared.deadlines import AMS
    from shared.errors import ValidationError
    from shared.projection import iso

    def start(text: str, field: str, plus: int) -> str:
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise ValidationError(field, f"{text!r} is geen dag als 2027-03-31.") from None
        return iso(datetime.combine(day + timedelta(days=plus), time(0), tzinfo=AMS)) or ""

    return (start(van, "van", 0) if van else None, start(tot, "tot", 1) if tot else None)


def run_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``wijkteam-server audit list``: print entries, newest first. Exit code 0; 2 for a malformed
    ``--referentie``, person or day."""
    from shared.avg import person
    from shared.errors import ValidationError
    from shared.reference import normalise_reference
    from sync_server.cli_common import open_store

    out = out or sys.stdout
    reference = getattr(args, "reference", None)
    wanted = None
    try:
        if reference:
            reference = normalise_reference(reference)
        if any(getattr(args, k, None) for k in ("telefoon", "email", "naam")):
            wanted = person(telefoon=args.telefoon, email=args.email, naam=args.naam)
        since, until = day_bounds(getattr(args, "van", None), getattr(args, "tot", None))
    except ValidationError as exc:
        print(f"Fout: {exc.message}", file=sys.stderr)
        return 2
    store = open_store(args)
    try:
        ids = sorted(store.find_person(wanted)) if wanted is not None else None
        entries = list_entries(
            store,
            reference=reference,
            actor=getattr(args, "actor", None),
            action=None if getattr(args, "alles", False) else PERSONAL_DATA_READ,
            limit=max(1, getattr(args, "limit", 100) or 100),
            melding_ids=ids,
            since=since,
            until=until,
        )
    finally:
        store.close()
    if getattr(args, "json", False):
        for e in entries:
            out.write(msgspec.json.encode(e).decode() + "\n")
        return 0
    if not entries:
        out.write("Geen auditregels gevonden.\n")
        return 0
    for e in entries:
        out.write(f"{e.at}\t{e.actor}\t{e.action}\t{e.reference or e.melding_id or '-'}\t{e.detail}\n")
    return 0
