"""``wijkteam-server avg``: personal data under the AVG (issue 16; docs/privacy.md).

* ``avg retention [--dry-run]``: apply the municipality's retention periods (the ``bewaartermijnen`` of
  the municipality configuration): anonymise the melder N days after closure, remove meldingen M
  years after closure per status, keeping an anonymous statistical record (``shared.avg``). Shows
  per rule what is due, then does it. Idempotent: safe to run daily (docs/server.md has a systemd timer).
* ``avg inzage --telefoon|--email|--naam VALUE [--uit MAP]``: a resident's request to see what is
  held about them: every melding they reported or are named in, the history, the call-backs and the
  audit entries of who read their data, as JSON, HTML and PDF files.
* ``avg wissen --telefoon|--email|--naam VALUE | --referentie REF [--yes] [--ook-genoemd]``: a
  resident's request to be forgotten: anonymises those meldingen everywhere, after a confirmation.

Every command is written to the audit under the operating-system user (``sync_server.audit.cli_actor``),
without the searched value: an audit line never repeats the data it is about.
"""

from __future__ import annotations

import argparse
import html
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import msgspec

from shared.avg import (
    PersonalValues,
    RetentionAction,
    RetentionPolicy,
    event_melders,
    event_texts,
    melder_matches,
    mentions,
    person,
    retention_due,
)
from shared.enums import EventType
from shared.errors import ValidationError
from shared.model import Melder
from shared.validation import format_phone
from sync_server import audit
from sync_server.store import ServerStore, StoreError

#: Audit actions of the AVG commands.
AUDIT_RETENTION = "avg_bewaartermijn"
AUDIT_INZAGE = "avg_inzage"
AUDIT_WISSEN = "avg_wissen"


# -- retention ----------------------------------------------------------------------------------------


def retention_policy(store: ServerStore) -> RetentionPolicy:
    """The retention part of the municipality configuration in force on this server.

    Raises:
        StoreError: this server has no municipality configuration module (issue 13) yet.
    """
    try:
        from sync_server import gemeente_config
    except ImportError:
        raise StoreError(
            "Deze versie van wijkteam-server kent de gemeenteconfiguratie (bewaartermijnen) nog niet."
        ) from None
    return gemeente_config.stored(store).config.bewaartermijnen


def run_retention(
    store: ServerStore, policy: RetentionPolicy, now: datetime, *, dry_run: bool, out: TextIO
) -> list[RetentionAction]:
    """Show per rule what the retention ``policy`` makes due at ``now``, then (unless ``dry_run``) do it.

    Returns:
        The actions that were due (done unless ``dry_run``).
    """
    due = retention_due(store.retention_candidates(), policy, now)
    by_rule: dict[str, list[RetentionAction]] = {}
    for a in due:
        by_rule.setdefault(a.rule, []).append(a)
    when = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out.write(
        f"Bewaartermijnen op {when}: melder anonimiseren {policy.anonimiseren_na_dagen} dagen na sluiting; "
        + (
            "verwijderen "
            + ", ".join(f"{k} na {v} jaar" for k, v in sorted(policy.verwijderen_na_jaren.items()))
            if policy.verwijderen_na_jaren
            else "niets verwijderen"
        )
        + ".\n"
    )
    if not due:
        out.write("Niets te doen: geen melding heeft zijn bewaartermijn bereikt.\n")
        return due
    for rule, actions in sorted(by_rule.items()):
        refs = ", ".join(a.reference for a in actions[:8]) + (f" en {len(actions) - 8} meer" if len(actions) > 8 else "")
        out.write(f"  {rule}: {len(actions)} melding(en) ({refs})\n")
    if dry_run:
        out.write("Proefdraai (--dry-run): er is niets veranderd.\n")
        return due
    actor = audit.cli_actor()
    for kind in (EventType.PURGED, EventType.REPORTER_ANONYMISED):
        ids = [a.melding_id for a in due if a.event_type == kind]
        if not ids:
            continue
        rules = sorted({a.rule for a in due if a.event_type == kind})
        made = store.erase(ids, kind, f"Bewaartermijn: {'; '.join(rules)}.", actor=actor)
        audit.record_cli(store, AUDIT_RETENTION, f"{len(made)} × {kind.value} ({'; '.join(rules)})")
    _after_erasure(store)
    out.write(
        f"Gedaan: {len(due)} melding(en). Elke laptop neemt het over bij zijn volgende sync; "
        "reservekopieën houden wat zij bevatten tot zij verlopen (docs/privacy.md).\n"
    )
    return due


def _retention(args: argparse.Namespace) -> int:
    from sync_server.cli_common import open_store

    now = datetime.now(UTC)
    if args.nu:
        try:
            now = datetime.fromisoformat(args.nu)
        except ValueError:
            print(f"Fout: --nu {args.nu!r} is geen tijdstip als 2027-03-31T02:00+02:00.", file=sys.stderr)
            return 2
        if now.tzinfo is None:
            print("Fout: --nu heeft een tijdzone nodig (bijvoorbeeld +02:00 of Z).", file=sys.stderr)
            return 2
    store = open_store(args)
    try:
        run_retention(store, retention_policy(store), now, dry_run=args.dry_run, out=sys.stdout)
    finally:
        store.close()
    return 0


def _after_erasure(store: ServerStore) -> None:
    """Delete the laptop snapshots that predate the erasure (``sync_server.snapshot.discard_before``);
    a running server builds a clean one within its check interval."""
    from sync_server.server_config import SettingsError, load_settings
    from sync_server.snapshot import discard_before, snapshot_dir

    try:
        configured = load_settings(options={"db": str(store.location)})[0].snapshot_dir
    except SettingsError:
        configured = None  # the settings file is checked where the server starts; the default here
    folder = snapshot_dir(store.path, configured)
    if folder.is_dir():
        discard_before(folder, store.erasure_seq())


# -- inzage -------------------------------------------------------------------------------------------


class Vermelding(msgspec.Struct):
    """One melding in an inzage: what it is, the person's own details as recorded, the texts, the
    history without other people's data, and who read the personal data (the audit)."""

    referentie: str
    rol: str  # "melder" or "genoemd" (only a text names them)
    geregistreerd_op: str
    status: str
    type: str
    kanaal: str
    categorie: str
    wijk: str
    locatie: str
    uw_gegevens: list[dict[str, Any]]
    teksten: list[dict[str, Any]]
    terugkoppelingen: list[dict[str, Any]]
    historie: list[dict[str, Any]]
    inzage_door: list[dict[str, Any]]
    geanonimiseerd_op: str | None = None

    def sections(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """The lists of the melding with their Dutch titles, in the order the documents show them."""
        return [
            ("Uw gegevens zoals vastgelegd", self.uw_gegevens),
            ("Teksten", self.teksten),
            ("Terugkoppelingen aan u", self.terugkoppelingen),
            ("Historie", self.historie),
            ("Wie uw gegevens inzag of bewerkte", self.inzage_door),
        ]


class Inzage(msgspec.Struct):
    """Everything the server holds about one person (``avg inzage``), in Dutch for the resident."""

    gemeente: str
    gemaakt_op: str
    gezocht_op: str
    meldingen: list[Vermelding]
    geweigerde_wijzigingen: int
    toelichting: str


def _melder_text(m: Any) -> dict[str, Any]:
    try:
        melder = msgspec.convert(m, Melder)
    except (msgspec.ValidationError, TypeError, ValueError):
        return {}
    out: dict[str, Any] = {}
    if melder.naam:
        out["naam"] = melder.naam
    if melder.telefoon:
        out["telefoon"] = format_phone(melder.telefoon)
    if melder.email:
        out["email"] = melder.email
    if melder.postadres:
        out["postadres"] = melder.postadres.oneline()
    if melder.gewist:
        out["gewist"] = True
    return out


def build_inzage(store: ServerStore, wanted: PersonalValues, searched_on: str, gemeente: str = "") -> Inzage:
    """The inzage of the person ``wanted`` describes: every melding :meth:`ServerStore.find_person`
    finds. Other residents' details never appear (another melder of the same melding, a melding
    where the person is only named: there only the texts that name them)."""
    from shared.taxonomy import load_taxonomy
    from sync_server.search import hit_from_row

    taxonomy = load_taxonomy()
    found = store.find_person(wanted)
    items: list[Vermelding] = []
    for mid, rol in found.items():
        events = store.events_of(mid)
        m = store.melding(mid)
        row = store.projection(mid)
        if m is None or row is None:
            continue
        hit = hit_from_row(row, taxonomy)
        own: list[dict[str, Any]] = []
        own_melders: set[str | None] = set()
        for e in sorted(events, key=lambda e: e.order_key):
            for value in event_melders(e):
                if melder_matches(value, wanted):
                    own.append({"vastgelegd_op": _at(e.hlc), **_melder_text(value)})
                    own_melders.add(None if e.type != EventType.MELDER_ADDED else e.event_id)
        if rol == "melder":
            texts = [{"soort": "omschrijving", "tekst": m.omschrijving}] if m.omschrijving else []
            texts += [
                {"soort": "notitie" + (" (voor melder)" if n.openbaar else ""), "op": n.at.isoformat(), "tekst": n.tekst}
                for n in m.notes
            ]
            callbacks = [
                {"op": t.at.isoformat(), "via": t.kanaal.label, "bereikt": t.bereikt, "tekst": t.tekst}
                for t in m.terugkoppelingen
                if t.melder in own_melders
            ]
            history = [{"op": h.at.isoformat(), "door": h.user, "wat": h.summary} for h in m.history]
        else:
            texts = [
                {"soort": "tekst waarin u genoemd wordt", "op": _at(e.hlc), "tekst": t}
                for e in events
                for t in event_texts(e)
                if mentions(t, wanted)
            ]
            callbacks, history = [], []
        reads = audit.list_entries(store, action=None, melding_ids=[mid], limit=10_000)
        items.append(
            Vermelding(
                referentie=m.reference,
                rol=rol,
                geregistreerd_op=m.registered_at.isoformat(),
                status=m.status.label,
                type=m.type.label,
                kanaal=m.kanaal.label,
                categorie=hit.categorie_naam or "",
                wijk=hit.wijk_naam or "",
                locatie=m.location_text(),
                uw_gegevens=own,
                teksten=texts,
                terugkoppelingen=callbacks,
                historie=history,
                inzage_door=[{"op": r.at, "door": r.actor, "actie": r.action, "toelichting": r.detail} for r in reads],
                geanonimiseerd_op=m.anonymised_at.isoformat() if m.anonymised_at else None,
            )
        )
    items.sort(key=lambda v: v.geregistreerd_op)
    return Inzage(
        gemeente=gemeente,
        gemaakt_op=datetime.now(UTC).isoformat(timespec="seconds"),
        gezocht_op=searched_on,
        meldingen=items,
        geweigerde_wijzigingen=len(store.quarantine_holding(wanted)),
        toelichting=(
            "Dit zijn alle meldingen over de openbare ruimte waarin uw naam, telefoonnummer, e-mailadres of "
            "postadres is vastgelegd, of waarin een tekst u noemt, met wie uw gegevens heeft ingezien. "
            "Gegevens van andere bewoners staan er niet in. Contactgegevens worden een jaar na het sluiten "
            "van een melding geanonimiseerd; zie de privacyverklaring van de gemeente."
        ),
    )


def _at(hlc: int) -> str:
    from shared.hlc import stamp_datetime

    return stamp_datetime(hlc).isoformat()


def inzage_html(doc: Inzage) -> str:
    """The inzage as a readable, self-contained HTML page (prints on A4). Every value is escaped."""
    e = html.escape
    parts = [
        "<!doctype html><html lang='nl'><head><meta charset='utf-8'>",
        f"<title>Inzage persoonsgegevens {e(doc.gemeente)}</title>",
        "<style>body{font-family:sans-serif;max-width:48em;margin:2em auto;line-height:1.4}"
        "h2{border-bottom:1px solid #999;margin-top:2em}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #ccc;padding:.2em .4em;vertical-align:top;text-align:left}"
        "@media print{h2{page-break-before:auto}}</style></head><body>",
        f"<h1>Inzage persoonsgegevens{' — ' + e(doc.gemeente) if doc.gemeente else ''}</h1>",
        f"<p>Gemaakt op {e(doc.gemaakt_op)}; gezocht op {e(doc.gezocht_op)}. {len(doc.meldingen)} melding(en).</p>",
        f"<p>{e(doc.toelichting)}</p>",
    ]
    if doc.geweigerde_wijzigingen:
        parts.append(
            f"<p>Daarnaast bewaart de server {doc.geweigerde_wijzigingen} geweigerde wijziging(en) waarin uw "
            "gegevens voorkomen (ter controle door de beheerder).</p>"
        )
    for v in doc.meldingen:
        parts.append(f"<h2>Melding {e(v.referentie)}</h2><table>")
        rows = [
            ("Uw rol", "melder" if v.rol == "melder" else "genoemd in een tekst"),
            ("Geregistreerd op", v.geregistreerd_op),
            ("Status", v.status),
            ("Soort / kanaal", f"{v.type} · {v.kanaal}"),
            ("Categorie", v.categorie),
            ("Wijk", v.wijk),
            ("Locatie", v.locatie),
        ]
        if v.geanonimiseerd_op:
            rows.append(("Geanonimiseerd op", v.geanonimiseerd_op))
        parts += [f"<tr><th>{e(k)}</th><td>{e(str(x))}</td></tr>" for k, x in rows]
        parts.append("</table>")
        for title, items in v.sections():
            if not items:
                continue
            keys = list(dict.fromkeys(k for item in items for k in item))
            parts.append(f"<h3>{e(title)}</h3><table><tr>{''.join(f'<th>{e(k)}</th>' for k in keys)}</tr>")
            for item in items:
                parts.append("<tr>" + "".join(f"<td>{e(_cell(item.get(k)))}</td>" for k in keys) + "</tr>")
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "ja"
    if value is False:
        return "nee"
    return str(value)


def inzage_pdf(doc: Inzage) -> bytes:
    """The inzage as an A4 PDF (fpdf2 with the report's Source Sans Pro font; no system fonts)."""
    import font_source_sans_pro as fonts
    from fpdf import FPDF

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_font("SourceSans", "", fonts.font_files_ttf["SourceSansPro"])
    pdf.add_font("SourceSans", "B", fonts.font_files_ttf["SourceSansProBold"])
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title("Inzage persoonsgegevens")
    pdf.set_lang("nl")
    pdf.add_page()
    width = pdf.w - 30

    def para(text: str, size: float = 10, bold: bool = False) -> None:
        pdf.set_font("SourceSans", "B" if bold else "", size)
        pdf.multi_cell(width, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")

    para(f"Inzage persoonsgegevens{' — ' + doc.gemeente if doc.gemeente else ''}", 16, True)
    para(f"Gemaakt op {doc.gemaakt_op}; gezocht op {doc.gezocht_op}. {len(doc.meldingen)} melding(en).")
    para(doc.toelichting, 9)
    for v in doc.meldingen:
        pdf.ln(3)
        para(f"Melding {v.referentie} ({'melder' if v.rol == 'melder' else 'genoemd in een tekst'})", 12, True)
        para(
            f"Geregistreerd {v.geregistreerd_op}; status {v.status}; {v.type} via {v.kanaal}; {v.categorie}; "
            f"wijk {v.wijk}; locatie {v.locatie or '-'}"
            + (f"; geanonimiseerd op {v.geanonimiseerd_op}" if v.geanonimiseerd_op else ""),
            9,
        )
        for title, items in v.sections():
            if items:
                para(title, 10, True)
                for item in items:
                    para(" · ".join(f"{k}: {_cell(x)}" for k, x in item.items()), 8.5)
    return bytes(pdf.output())


def _searched_on(args: argparse.Namespace) -> str:
    """What was searched on, without the value (for the audit and the document)."""
    return ", ".join(k for k in ("telefoon", "email", "naam") if getattr(args, k, None)) or "referentie"


def _person(args: argparse.Namespace) -> PersonalValues:
    return person(telefoon=args.telefoon, email=args.email, naam=args.naam)


def _inzage(args: argparse.Namespace) -> int:
    from sync_server.cli_common import open_store

    try:
        wanted = _person(args)
    except ValidationError as exc:
        print(f"Fout: {exc.message}", file=sys.stderr)
        return 2
    store = open_store(args)
    try:
        doc = build_inzage(store, wanted, _searched_on(args), _gemeente_naam(store))
        folder = Path(args.uit)
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"inzage-{datetime.now(UTC):%Y%m%d-%H%M%S}"
        written = []
        for suffix, data in (
            (".json", msgspec.json.format(msgspec.json.encode(doc), indent=2)),
            (".html", inzage_html(doc).encode()),
            (".pdf", inzage_pdf(doc)),
        ):
            path = stem.with_suffix(suffix)
            path.write_bytes(data)
            path.chmod(0o600)  # personal data: only the admin reads these until they are handed over
            written.append(path)
        refs = ", ".join(v.referentie for v in doc.meldingen)
        audit.record_cli(store, AUDIT_INZAGE, f"op {doc.gezocht_op}: {len(doc.meldingen)} melding(en) {refs}".strip())
        actor = audit.cli_actor()
        store.audit_many(
            actor, audit.PERSONAL_DATA_READ,
            [(mid, "via avg inzage (beheer)") for mid in store.find_person(wanted)],
        )  # fmt: skip
    finally:
        store.close()
    print(f"{len(doc.meldingen)} melding(en) gevonden (gezocht op {doc.gezocht_op}).")
    for v in doc.meldingen:
        print(f"  {v.referentie}  {v.rol:8}  {v.geregistreerd_op[:10]}  {v.status}")
    for path in written:
        print(f"Geschreven: {path}")
    print("Deze bestanden bevatten persoonsgegevens: geef ze alleen aan de betrokkene en verwijder ze daarna.")
    return 0


def _gemeente_naam(store: ServerStore) -> str:
    try:
        from sync_server import gemeente_config

        return gemeente_config.stored(store).config.naam
    except (ImportError, StoreError, AttributeError):
        return ""


# -- wissen -------------------------------------------------------------------------------------------


def _confirm(question: str, *, yes: bool, stdin: TextIO | None = None) -> bool:
    if yes:
        return True
    stdin = stdin or sys.stdin
    if not stdin.isatty():
        print("Fout: bevestig met --yes (er is geen toetsenbord om 'ja' te typen).", file=sys.stderr)
        return False
    print(f"{question} Typ ja om door te gaan: ", end="", flush=True)
    return stdin.readline().strip().lower() == "ja"


def _wissen(args: argparse.Namespace) -> int:
    from shared.reference import normalise_reference
    from sync_server.cli_common import open_store

    try:
        wanted = _person(args) if not args.referentie else None
        reference = normalise_reference(args.referentie) if args.referentie else None
    except ValidationError as exc:
        if exc.field == "persoon":
            print("Fout: geef --telefoon, --email, --naam of --referentie op.", file=sys.stderr)
            return 2
        print(f"Fout: {exc.message}", file=sys.stderr)
        return 2
    store = open_store(args)
    try:
        if reference is not None:
            mid = store.melding_id_of(reference)
            found = {mid: "melder"} if mid else {}
        else:
            found = store.find_person(wanted)  # type: ignore[arg-type]
        melder_ids = [mid for mid, rol in found.items() if rol == "melder"]
        named_ids = [mid for mid, rol in found.items() if rol == "genoemd"]
        refs = _references(store, found)
        if not found:
            print("Geen melding gevonden: er is niets te wissen.")
            return 0
        print(f"Gevonden (gezocht op {_searched_on(args)}):")
        for mid in melder_ids:
            print(f"  {refs[mid]}  melder: wordt geanonimiseerd (naam, telefoon, e-mail, postadres en waar die in teksten staan)")
        for mid in named_ids:
            what = (
                "wordt verwijderd na de bewaartermijn-regel (alle teksten weg, statistiek blijft)"
                if args.ook_genoemd
                else "alleen genoemd in een tekst: NIET gewijzigd (gebruik --ook-genoemd om deze teksten te verwijderen)"
            )
            print(f"  {refs[mid]}  {what}")
        purge_ids = named_ids if args.ook_genoemd else []
        if not melder_ids and not purge_ids:
            return 0
        if not _confirm("Dit kan niet ongedaan worden gemaakt.", yes=args.yes):
            print("Niets gewijzigd.")
            return 1
        reden = (args.reden or "Op verzoek van de betrokkene (AVG).").strip()
        actor = audit.cli_actor()
        made = store.erase(melder_ids, EventType.REPORTER_ANONYMISED, reden, actor=actor) if melder_ids else []
        if purge_ids:
            made += store.erase(purge_ids, EventType.PURGED, reden, actor=actor)
        _after_erasure(store)
        audit.record_cli(
            store, AUDIT_WISSEN,
            f"op {_searched_on(args)}: {len(melder_ids)} geanonimiseerd, {len(purge_ids)} verwijderd "
            f"({', '.join(refs[m] for m in melder_ids + purge_ids)})",
        )  # fmt: skip
    finally:
        store.close()
    print(
        f"Gedaan: {len(made)} melding(en). Elke laptop neemt het over bij zijn volgende sync. "
        "Reservekopieën houden wat zij bevatten tot zij verlopen; 'wijkteam-server restore' past de wissing opnieuw toe."
    )
    return 0


def _references(store: ServerStore, found: dict[str, str]) -> dict[str, str]:
    out = {}
    for mid in found:
        row = store.projection(mid)
        out[mid] = row["reference"] if row else mid
    return out


# -- command line ---------------------------------------------------------------------------------------


def _person_args(p: argparse.ArgumentParser, *, required: bool) -> None:
    g = p.add_mutually_exclusive_group(required=required)
    g.add_argument("--telefoon", help="telefoonnummer, in elke schrijfwijze (06-12345678, +31 6 1234 5678)")
    g.add_argument("--email", help="e-mailadres")
    g.add_argument("--naam", help="naam (zoekt ook 'A. de Vries' bij 'Anna de Vries'; controleer de lijst)")
    if not required:
        g.add_argument("--referentie", help="één melding, bv. DLF-K7-0142")


def configure(sub: Any) -> None:
    """Add ``avg retention|inzage|wissen`` to the ``wijkteam-server`` subcommands."""
    from sync_server.cli_common import add_command

    p = sub.add_parser("avg", help="persoonsgegevens: bewaartermijnen, inzage en wissen (AVG)", description="AVG")
    avg = p.add_subparsers(dest="avg_command", required=True, metavar="{retention,inzage,wissen}")
    r = add_command(avg, "retention", "pas de bewaartermijnen toe (eerst per regel wat er gebeurt); dagelijks veilig")
    r.add_argument("--dry-run", action="store_true", help="laat alleen zien wat er zou gebeuren")
    r.add_argument("--nu", help=argparse.SUPPRESS)  # tests and demonstrations: another 'now'
    r.set_defaults(func=_retention)
    i = add_command(avg, "inzage", "schrijf alles wat over een persoon bewaard is (JSON, HTML en PDF)")
    _person_args(i, required=True)
    i.add_argument("--uit", default=".", help="map voor de bestanden (standaard de huidige)")
    i.set_defaults(func=_inzage)
    w = add_command(avg, "wissen", "anonimiseer de meldingen van een persoon, overal (na bevestiging)")
    _person_args(w, required=False)
    w.add_argument("--yes", action="store_true", help="niet vragen (voor scripts)")
    w.add_argument("--ook-genoemd", action="store_true", help="verwijder ook meldingen waarin de persoon alleen genoemd wordt")
    w.add_argument("--reden", help="reden (standaard: op verzoek van de betrokkene); zet er geen persoonsgegevens in")
    w.set_defaults(func=_wissen)

