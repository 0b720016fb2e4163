"""The municipality configuration on the server: versions, import, and ``wijkteam-server config …``.

The admin loads the configuration once (``config import DIR|FILE``); each import is validated whole
(``shared.gemeente.read_config`` and ``check_successor``: nothing is half-applied) and stored as the
next version. Laptops fetch the current version at sync (``GET /api/v1/config``,
``sync_server.routes.config``); the running server follows a new version at its next request.

Table (this module owns it, created on first use):

* ``gemeente_config``: ``version`` (1, 2, 3, …), ``body`` (the canonical JSON of
  ``shared.gemeente.encode_config``), ``etag`` (``"<version>-<sha256 prefix>"``, the download's
  ETag), ``imported_at`` (UTC), ``imported_by`` (the OS user running the command), ``source`` (the
  file or folder name). No row: the package default (version 0) is in force.

Commands: ``config import DIR|FILE [--dry-run]``, ``config show [--version N]``,
``config export DIR [--version N]``, ``config check`` (the server settings file and the stored
configuration), see docs/server.md "Gemeenteconfiguratie".
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from shared.gemeente import (
    ConfigError,
    GemeenteConfig,
    activate,
    check_successor,
    decode_config,
    encode_config,
    gemeente,
    package_default,
    read_config,
    to_files,
)
from sync_server import audit
from sync_server.store import ServerStore, StoreError


@dataclass(frozen=True)
class StoredConfig:
    """One stored version: the document, its canonical JSON and ETag, and where it came from."""

    version: int
    body: bytes
    etag: str
    imported_at: str
    imported_by: str
    source: str

    @property
    def config(self) -> GemeenteConfig:
        """The document (decoded once per version and database; validated when read)."""
        return _decoded(self.etag, self.body)


_DECODE_CACHE: dict[str, GemeenteConfig] = {}


def _decoded(etag: str, body: bytes) -> GemeenteConfig:
    hit = _DECODE_CACHE.get(etag)
    if hit is None:
        hit = decode_config(body)
        _DECODE_CACHE.clear()  # one version is in force at a time; keep just that one
        _DECODE_CACHE[etag] = hit
    return hit


def _etag(version: int, body: bytes) -> str:
    return f'"{version}-{hashlib.sha256(body).hexdigest()[:16]}"'


def _default() -> StoredConfig:
    body = encode_config(package_default())
    return StoredConfig(0, body, _etag(0, body), "", "", "pakketstandaard (voorbeeld)")


def current_version(store: ServerStore) -> int:
    """The version in force (0: the package default). One indexed read: cheap enough per request."""
    return store.config_version()


def _stored(row: tuple[int, bytes, str, str, str, str]) -> StoredConfig:
    return StoredConfig(*row)


def stored(store: ServerStore, version: int | None = None) -> StoredConfig:
    """Version ``version`` (default: the newest); the package default when none was imported.

    Raises:
        StoreError: no such version.
    """
    row = store.config_row(version)
    if row is None:
        if version in (None, 0):
            return _default()
        raise StoreError(f"Configuratieversie {version} bestaat niet.")
    return _stored(row)


def history(store: ServerStore) -> list[StoredConfig]:
    """Every stored version, oldest first (without the package default)."""
    return [_stored(r) for r in store.config_rows()]


_unusable: set[str] = set()  # ETags of stored versions that did not load (logged once each)


def activate_stored(store: ServerStore) -> int:
    """Make the newest stored version the configuration in force in this process (the server at start
    and at each request when the version changed, admin commands); returns the version in force.

    A stored version that does not load (e.g. written by a newer server) leaves the configuration in
    force as it was: the error is logged once, and ``/ready`` reports it (check ``configuratie``).
    """
    version = current_version(store)
    if version == gemeente().version:
        return version
    if not version:
        activate(None)
        return 0
    cur = stored(store)
    try:
        activate(cur.config)
    except ConfigError as exc:
        if cur.etag not in _unusable:
            _unusable.add(cur.etag)
            logging.getLogger("wijkteam.server").error(
                "gemeenteconfiguratie onbruikbaar", extra={"fields": {"version": cur.version, "fout": exc.message}}
            )
    return gemeente().version


def import_config(store: ServerStore, config: GemeenteConfig, *, source: str, user: str) -> tuple[int, bool]:
    """Store ``config`` as the next version, unless it equals the current one.

    Checked against the current version first (``shared.gemeente.check_successor``: a category may
    be retired, never removed). One ``BEGIN IMMEDIATE`` transaction: the version exists whole or not
    at all.

    Returns:
        ``(version, changed)``: the new version and True, or the current version and False when the
        configuration is the same as the one in force.

    Raises:
        ConfigError: the successor rules are broken; nothing is stored.
    """
    made: list[int] = []

    def make(newest: tuple[int, bytes, str, str, str, str] | None) -> tuple[int, bytes, str, str, str, str] | None:
        cur = _stored(newest) if newest else _default()
        check_successor(cur.config, config)
        same = encode_config(msgspec.structs.replace(config, version=cur.version)) == cur.body
        if same and cur.version > 0:
            made.append(cur.version)
            return None
        version = cur.version + 1
        body = encode_config(msgspec.structs.replace(config, version=version))
        made.append(version)
        return (version, body, _etag(version, body), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), user, source)

    row = store.add_config(make, actor=user, describe=lambda r: f"versie {r[0]} uit {source}")
    if row is None:
        return made[-1], False
    return row[0], True


# -- CLI -----------------------------------------------------------------------------------------


def summary(cfg: GemeenteConfig) -> list[str]:
    """Dutch lines describing a configuration, for ``config show`` and ``config import``."""
    from shared.taxonomy import taxonomy_from_defs

    tax = taxonomy_from_defs(cfg.taxonomy)
    retired = [c.code for c in tax.categories if c.vervallen]
    spoed = sum(1 for c in tax.categories if "spoed" in c.normen)
    lines = [
        f"{cfg.naam} (CBS {cfg.code}), voorvoegsel {cfg.prefix}, {cfg.inwoners:_} inwoners".replace("_", "."),
        f"Categorieën: {len(tax.categories) - len(retired)} actief"
        + (f", {len(retired)} vervallen ({', '.join(retired)})" if retired else "")
        + f"; {spoed} met een eigen spoednorm",
        f"Terugbelnorm: {cfg.terugbelnorm} werkdag{'en' if cfg.terugbelnorm != 1 else ''}",
        "Feestdagen: Goede Vrijdag " + ("vrij" if cfg.feestdagen.goede_vrijdag_vrij else "werkdag")
        + ", 5 mei " + ("vrij" if cfg.feestdagen.bevrijdingsdag_vrij else "werkdag"),
        f"Bewaartermijnen: contactgegevens anonimiseren na {cfg.bewaartermijnen.anonimiseren_na_dagen} dagen; "
        + ", ".join(f"{s} verwijderen na {n} jaar" for s, n in cfg.bewaartermijnen.verwijderen_na_jaren.items()),
        f"Certificeringscriteria: {len(cfg.certificering.criteria)}; standaardteksten: {len(cfg.teksten)}",
    ]
    for g in cfg.wijken.gemeente:
        for w in g.wijk:
            who = ", ".join(w.wijkuitvoerders) or "nog niemand"
            lines.append(f"Wijk {w.code} ({w.naam}, {g.naam}): wijkuitvoerder(s) {who}")
    if cfg.wijken.grenzen:
        lines.append(f"Wijkgrenzen: {len(cfg.wijken.grenzen.get('features', []))} vlakken")
    if cfg.voorbeeld:
        lines.append("LET OP: dit is een verzonnen voorbeeldconfiguratie.")
    return lines


def _import(args: argparse.Namespace) -> int:
    from sync_server.cli_common import open_store

    path = Path(args.path)
    if not path.exists():
        print(f"Fout: {path} bestaat niet.", file=sys.stderr)
        return 1
    try:
        config = read_config(path)
    except ConfigError as exc:
        print(f"Fout in de configuratie: {exc.message}", file=sys.stderr)
        print("Er is niets veranderd.", file=sys.stderr)
        return 1
    store = open_store(args)
    try:
        users = {u.name for u in store.list_users() if not u.revoked_at}
        unknown = sorted({n for g in config.wijken.gemeente for w in g.wijk for n in w.wijkuitvoerders} - users)
        if args.dry_run:
            check_successor(stored(store).config, config)
            print(f"Geldig: {path} (er is niets opgeslagen, --dry-run).")
            version, changed = None, True
        else:
            version, changed = import_config(store, config, source=path.name, user=audit.cli_actor())
    except ConfigError as exc:
        print(f"Fout in de configuratie: {exc.message}", file=sys.stderr)
        print("Er is niets veranderd.", file=sys.stderr)
        return 1
    finally:
        store.close()
    for line in summary(config):
        print(f"  {line}")
    for name in unknown:
        print(f"Waarschuwing: wijkuitvoerder '{name}' is (nog) geen gebruiker van deze server.", file=sys.stderr)
    if version is not None:
        if changed:
            print(f"Configuratie versie {version} opgeslagen uit {path}; laptops krijgen haar bij hun volgende sync.")
        else:
            print(f"Ongewijzigd: {path} is gelijk aan versie {version}, die al in gebruik is.")
    return 0


def _stored_of(args: argparse.Namespace) -> tuple[StoredConfig, list[StoredConfig]]:
    """The version ``--version`` (default the newest) of ``--db``, and every stored version."""
    from sync_server.cli_common import open_store

    store = open_store(args)
    try:
        return stored(store, args.version), history(store)
    finally:
        store.close()


def _show(args: argparse.Namespace) -> int:
    cur, past = _stored_of(args)
    where = f"geladen {cur.imported_at} door {cur.imported_by} uit {cur.source}" if cur.version else cur.source
    print(f"Configuratie versie {cur.version} ({where})")
    for line in summary(cur.config):
        print(f"  {line}")
    if len(past) > 1:
        print("Eerdere versies:")
        for s in past[:-1]:
            print(f"  versie {s.version}: {s.imported_at} door {s.imported_by} uit {s.source}")
    return 0


def _export(args: argparse.Namespace) -> int:
    cur, _ = _stored_of(args)
    out = Path(args.dir)
    if out.exists() and any(out.iterdir()):
        print(f"Fout: {out} is niet leeg; kies een nieuwe of lege map.", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    files = to_files(cur.config)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    print(f"Configuratie versie {cur.version} geschreven naar {out} ({', '.join(files)}).")
    print(f"Pas aan en laad opnieuw met: wijkteam-server config import {out}")
    return 0


def configure(sub: Any) -> None:
    """Add ``config import|show|export|check`` to ``wijkteam-server`` (``sync_server.cli.COMMANDS``)."""
    from sync_server.cli_common import add_command
    from sync_server.server_config import configure_check

    p = sub.add_parser(
        "config", help="de gemeenteconfiguratie (en de serverinstellingen controleren)",
        description="gemeenteconfiguratie: categorieën, normen, wijken, feestdagen, criteria, teksten",
    )  # fmt: skip
    c = p.add_subparsers(dest="config_command", required=True, metavar="{import,show,export,check}")
    imp = add_command(c, "import", "laad een gemeenteconfiguratie (map of één TOML-bestand) als nieuwe versie")
    imp.add_argument("path", type=Path, help="map met gemeente.toml, taxonomy.toml, wijken.toml, … of één TOML-bestand")
    imp.add_argument("--dry-run", action="store_true", help="alleen controleren, niets opslaan")
    imp.set_defaults(func=_import)
    show = add_command(c, "show", "toon de configuratie in gebruik (of een eerdere versie)")
    show.add_argument("--version", type=int, default=None, help="een eerdere versie")
    show.set_defaults(func=_show)
    exp = add_command(c, "export", "schrijf de configuratie als map met TOML-bestanden (om aan te passen)")
    exp.add_argument("dir", type=Path, help="nieuwe of lege map")
    exp.add_argument("--version", type=int, default=None, help="een eerdere versie")
    exp.set_defaults(func=_export)
    configure_check(c)
