"""``wijkteam-server report``: the barometer report of a period, as pdf, html, xlsx, csv, md or json.

    wijkteam-server report --period 2026-Q3 --format pdf --out barometer.pdf [--db PATH]
    wijkteam-server report --from 2026-01-05 --to 2026-02-01 --format csv
    wijkteam-server report --period 2026 --group-by wijk,categorie,kanaal --criteria eigen.toml
    wijkteam-server report --period 2026-Q3 --as-of 123456      # the figures as of that server_seq

Registered in ``sync_server.cli.COMMANDS`` as :func:`configure_report`.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import Any

from shared.errors import ValidationError
from sync_server.store import StoreError

#: Groupings of the report when ``--group-by`` is not given: what the HTML charts need (% within the norm
#: per categorie, backlog per wijk). Each further grouping costs one more pass over the rows.
DEFAULT_GROUP_BY = ("wijk", "categorie")


def run_report(args: argparse.Namespace) -> int:
    """Handler of ``wijkteam-server report``; returns the exit code (1 with a Dutch message on bad input)."""
    from shared.barometer import parse_period, period_between
    from shared.certificering import load_criteria
    from sync_server.cli_common import db_path
    from sync_server.storage.engines import is_postgres
    from sync_server.store import ServerStore
    from wijkteam_reports.render import render
    from wijkteam_reports.sql import build_report, open_readonly

    try:
        if args.period and (args.date_from or args.date_to):
            raise ValidationError("periode", "Geef --period óf --from en --to, niet allebei.")
        if args.period:
            period = parse_period(args.period)
        elif args.date_from and args.date_to:
            period = period_between(args.date_from, args.date_to)
        else:
            raise ValidationError("periode", "Geef een periode: --period 2026-Q3, of --from en --to.")
        group_by = tuple(g for g in (args.group_by or ",".join(DEFAULT_GROUP_BY)).split(",") if g.strip())
        criteria = load_criteria(args.criteria) if args.criteria else None
        if args.format in ("xlsx", "pdf") and not args.out:
            raise ValidationError(
                "out", f"Een {args.format}-bestand kan niet naar het scherm: geef --out BESTAND.{args.format}."
            )
        if args.as_of is not None and args.as_of < 0:
            raise ValidationError("as_of", "--as-of is een server_seq: 0 of hoger.")
        db = db_path(args)
        options = {"group_by": group_by, "criteria": criteria, "upto_seq": args.as_of}
        if is_postgres(db):
            store = ServerStore(db)
            try:
                report = store.barometer(period, **options)
            finally:
                store.close()
        else:
            # A SQLite file is read as it is (read-only): a server's, or any database with a
            # ``meldingen`` projection (a laptop's).
            try:
                conn = open_readonly(db)
            except (FileNotFoundError, sqlite3.Error):
                print(f"Fout: database {db} niet gevonden of niet leesbaar.", file=sys.stderr)
                return 1
            try:
                report = build_report(conn, period, **options)
            except sqlite3.OperationalError as exc:
                print(f"Fout: de database {db} heeft geen meldingen-tabel ({exc}).", file=sys.stderr)
                return 1
            finally:
                conn.close()
    except ValidationError as exc:
        print(f"Fout: {exc.message}", file=sys.stderr)
        return 1
    except (OSError, StoreError) as exc:
        print(f"Fout: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
    out = render(report, args.format)
    if args.out:
        path = Path(args.out)
        if isinstance(out, bytes):
            path.write_bytes(out)
        else:
            path.write_text(out, encoding="utf-8", newline="")
        print(f"Barometer {report.period_label} geschreven naar {path}", file=sys.stderr)
    else:
        sys.stdout.write(out if isinstance(out, str) else "")
    return 0


def configure_report(sub: Any) -> None:
    """Add the ``report`` subcommand to the ``wijkteam-server`` parser (see ``sync_server.cli``)."""
    from sync_server.cli_common import add_command
    from wijkteam_reports.render import FORMATS

    p = add_command(sub, "report", "barometerrapport van een periode (pdf, html, xlsx, csv, md of json)")
    p.add_argument("--period", default=None, help="2026-03 (maand), 2026-Q3 (kwartaal), 2026 (jaar) of 2026-01-05..2026-02-01")
    p.add_argument("--from", dest="date_from", default=None, help="begindatum JJJJ-MM-DD (met --to)")
    p.add_argument("--to", dest="date_to", default=None, help="einddatum JJJJ-MM-DD, tot en met")
    p.add_argument("--format", choices=FORMATS, default="md", help="uitvoerformaat (standaard md)")
    p.add_argument(
        "--as-of", type=int, default=None, metavar="SEQ",
        help="tel de gebeurtenissen tot en met deze server_seq (staat in elk rapport): dezelfde cijfers als toen",
    )
    p.add_argument("--out", type=Path, default=None, help="schrijf naar dit bestand (standaard: het scherm)")
    p.add_argument("--group-by", default=None, help=f"groeperingen, komma-gescheiden (standaard {','.join(DEFAULT_GROUP_BY)})")
    p.add_argument("--criteria", type=Path, default=None, help="eigen certificeringscriteria (TOML)")
    p.set_defaults(func=run_report)
