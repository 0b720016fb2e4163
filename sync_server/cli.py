"""``wijkteam-server``: run the server and administer its database.

Subcommands (each takes ``--db PATH``; default ``sync_server.settings.default_db_path()``):

``--db`` is a SQLite file or a ``postgresql://`` URL (issue 17; docs/server.md, "PostgreSQL").

* ``serve [--host 127.0.0.1] [--port 8080] [--workers N]``: run the server (uvicorn); creates the
  database on first start.
* ``backup PATH``: a consistent copy of the database while the server runs (SQLite online backup;
  ``pg_dump`` on PostgreSQL).
* ``restore BACKUP``: put a backup in place of the database (server stopped) with a new log id, so
  laptops re-send their own events and pull everything again.
* ``user add NAME --role wijkuitvoerder|kcc|manager|admin [--device XY]``: prints the token once;
  wijkuitvoerder and admin get a device code. ``user list``, ``user revoke NAME`` (says how many of
  the device's events the server has not seen), ``user rotate NAME`` (a new token, same device code).
* ``quarantine list [--all] [--raw]``, ``quarantine show ID``, ``quarantine release ID``,
  ``quarantine reject ID``: events the server refused, with the reason; release re-applies one
  refused for its time (restamped), reject refuses it for good (docs/server.md, "Quarantaine").
* ``clashes list``: references seen on two meldingen.
* ``snapshot build|show``: build the laptop snapshot now / show the current one (``sync_server.snapshot``).

To add a subcommand: write ``def configure(sub) -> None`` that calls :func:`add_command` and sets a
handler with ``parser.set_defaults(func=handler)`` (``handler(args) -> int``, the exit code), then add
it to ``COMMANDS`` with one line. ``open_store(args)`` gives the store of ``--db``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shared.commands import SERVER_DEVICE
from shared.enums import Role
from shared.protocol import VerdictState
from sync_server import (
    audit,
    avg_cli,
    demo_cli,
    gazetteer_cli,
    gemeente_config,
    import_cli,
    report_cli,
    serving,
    snapshot,
)
from sync_server.cli_common import _DB_HELP, add_command, db_path, open_store
from sync_server.settings import DEFAULT_HOST, DEFAULT_PORT, db_location
from sync_server.storage.engines import StorageUnavailable
from sync_server.store import ServerStore, StoreError

Configure = Callable[[Any], None]
# -- serve ---------------------------------------------------------------------------------------------


#: How ``serve --workers N`` hands its settings to the worker processes: the settings file and the
#: command-line values as JSON, which each worker reads as ``serve`` did (:func:`worker_app`).
WORKER_ARGS_ENV = "WIJKTEAM_SERVER_WORKER_ARGS"


def worker_app() -> Any:
    """The app of one worker process of ``serve --workers N`` (uvicorn imports it by name in each
    worker it starts): the settings ``serve`` read, from :data:`WORKER_ARGS_ENV`.

    Raises:
        RuntimeError: not started by ``serve`` (the variable is missing).
    """
    import json
    import os

    from sync_server.app import create_app
    from sync_server.logs import setup_logging
    from sync_server.server_config import load_settings

    raw = os.environ.get(WORKER_ARGS_ENV)
    if not raw:
        raise RuntimeError(f"{WORKER_ARGS_ENV} ontbreekt: start workers met 'wijkteam-server serve --workers N'")
    given = json.loads(raw)
    settings, _ = load_settings(given["config"], given["options"])
    setup_logging(settings.log_level, settings.log_format)
    return create_app(settings)


def _serve(args: argparse.Namespace) -> int:
    import socket

    import uvicorn

    from sync_server.app import create_app
    from sync_server.gemeente_config import stored
    from sync_server.logs import SERVER, setup_logging
    from sync_server.server_config import SettingsError, load_settings
    from sync_server.storage.engines import display_location, is_postgres

    db = getattr(args, "db", None)
    options = {"db": str(db) if db is not None else None, "host": args.host, "port": args.port, "log_level": args.log_level}
    try:
        settings, _ = load_settings(args.config, options)
    except SettingsError as exc:
        print(f"Fout: {exc.message}", file=sys.stderr)
        return 1
    if args.workers < 1 or (args.workers > 1 and not is_postgres(settings.db_path)):
        # One SQLite file has one writer at a time: more processes would only wait on each other.
        print("Fout: --workers N (N > 1) kan alleen met PostgreSQL (--db postgresql://…); N is minstens 1.", file=sys.stderr)
        return 1
    setup_logging(settings.log_level, settings.log_format)
    # 'restore' refuses while this is held (sync_server.serving), and so does a second 'serve' of the
    # same file: two servers would each run the background snapshot builds and retention on it, and a
    # forgotten old unit beside a new one is how an admin would find out. A PostgreSQL database has no
    # file to guard and several servers share it by design: its restore refuses while other sessions
    # are open.
    lock = None
    if isinstance(settings.db_path, Path):
        lock = serving.hold(settings.db_path)
        pid = serving.serving_pid(settings.db_path) if lock is None else None
        if pid is not None:  # None: no flock here, or a folder the store will explain itself
            who = f" (proces {pid})" if pid > 0 else ""
            print(f"Fout: een andere wijkteam-server{who} bedient {settings.db_path} al; stop die eerst.", file=sys.stderr)
            return 1
    store = ServerStore(settings.db_path)  # creates the schema; refuses a database of a newer server
    try:
        store.vacuum_once()  # before serving: a database from before secure_delete is rewritten once
        config = stored(store)
        label = f"gemeenteconfiguratie versie {config.version} ({config.config.naam})"
    finally:
        store.close()
    # Bind before announcing: a client that reads the announcement can connect at once (the backlog
    # holds it until uvicorn accepts), and --port 0 picks a free port that is printed.
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        print(f"Fout: kan niet luisteren op {settings.host}:{settings.port}: {exc.strerror}", file=sys.stderr)
        return 1
    sock.listen(512)
    port = sock.getsockname()[1]
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(f"wijkteam-server luistert op http://{host}:{port} (database {display_location(settings.db_path)}, {label})", flush=True)
    if settings.public_url:
        print(f"Laptops bereiken de server op {settings.public_url}", flush=True)
    proxies = ", ".join(settings.trusted_proxies) or "geen"
    SERVER.info(
        "gestart",
        extra={"fields": {"url": f"http://{host}:{port}", "public_url": settings.public_url or "-", "db": display_location(settings.db_path),
                          "config_version": config.version, "trusted_proxies": proxies}},
    )  # fmt: skip
    app: Any = create_app(settings) if args.workers == 1 else None
    if args.workers > 1:
        import json
        import os

        # Each worker process builds its own app (and its own connection pool) from the same settings.
        os.environ[WORKER_ARGS_ENV] = json.dumps({"config": str(args.config) if args.config else None, "options": options})
        app = "sync_server.cli:worker_app"
    config_ = uvicorn.Config(
        app,
        factory=args.workers > 1,
        workers=args.workers,
        log_level=settings.log_level,
        log_config=None,  # keep setup_logging's handlers
        access_log=False,  # sync_server.logs.AccessLog writes the request line (no query strings)
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    try:
        if args.workers > 1:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config_, sockets=[sock]).run()
        else:
            uvicorn.Server(config_).run(sockets=[sock])
    finally:
        if lock is not None:
            lock.close()
    return 0


def configure_serve(sub: Any) -> None:
    p = add_command(sub, "serve", "start de server")
    p.add_argument("--config", type=Path, default=None, help="instellingenbestand (TOML; standaard $WIJKTEAM_SERVER_CONFIG)")
    p.add_argument("--host", default=None, help=f"adres om op te luisteren (standaard {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=None, help=f"poort (standaard {DEFAULT_PORT}; 0: een vrije)")
    p.add_argument("--log-level", default=None, choices=["critical", "error", "warning", "info", "debug"],
                   help="standaard info")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="aantal serverprocessen (standaard 1; meer alleen met PostgreSQL)")
    p.set_defaults(func=_serve)


# -- backup --------------------------------------------------------------------------------------------


#: File names ``backup DIR`` writes (and ``--keep`` prunes): ``wijkteam-20261128T021500123456Z.sqlite3`` (UTC).
BACKUP_PATTERN = "wijkteam-*.sqlite3"
#: The same for a PostgreSQL store (pg_dump's custom format, ``sync_server.storage.pg_backup``).
PG_BACKUP_PATTERN = "wijkteam-*.dump"


def _backup(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    location = db_path(args)
    pattern = BACKUP_PATTERN if isinstance(location, Path) else PG_BACKUP_PATTERN
    target = Path(args.path)
    if target.is_dir():
        target = target / pattern.replace("*", datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ"))
    elif args.keep is not None:
        print("Fout: --keep werkt alleen met een map als doel.", file=sys.stderr)
        return 1
    store = open_store(args)
    try:
        if isinstance(location, Path):
            store.backup(target)
        else:
            from sync_server.storage import pg_backup

            pg_backup.dump(location, target)
        audit.record_cli(store, "backup", f"naar {target}")
    finally:
        store.close()
    print(f"Reservekopie geschreven naar {target}")
    if args.keep is not None:
        # Names sort by time; only files this command wrote are ever removed.
        old = sorted(Path(args.path).glob(pattern))[: -args.keep] if args.keep > 0 else []
        for f in old:
            f.unlink()
            print(f"Oude reservekopie verwijderd: {f}")
    return 0


def configure_backup(sub: Any) -> None:
    p = add_command(sub, "backup", "schrijf een consistente kopie van de database (mag terwijl de server draait)")
    p.add_argument("path", type=Path, help="nieuw bestand voor de kopie, of een map (dan wijkteam-<tijd>.sqlite3 "
                   "erin; PostgreSQL: wijkteam-<tijd>.dump, met pg_dump)")
    p.add_argument("--keep", type=int, default=None, metavar="N",
                   help="met een map: bewaar alleen de N nieuwste reservekopieën daarin")
    p.set_defaults(func=_backup)


def _restore(args: argparse.Namespace) -> int:
    """Put a backup in place of the database and give it a new log id (docs/server.md, "Backups")."""
    import sqlite3

    source, target = Path(args.backup), db_path(args)
    if not isinstance(target, Path):
        return _restore_postgres(source, target)
    if not source.is_file():
        raise StoreError(f"{source} bestaat niet.")
    try:
        probe = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            probe.execute("SELECT value FROM server_state WHERE key = 'schema_version'").fetchone()
        finally:
            probe.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{source} is geen reservekopie van wijkteam-server ({exc}).") from None
    pid = serving.serving_pid(target)
    if pid is not None:
        raise StoreError(
            f"Er draait nog een wijkteam-server op {target}"
            + (f" (proces {pid})" if pid > 0 else "")
            + ": stop de server eerst, zet dan terug en start hem weer."
        )
    # Numbers the server handed out after the backup are in the database being replaced (when it is
    # still readable): the restored counter continues past them.
    live_counter = ServerStore.read_server_counter(target) if target.exists() else 0
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            src.execute("SELECT value FROM server_state WHERE key = 'schema_version'").fetchone()
            target.parent.mkdir(parents=True, exist_ok=True)
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{source} is geen reservekopie van wijkteam-server ({exc}).") from None
    return _after_restore(ServerStore(target), source, target, live_counter)  # brings an older backup up to date


def _restore_postgres(source: Path, url: str) -> int:
    """``restore`` on PostgreSQL: pg_restore into the database of ``url`` (its servers stopped), then
    what every restore does (:func:`_after_restore`)."""
    from sync_server.storage import pg_backup
    from sync_server.storage.engines import display_location

    pg_backup.check_archive(source)
    store = ServerStore(url)
    try:
        others = store.other_sessions()
        if others:
            raise StoreError(
                f"Er zijn nog {others} andere verbinding(en) met {display_location(url)}: stop eerst elke "
                "wijkteam-server op deze database, zet dan terug en start ze weer."
            )
        # Numbers the server handed out after the backup are in the database being replaced.
        live_counter = store.server_counter_with_references()
    finally:
        store.close()
    pg_backup.restore(url, source)
    return _after_restore(ServerStore(url), source, url, live_counter)


def _after_restore(store: ServerStore, source: Path, target: Path | str, live_counter: int) -> int:
    """A new log id, the server's counter past ``live_counter``, the erasure journal applied again;
    recorded in the audit and told. Closes ``store``."""
    from sync_server.storage.engines import display_location

    try:
        store.renew_log_id()
        counter = store.raise_server_counter(live_counter)
        # Erasures made after the backup are applied again (the journal is not part of a backup).
        again = store.reapply_journal()
        audit.record_cli(store, "restore", f"uit {source}; {again} wissing(en) opnieuw toegepast")
    finally:
        store.close()
    if again:
        print(
            f"{again} wissing(en) van persoonsgegevens van na de reservekopie opnieuw toegepast "
            f"(uit {store.journal_path()})."
        )
    print(
        f"{display_location(target)} teruggezet uit {source}. Het serverlog heeft een nieuw id: elke laptop stuurt bij zijn "
        "volgende sync zijn eigen events opnieuw en haalt alles opnieuw op, zodat wat na de reservekopie "
        f"gemaakt is terugkomt. De eigen referentieteller van de server gaat verder na {counter}; laptops "
        "melden bij hun volgende sync het hoogste nummer dat zij kennen."
    )
    return 0


def configure_restore(sub: Any) -> None:
    p = add_command(sub, "restore", "zet een reservekopie terug (stop eerst de server)")
    p.add_argument("backup", type=Path, help="de reservekopie (van 'wijkteam-server backup'; PostgreSQL: pg_restore)")
    p.set_defaults(func=_restore)


# -- user ----------------------------------------------------------------------------------------------


def _user_add(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        token, code = store.add_user(args.name, args.role, device=args.device, actor=audit.cli_actor())
    finally:
        store.close()
    print(f"Gebruiker {args.name} ({args.role}) aangemaakt.")
    if code:
        print(f"Apparaatcode: {code}")
    print(f"Token (wordt maar één keer getoond): {token}")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        users = store.list_users()
    finally:
        store.close()
    if not users:
        print("Nog geen gebruikers.")
    for u in users:
        state = f"ingetrokken {u.revoked_at}" if u.revoked_at else "actief"
        print(f"{u.name}\t{u.role}\t{u.device_code or '-'}\t{u.created_at}\t{state}")
    return 0


def _user_revoke(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        backlog = store.revoke_user(args.name, actor=audit.cli_actor())
    finally:
        store.close()
    print(f"Token van {args.name} ingetrokken.")
    if backlog:
        if backlog["reported_seq"]:
            print(
                f"Apparaat {backlog['device']}: bij de laatste sync ({backlog['reported_at']}) had de laptop "
                f"{backlog['reported_seq']} events gemaakt; de server heeft er {backlog['seen']}, dus minstens "
                f"{backlog['unseen']} nog niet gezien. Wat daarna op de laptop gemaakt is, kent de server niet."
            )
        else:
            print(f"Apparaat {backlog['device']} heeft nooit gesynchroniseerd; de server kent geen events ervan.")
        print(
            "Moet die laptop zijn wachtende werk nog afleveren: geef hem met 'wijkteam-server user rotate "
            f"{args.name}' een nieuw token voor dezelfde apparaatcode, synchroniseer, en trek het daarna weer in "
            "(docs/server.md, 'Tokens vervangen')."
        )
    return 0


def _user_rotate(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        token, code, was_revoked = store.rotate_token(args.name, actor=audit.cli_actor())
    finally:
        store.close()
    print(f"Nieuw token voor {args.name}; het oude werkt niet meer." + (" De gebruiker is weer actief." if was_revoked else ""))
    if code:
        print(f"Apparaatcode: {code} (ongewijzigd: wachtend werk op de laptop gaat gewoon mee)")
    print(f"Token (wordt maar één keer getoond): {token}")
    return 0


def configure_user(sub: Any) -> None:
    p = sub.add_parser("user", help="gebruikers en tokens beheren", description="gebruikers en tokens beheren")
    users = p.add_subparsers(dest="user_command", required=True, metavar="{add,list,revoke,rotate}")
    add = add_command(users, "add", "maak een gebruiker met token (het token wordt één keer getoond)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--device", default=None, help="gewenste apparaatcode (2 tekens), anders de eerste vrije")
    add.set_defaults(func=_user_add)
    add_command(users, "list", "toon alle gebruikers").set_defaults(func=_user_list)
    rev = add_command(users, "revoke", "trek het token van een gebruiker in (zegt hoeveel events de server nog mist)")
    rev.add_argument("name")
    rev.set_defaults(func=_user_revoke)
    rot = add_command(
        users, "rotate", "geef een nieuw token voor dezelfde apparaatcode (het oude vervalt; een ingetrokken gebruiker wordt weer actief)"
    )
    rot.add_argument("name")
    rot.set_defaults(func=_user_rotate)


# -- quarantine, clashes -------------------------------------------------------------------------------


def _quarantine_list(args: argparse.Namespace) -> int:
    from shared.validation import for_terminal

    store = open_store(args)
    try:
        rows = store.list_quarantine(status=None if args.all else VerdictState.WAITING.value)
    finally:
        store.close()
    if not rows:
        print("De quarantaine is leeg." if args.all else "De quarantaine is leeg: niets wacht op een besluit (--all toont ook besloten events).")
    for r in rows:
        line = (
            f"{r['id']}\t{r['received_at']}\t{r['device_id'] or '-'}\t{r['event_id']}\t{r['event_type'] or '-'}\t"
            f"{r['code'] or '-'}\t{r['status']}\t{r['reason']}"
        )
        print(for_terminal(line))
        if args.raw:
            print(for_terminal(f"\t{r['raw']}"))
    return 0


def _quarantine_show(args: argparse.Namespace) -> int:
    from shared.protocol import RELEASABLE
    from shared.trust import refusal_help
    from shared.validation import for_terminal

    store = open_store(args)
    try:
        r = store.quarantine_entry(args.id)
    finally:
        store.close()
    if r is None:
        raise StoreError(f"Quarantaine-nummer {args.id} bestaat niet.")
    what, _ = refusal_help(r["code"])
    lines = [
        f"Nummer:       {r['id']}",
        f"Event:        {r['event_id']} ({r['event_type'] or '?'})",
        f"Melding:      {r['melding_id'] or '-'}",
        f"Apparaat:     {r['device_id'] or '-'} (gestuurd door {r['pushed_by'] or '-'})",
        f"Ontvangen:    {r['received_at']}",
        f"Reden:        {r['code'] or '-'}: {r['reason']}",
        f"Uitleg:       {what}",
        f"Besluit:      {r['status']}" + (f" op {r['decided_at']} door {r['decided_by']}" if r["decided_at"] else ""),
    ]
    if r["note"]:
        lines.append(f"Notitie:      {r['note']}")
    if r["status"] == VerdictState.WAITING:
        lines.append(
            "Mogelijk:     'quarantine release' (opnieuw gestempeld met de servertijd) of 'quarantine reject'"
            if r["code"] in RELEASABLE
            else "Mogelijk:     alleen 'quarantine reject' (deze reden gaat niet over de tijd)"
        )
    lines.append(f"Zoals ontvangen: {r['raw']}")
    print(for_terminal("\n".join(lines)))
    return 0


def _quarantine_release(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        made = store.release_quarantined(args.id, by=args.by or audit.cli_actor(), note=args.note)
    finally:
        store.close()
    n = sum(1 for e in made if e.device_id != SERVER_DEVICE)
    print(
        f"Nummer {args.id} vrijgegeven: {n} {'event' if n == 1 else 'events'} opgeslagen met de tijd van de server; "
        "de oorspronkelijke tijd staat in de geschiedenis van de melding. De laptop hoort het bij zijn volgende sync."
    )
    return 0


def _quarantine_reject(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        n = store.reject_quarantined(args.id, by=args.by or audit.cli_actor(), note=args.note)
    finally:
        store.close()
    print(f"Nummer {args.id} afgewezen ({n} {'event' if n == 1 else 'events'}). De laptop hoort het bij zijn volgende sync.")
    return 0


def configure_quarantine(sub: Any) -> None:
    p = sub.add_parser("quarantine", help="geweigerde events", description="geweigerde events bekijken en besluiten")
    q = p.add_subparsers(dest="quarantine_command", required=True, metavar="{list,show,release,reject}")
    lst = add_command(q, "list", "toon geweigerde events die op een besluit wachten, met nummer en reden")
    lst.add_argument("--raw", action="store_true", help="toon ook het event zoals ontvangen")
    lst.add_argument("--all", action="store_true", help="toon ook vrijgegeven en afgewezen events")
    lst.set_defaults(func=_quarantine_list)
    show = add_command(q, "show", "toon één geweigerd event volledig")
    show.add_argument("id", type=int, help="het nummer uit 'quarantine list'")
    show.set_defaults(func=_quarantine_show)
    for name, func, text in (
        ("release", _quarantine_release, "geef een event vrij dat om de tijd geweigerd is (opnieuw gestempeld)"),
        ("reject", _quarantine_reject, "wijs een geweigerd event definitief af"),
    ):
        cmd = add_command(q, name, text)
        cmd.add_argument("id", type=int, help="het nummer uit 'quarantine list'")
        cmd.add_argument("--note", default="", help="toelichting (de laptop krijgt die te zien)")
        cmd.add_argument("--by", default=None, help="wie besluit (voor de audit; standaard de gebruiker van het systeem)")
        cmd.set_defaults(func=func)


def _clashes_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        rows = store.reference_clashes()
    finally:
        store.close()
    if not rows:
        print("Geen dubbele referenties gezien.")
    for r in rows:
        print(f"{r['detected_at']}\t{r['reference']}\t{r['melding_id']}\t{r['other_melding_id']}")
    return 0


def configure_clashes(sub: Any) -> None:
    p = sub.add_parser("clashes", help="referenties die op twee meldingen staan", description="dubbele referenties")
    c = p.add_subparsers(dest="clashes_command", required=True, metavar="{list}")
    add_command(c, "list", "toon dubbele referenties").set_defaults(func=_clashes_list)


#: Subcommands, in the order ``--help`` lists them. Add yours with one line.
COMMANDS: list[Configure] = [
    configure_serve,
    configure_backup,
    configure_restore,
    configure_user,
    configure_quarantine,
    configure_clashes,
    audit.configure,
    avg_cli.configure,
    gazetteer_cli.configure,
    gemeente_config.configure,
    import_cli.configure,
    demo_cli.configure,
    report_cli.configure_report,
    snapshot.configure,
]


def build_parser() -> argparse.ArgumentParser:
    """The ``wijkteam-server`` argument parser with every subcommand of ``COMMANDS``."""
    parser = argparse.ArgumentParser(prog="wijkteam-server", description="Syncserver van Wijkteam.")
    parser.add_argument("--db", type=db_location, default=None, help=_DB_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for configure in COMMANDS:
        configure(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``wijkteam-server``; returns the exit code (errors: a Dutch message, exit 1)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (StoreError, StorageUnavailable) as exc:
        print(f"Fout: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
