"""The ``wijkteam`` command.

    wijkteam [--db PATH] [--demo] [--kcc]        start the app
    wijkteam demo --db PATH --count N            fill a database with sample meldingen
    wijkteam export --db PATH --format jsonl|csv|geojson [--out FILE]
    wijkteam sync --server URL --token T [--db PATH] [--snapshot-behind N]

Messages are Dutch; a user mistake exits with status 1 or 2 and a message, never a traceback.
``wijkteam sync`` exits 3 when the server refused changes (:data:`SYNC_EXIT_CODES`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import msgspec

from shared.errors import ValidationError
from wijkteam_store.local import LocalStore, StoreError
from wijkteam_tui.config import DEFAULT_SNAPSHOT_BEHIND, Config, data_dir, load_config

#: Sample meldingen put in the demo database on its first start.
DEMO_COUNT = 2000


def default_db() -> Path:
    """The laptop's own database in the user data directory."""
    return data_dir() / "wijkteam.sqlite"


def demo_db() -> Path:
    """The demo database (separate from real work) in the user data directory."""
    return data_dir() / "demo.sqlite"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wijkteam",
        description="Meldingen openbare ruimte registreren en opvolgen.",
    )
    p.add_argument(
        "--db", type=Path, help="databasebestand (standaard in de gebruikersmap)"
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="start op een demodatabase met voorbeeldmeldingen",
    )
    p.add_argument(
        "--kcc",
        action="store_true",
        help="KCC-modus: meldingen opzoeken voor een beller",
    )
    sub = p.add_subparsers(dest="cmd")
    d = sub.add_parser("demo", help="vul een database met voorbeeldmeldingen")
    d.add_argument("--db", type=Path, required=True, dest="sub_db")
    d.add_argument("--count", type=int, default=DEMO_COUNT)
    d.add_argument("--seed", type=int, default=1)
    e = sub.add_parser("export", help="exporteer de meldingen")
    e.add_argument("--db", type=Path, dest="sub_db")
    e.add_argument("--format", choices=("csv", "jsonl", "geojson"), required=True)
    e.add_argument("--out", type=Path)
    e.add_argument(
        "--met-persoonsgegevens",
        dest="personal",
        action="store_true",
        help="ook naam, telefoon en e-mail van de melder (wordt eerst vastgelegd op de server)",
    )
    e.add_argument(
        "--komma",
        dest="comma",
        action="store_true",
        help="CSV met , en decimale punt in plaats van ; en decimale komma",
    )
    s = sub.add_parser(
        "sync",
        help="synchroniseer eenmalig met de server",
        description="Synchroniseer eenmalig met de server (versturen, dan ophalen).",
        epilog=SYNC_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--server", required=True)
    s.add_argument("--token", required=True)
    s.add_argument("--db", type=Path, dest="sub_db")
    s.add_argument(
        "--snapshot-behind",
        type=int,
        default=DEFAULT_SNAPSHOT_BEHIND,
        help="installeer het snapshot van de server als de laptop meer dan N gebeurtenissen achterloopt "
        f"en niets te versturen heeft (standaard {DEFAULT_SNAPSHOT_BEHIND}; een lege laptop altijd)",
    )
    return p


def _fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def _cmd_demo(args: argparse.Namespace) -> int:
    from wijkteam_tui.demo import fill_demo

    if args.count < 1:
        return _fail("--count moet minstens 1 zijn.", 2)
    with LocalStore(args.sub_db) as store:
        if store.count(include_deleted=True):
            return _fail(
                f"{args.sub_db} bevat al meldingen; kies een nieuw bestand voor de demo."
            )
        n = fill_demo(store, args.count, seed=args.seed)
    print(f"{n} voorbeeldmeldingen (verzonnen adressen) opgeslagen in {args.sub_db}.")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from wijkteam_tui.export import ExportRefused, audit_on_server, export

    db = args.sub_db or args.db or default_db()
    if not Path(db).exists():
        return _fail(f"Database {db} bestaat niet.")
    with LocalStore(db) as store:
        from shared.gemeente import activate

        activate(store.gemeente_config())  # labels by the configuration this laptop received
        if args.personal and args.format != "geojson":
            # The server's audit records the export before anything with personal data is written.
            try:
                config = load_config()
                receipt = audit_on_server(
                    config.server_url,
                    config.token,
                    fmt=args.format,
                    count=store.count(include_deleted=args.format == "jsonl"),
                    device=store.device_code(),
                )
            except (ExportRefused, ValidationError) as exc:
                return _fail(f"Niet geëxporteerd: {exc.message}")
            print(receipt, file=sys.stderr)
        options = {"personal": args.personal, "comma": args.comma}
        if args.out:
            with open(args.out, "w", encoding="utf-8", newline="") as fh:
                n = export(store, fh, args.format, **options)
            print(f"{n} meldingen geëxporteerd naar {args.out}.", file=sys.stderr)
        else:
            export(store, sys.stdout, args.format, **options)
    return 0


#: Exit codes of ``wijkteam sync`` (also in docs/sync.md, "wijkteam sync").
EXIT_SYNC_OK = 0
EXIT_SYNC_FAILED = 1
EXIT_SYNC_USAGE = 2
EXIT_SYNC_REFUSED = 3
SYNC_EXIT_CODES = f"""exitcodes:
  {EXIT_SYNC_OK}  klaar; niets geweigerd
  {EXIT_SYNC_FAILED}  sync mislukt (geen verbinding, token, server- of opslagfout); niets verloren, probeer later opnieuw
  {EXIT_SYNC_USAGE}  verkeerde aanroep (ontbrekende of onbekende opties)
  {EXIT_SYNC_REFUSED}  klaar, maar de server weigerde wijzigingen; ze staan hierboven en blijven als 'geweigerd' bewaard"""


def _cmd_sync(args: argparse.Namespace) -> int:
    from shared.protocol import WARN_SKEW_MS
    from shared.trust import refusal_help
    from shared.validation import for_terminal
    from wijkteam_tui.sync_client import SyncError, clock_fallback_text, refused_text, sync_once

    db = args.sub_db or args.db or default_db()
    with LocalStore(db) as store:
        try:
            result = sync_once(
                store,
                args.server,
                args.token,
                gazetteer_dir=data_dir(),
                snapshot_behind=args.snapshot_behind,
                on_progress=ProgressPrinter(sys.stderr),
            )
        except SyncError as exc:
            return _fail(f"Synchroniseren mislukt: {exc.message}", EXIT_SYNC_FAILED)
        learned = _learn_device_code(store, args.server, args.token)
        print(
            f"Gesynchroniseerd: {result.pushed} {'gebeurtenis' if result.pushed == 1 else 'gebeurtenissen'} "
            f"verstuurd, {result.pulled} ontvangen; {store.pending_count()} "
            f"{'wacht' if store.pending_count() == 1 else 'wachten'} nog."
        )
        if result.snapshot:
            print(f"Snapshot van de server geïnstalleerd: {result.snapshot} gebeurtenissen in één keer.")
        if result.snapshot_note:
            print(result.snapshot_note)
        if result.gazetteer:
            print(result.gazetteer)
        if abs(result.skew_ms) >= WARN_SKEW_MS:
            print(f"Let op: de klok van deze laptop wijkt {result.skew_ms // 1000} seconden af van de server.")
        if result.released or result.rejected:
            print(f"De beheerder gaf {result.released} geweigerde wijziging(en) vrij en wees er {result.rejected} af.")
        if result.clock_fell_back:
            print(clock_fallback_text(result.restamped))
        if learned:
            print(learned)
        refused = store.refused_events()
        if not refused:
            return EXIT_SYNC_OK
        print(refused_text(len(refused)), file=sys.stderr)
        for r in refused:
            what, todo = refusal_help(r["code"])
            state = "afgewezen door de beheerder" if r["verdict"] == "rejected" else "wacht op de beheerder"
            line = f"  {r['reference'] or r['melding_id']}  {r['type']}  ({state}): {what} Server: {r['reason']}. {todo}"
            print(for_terminal(line), file=sys.stderr)
    return EXIT_SYNC_REFUSED


def _learn_device_code(store: LocalStore, server: str, token: str) -> str:
    """A laptop database without a device code takes the one the server issued with ``token``
    (``GET /api/v1/me``), so that ``wijkteam --db`` can number meldingen right after a first
    ``wijkteam sync``. Returns a Dutch line for the user, or "" when nothing changed (a code was
    already set, or the server did not say)."""
    from wijkteam_tui.config import check_device_code
    from wijkteam_tui.screens.kcc import whoami

    if store.device_code():
        return ""
    raw = (whoami(server, token) or {}).get("device_code")
    if not isinstance(raw, str):
        return ""
    try:
        code = check_device_code(raw)  # hostile until validated, like a code typed in F9
    except ValidationError:
        return ""
    store.set_device_code(code)
    line = f"Apparaatcode {code} van de server overgenomen."
    config = load_config()
    if not config.can_sync:
        line += " Om vanuit de app te synchroniseren: vul server en token in bij Instellingen (F9)."
    return line


class ProgressPrinter:
    """``wijkteam sync``'s progress on stderr: the snapshot download in bytes and %, then the install.

    On a terminal one line is rewritten (``\r``); otherwise (a log file) a line per 10 %.
    """

    def __init__(self, out: Any) -> None:
        self.out = out
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self._shown = -1
        self._open_line = False

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage == "snapshot" and total:
            pct = 100 * done // total
            if pct == self._shown or (not self.tty and pct // 10 == self._shown // 10 and pct < 100):
                return
            self._shown = pct
            text = f"Snapshot downloaden: {done / 1e6:.1f} van {total / 1e6:.1f} MB ({pct} %)".replace(".", ",")
            if self.tty:
                self.out.write("\r" + text)
                self._open_line = True
            else:
                self.out.write(text + "\n")
        elif stage == "install":
            self._end_line()
            self.out.write("Snapshot controleren en installeren…\n")
        self.out.flush()

    def _end_line(self) -> None:
        if self._open_line:
            self.out.write("\n")
            self._open_line = False


def prepare_demo(
    db: Path, config: Config, count: int = DEMO_COUNT
) -> tuple[Path, Config]:
    """Fill the demo database on first start; the demo config never syncs and has its own device code."""
    from shared.demo import DEMO_USERS
    from wijkteam_tui.demo import DEMO_DEVICE, fill_demo

    # The demo laptop's user is one of the sample wijkuitvoerders, so "Mijn werkvoorraad" has work.
    config = msgspec.structs.replace(
        config, server_url=None, token=None, device_code=DEMO_DEVICE, user=DEMO_USERS[DEMO_DEVICE]
    )
    with LocalStore(db) as store:
        if not store.count(include_deleted=True):
            print("Demodatabase vullen met voorbeeldmeldingen…", file=sys.stderr)
            fill_demo(store, count)
    return db, config


def background_location(folder: Path, *, sample: bool, online) -> object:
    """A :class:`~wijkteam_tui.location.LocationLookup` whose gazetteer loads in a background thread.

    Until the index is ready it answers from the online services only (when ``online()`` says so)
    and the intake lets the street be typed; ``.loader`` is the loading thread. ``sample``: fall back to the shipped SAMPLE gazetteer
    (demo only; real work must never fill in made-up streets).
    """
    import threading

    from wijkteam_tui.location.service import LocationLookup

    lookup = LocationLookup(None, online=online)

    def load() -> None:
        try:
            from wijkteam_tui.location.download import load_local_gazetteer

            gazetteer = load_local_gazetteer(folder, fallback_to_sample=sample)
            if gazetteer is not None:
                lookup.set_gazetteer(gazetteer)
        except Exception:  # noqa: BLE001, S110 - no gazetteer is never fatal: addresses can be typed
            pass

    # Kept on the object so a caller (the tests) can wait for the index: ``lookup.loader.join()``.
    lookup.loader = threading.Thread(target=load, daemon=True, name="gazetteer")
    lookup.loader.start()
    return lookup


class BackgroundAddressLookup:
    """The intake's address hook over the local gazetteer, loaded in a background thread.

    A municipality's BAG file takes seconds to index, so the app starts at once and the hook answers
    None (type the street by hand) until the index is ready. ``sample``: fall back to the shipped
    SAMPLE gazetteer (demo only; real work must never fill in made-up streets).
    """

    def __init__(self, folder: Path, *, sample: bool) -> None:
        import threading

        self._hook = None
        self._thread = threading.Thread(
            target=self._load, args=(folder, sample), daemon=True, name="gazetteer"
        )
        self._thread.start()

    def _load(self, folder: Path, sample: bool) -> None:
        try:
            from wijkteam_tui.location.download import load_local_gazetteer
            from wijkteam_tui.location.widgets import make_address_lookup

            gazetteer = load_local_gazetteer(folder, fallback_to_sample=sample)
            self._hook = (
                make_address_lookup(gazetteer) if gazetteer is not None else None
            )
        except Exception:  # noqa: BLE001 - no gazetteer is never fatal: addresses can be typed
            self._hook = None

    def __call__(
        self,
        postcode: str,
        huisnummer: int,
        huisletter: str | None,
        toevoeging: str | None,
    ):
        hook = self._hook
        return hook(postcode, huisnummer, huisletter, toevoeging) if hook else None


def _run_app(args: argparse.Namespace) -> int:
    from wijkteam_tui.app import make_app
    from wijkteam_tui.screens.kcc import starts_in_kcc_mode

    config = load_config()
    if args.demo:
        db, config = prepare_demo(args.db or demo_db(), config)
    else:
        db = args.db or default_db()
    kcc = starts_in_kcc_mode(config, asked=args.kcc)
    holder: list = []
    # Online look-ups (PDOK, Nominatim) only when the app is not offline, and never in the demo.
    online = (lambda: bool(holder) and not holder[0].offline) if not args.demo else False
    location = background_location(data_dir(), sample=args.demo, online=online)
    app = make_app(
        db, config, kcc=kcc, demo=args.demo, location=location,
        gazetteer_dir=None if args.demo else data_dir(),
    )
    holder.append(app)
    app.run()
    return app.return_code or 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``wijkteam`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "demo":
            return _cmd_demo(args)
        if args.cmd == "export":
            return _cmd_export(args)
        if args.cmd == "sync":
            return _cmd_sync(args)
        return _run_app(args)
    except StoreError as exc:
        return _fail(exc.message)
    except ValidationError as exc:
        return _fail(exc.message)
    except BrokenPipeError:
        return 0


def _main() -> None:  # pragma: no cover - console script wrapper
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["Config", "main"]
