"""The server database's tables, written once (issue 17): SQLite's DDL below, PostgreSQL's derived from
it by ``wijkteam_store.dialect.Dialect.ddl``, plus each engine's full-text search.

Tables (docs/sync.md, "Sync protocol"; docs/server.md):

* ``events``: every accepted event, once (``event_id`` UNIQUE), numbered by ``server_seq`` (SQLite: the
  rowid, ``AUTOINCREMENT`` so a number is never reused; PostgreSQL: an identity column taken while the
  transaction holds the event log's lock, see ``sync_server.storage.engines``).
* ``quarantine``: refused events with the reason and the raw text as received.
* ``meldingen``: the projection, exactly ``shared.projection.COLUMNS`` (melding_id primary key), written
  in the same transaction as the events. Search: SQLite ``meldingen_fts`` (FTS5, rowid =
  ``meldingen.rowid``) over reference, omschrijving, address and melder name, kept by triggers;
  PostgreSQL two extra columns, ``row_no`` (the arrival order, as SQLite's rowid) and ``fts`` (a
  ``tsvector``: the melder's name with weight A, the rest with weight B, accents removed by
  ``unaccent``), kept by a trigger, with a GIN index.
* ``barometer_rows``: the barometer's narrow summary of each projection row that counts
  (``wijkteam_reports.summary``).
* ``users``, ``devices``, ``reference_clashes``, ``audit``, ``server_state`` (schema version, the
  server's HLC, the server device's counters, the log id).
* ``gemeente_config`` (``sync_server.gemeente_config``), ``gazetteer`` and ``gazetteer_meta``
  (``sync_server.gazetteer_cli``), ``import_rows`` (``sync_server.import_cli``).
"""

from __future__ import annotations

from shared.protocol import VerdictState
from wijkteam_store.schema import projection_columns_sql

#: Address columns joined into one text for the search, in this order.
ADRES_PARTS = ("straat", "huisnummer", "huisletter", "huisnummertoevoeging", "postcode", "woonplaats", "locatie_omschrijving")


def _adres_text_sql(prefix: str) -> str:
    return "trim(" + " || ' ' || ".join(f"coalesce({prefix}.{p}, '')" for p in ADRES_PARTS) + ")"




_PROJECTION_COLUMNS = projection_columns_sql(",\n  ")

#: Tables and indexes both engines have, in SQLite's syntax (``Dialect.ddl`` derives PostgreSQL's).
TABLES = f"""
CREATE TABLE IF NOT EXISTS server_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  server_seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  melding_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  device_seq INTEGER NOT NULL,
  hlc INTEGER NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  "user" TEXT NOT NULL,
  prev TEXT,
  "schema" INTEGER NOT NULL,
  received_at TEXT NOT NULL,
  pushed_by TEXT
);
CREATE INDEX IF NOT EXISTS events_melding ON events(melding_id);
CREATE TABLE IF NOT EXISTS quarantine (
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  device_id TEXT,
  reason TEXT NOT NULL,
  raw TEXT NOT NULL,
  received_at TEXT NOT NULL,
  pushed_by TEXT
);
CREATE TABLE IF NOT EXISTS devices (
  device_code TEXT PRIMARY KEY,
  user_name TEXT NOT NULL,
  issued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meldingen (
  {_PROJECTION_COLUMNS}
);
CREATE INDEX IF NOT EXISTS meldingen_reference ON meldingen(reference);
CREATE INDEX IF NOT EXISTS meldingen_postcode_huisnummer ON meldingen(postcode, huisnummer);
CREATE INDEX IF NOT EXISTS meldingen_telefoon ON meldingen(melder_telefoon);
CREATE INDEX IF NOT EXISTS meldingen_email ON meldingen(melder_email COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS meldingen_straat ON meldingen(straat COLLATE NOCASE, huisnummer);
CREATE INDEX IF NOT EXISTS meldingen_registered_date ON meldingen(registered_date);
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  device_code TEXT UNIQUE,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS reference_clashes (
  id INTEGER PRIMARY KEY,
  reference TEXT NOT NULL,
  melding_id TEXT NOT NULL,
  other_melding_id TEXT NOT NULL,
  detected_at TEXT NOT NULL,
  UNIQUE (reference, melding_id, other_melding_id)
);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  melding_id TEXT,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_melding ON audit(melding_id);
CREATE TABLE IF NOT EXISTS gemeente_config (
  version INTEGER PRIMARY KEY,
  body BLOB NOT NULL,
  etag TEXT NOT NULL,
  imported_at TEXT NOT NULL,
  imported_by TEXT NOT NULL,
  source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS gazetteer (
  id INTEGER PRIMARY KEY,
  openbare_ruimte TEXT NOT NULL,
  huisnummer INTEGER NOT NULL,
  huisletter TEXT,
  huisnummertoevoeging TEXT,
  postcode TEXT NOT NULL DEFAULT '',
  woonplaats TEXT NOT NULL,
  gemeente TEXT NOT NULL DEFAULT '',
  bag_id TEXT NOT NULL DEFAULT '',
  lat REAL NOT NULL,
  lon REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS gazetteer_postcode ON gazetteer(postcode, huisnummer);
CREATE TABLE IF NOT EXISTS gazetteer_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS import_rows (
  key TEXT PRIMARY KEY,
  melding_id TEXT NOT NULL,
  reference TEXT NOT NULL,
  bron TEXT NOT NULL,
  file TEXT NOT NULL,
  line INTEGER NOT NULL,
  imported_at TEXT NOT NULL
);
"""

#: The quarantine's and the devices' columns of schema 4 (``ServerStore._migrate_4`` adds them to an
#: older SQLite file; a new database has them from the start).
QUARANTINE_COLUMNS = (
    ("code", "TEXT NOT NULL DEFAULT ''"),
    ("melding_id", "TEXT"),
    ("status", f"TEXT NOT NULL DEFAULT '{VerdictState.WAITING.value}'"),
    ("decided_at", "TEXT"),
    ("decided_by", "TEXT"),
    ("note", "TEXT NOT NULL DEFAULT ''"),
    ("event_type", "TEXT"),
)
DEVICE_COLUMNS = (
    ("last_hlc", "INTEGER NOT NULL DEFAULT 0"),
    ("reported_seq", "INTEGER NOT NULL DEFAULT 0"),
    ("reported_at", "TEXT"),
)

_FTS_INSERT = (
    "INSERT INTO meldingen_fts(rowid, reference, omschrijving, adres, melder_naam) "
    f"VALUES (new.rowid, new.reference, new.omschrijving, {_adres_text_sql('new')}, new.melder_naam);"
)

#: SQLite's full-text search: FTS5 over the projection, kept by triggers.
SQLITE_SEARCH = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS meldingen_fts USING fts5(
  reference, omschrijving, adres, melder_naam, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE TRIGGER IF NOT EXISTS meldingen_fts_ai AFTER INSERT ON meldingen BEGIN
  {_FTS_INSERT}
END;
CREATE TRIGGER IF NOT EXISTS meldingen_fts_au AFTER UPDATE ON meldingen BEGIN
  DELETE FROM meldingen_fts WHERE rowid = old.rowid;
  {_FTS_INSERT}
END;
CREATE TRIGGER IF NOT EXISTS meldingen_fts_ad AFTER DELETE ON meldingen BEGIN
  DELETE FROM meldingen_fts WHERE rowid = old.rowid;
END;
"""

#: The words of a text as the search indexes them on PostgreSQL: accents removed (``unaccent``), lower
#: case, every run of other characters than letters and digits one space — the tokens of SQLite's
#: ``unicode61 remove_diacritics 2``.
PG_WORDS = "regexp_replace(lower(unaccent({0})), '[^[:alnum:]]+', ' ', 'g')"

#: PostgreSQL's full-text search: ``row_no`` and ``fts`` on the projection (see the module docstring).
POSTGRES_SEARCH = f"""
CREATE EXTENSION IF NOT EXISTS unaccent;
ALTER TABLE meldingen ADD COLUMN IF NOT EXISTS row_no BIGINT GENERATED ALWAYS AS IDENTITY;
ALTER TABLE meldingen ADD COLUMN IF NOT EXISTS fts tsvector;
CREATE OR REPLACE FUNCTION wijkteam_words(t text) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT {PG_WORDS.format("coalesce(t, '')")} $$;
CREATE OR REPLACE FUNCTION wijkteam_meldingen_fts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.fts := setweight(to_tsvector('simple', wijkteam_words(NEW.melder_naam)), 'A')
    || setweight(to_tsvector('simple', wijkteam_words(concat_ws(' ', NEW.reference, NEW.omschrijving,
       {", ".join(f"NEW.{p}" for p in ADRES_PARTS)}))), 'B');
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS meldingen_fts ON meldingen;
CREATE TRIGGER meldingen_fts BEFORE INSERT OR UPDATE ON meldingen
  FOR EACH ROW EXECUTE FUNCTION wijkteam_meldingen_fts();
CREATE INDEX IF NOT EXISTS meldingen_fts_gin ON meldingen USING gin (fts);
CREATE INDEX IF NOT EXISTS meldingen_row_no ON meldingen(row_no);
CREATE INDEX IF NOT EXISTS meldingen_straat_lower ON meldingen(lower(straat) text_pattern_ops, huisnummer);
CREATE INDEX IF NOT EXISTS meldingen_email_lower ON meldingen(lower(melder_email));
"""


def add_columns_sql(table: str, columns: tuple[tuple[str, str], ...], have: set[str]) -> list[str]:
    """``ALTER TABLE … ADD COLUMN`` for each of ``columns`` that ``table`` lacks (SQLite's syntax)."""
    return [f"ALTER TABLE {table} ADD COLUMN {name} {decl}" for name, decl in columns if name not in have]
