"""The SQL that differs between the two database engines of the stores (issue 17), and a PostgreSQL
connection that speaks the same DB-API as ``sqlite3``.

The server store, the KCC search and the barometer's SQL are written once, in SQL both SQLite and
PostgreSQL 15 run, with ``?`` (or ``:name``) parameters as ``sqlite3`` takes them. Where the engines
differ (``max(a, b)`` against ``GREATEST``, ``json_extract`` against ``->>``, ``julianday`` against
``extract(epoch …)``, a list parameter) the code asks the connection's :class:`Dialect`
(:func:`dialect_of`) for the fragment. :class:`PgConnection` wraps a psycopg 3 connection so that
``execute``/``executemany``/``executescript`` take that SQL unchanged: :func:`to_psycopg` rewrites the
parameters to psycopg's ``%s`` / ``%(name)s`` (and doubles a literal ``%``), once per statement text.

psycopg is imported only when a PostgreSQL connection is made: SQLite needs nothing installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any


class Dialect:
    """SQL fragments of one engine. Use the module's :data:`SQLITE` and :data:`POSTGRES`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.postgres = name == "postgresql"

    def __repr__(self) -> str:
        return f"Dialect({self.name!r})"

    def greatest(self, *exprs: str) -> str:
        """The largest of the expressions (NULL when one is NULL on SQLite; ignored on PostgreSQL:
        pass non-NULL expressions)."""
        return f"{'GREATEST' if self.postgres else 'max'}({', '.join(exprs)})"

    def least(self, *exprs: str) -> str:
        """The smallest of the expressions (see :meth:`greatest` for NULL)."""
        return f"{'LEAST' if self.postgres else 'min'}({', '.join(exprs)})"

    def as_int(self, condition: str) -> str:
        """A condition as 0/1 (NULL stays NULL), for sums and bit masks in both engines. PostgreSQL
        casts a boolean to ``integer`` only, and 1 × a ``bigint`` bit is a ``bigint``."""
        return f"CAST(({condition}) AS {'INTEGER' if self.postgres else 'BIGINT'})"

    def json_text(self, column: str, key: str) -> str:
        """The text of top-level ``key`` of the JSON text in ``column`` (NULL when absent)."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ValueError(f"JSON key {key!r}")
        return f"({column}::jsonb ->> '{key}')" if self.postgres else f"json_extract({column}, '$.{key}')"

    def epoch_ms(self, column: str) -> str:
        """ms since the Unix epoch of the UTC ISO text in ``column`` (``2026-03-01T09:00:00.000000Z``), as a
        floating point number."""
        if self.postgres:
            return f"(extract(epoch FROM CAST({column} AS timestamptz)) * 1000.0)"
        return f"((julianday({column}) - 2440587.5) * 86400000.0)"

    def in_list(self, expr: str) -> str:
        """``expr`` is one of the values of a single list parameter (pass :meth:`list_param`): one
        parameter however long the list, so no statement grows with it."""
        if self.postgres:
            return f"{expr} = ANY(?)"
        return f"{expr} IN (SELECT value FROM json_each(?))"

    def list_param(self, values: Iterable[Any]) -> Any:
        """The parameter for :meth:`in_list`: a list (PostgreSQL array) or JSON text (SQLite)."""
        values = list(values)
        if self.postgres:
            return values
        import json

        return json.dumps(values)

    @property
    def like_nocase(self) -> str:
        """The operator of a LIKE that ignores ASCII case (SQLite's ``LIKE`` does by default)."""
        return "ILIKE" if self.postgres else "LIKE"

    def columns(self, conn: Any, table: str) -> list[str]:
        """The column names of ``table`` in order (empty when there is no such table)."""
        if self.postgres:
            rows = conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = ? ORDER BY ordinal_position",
                (table,),
            ).fetchall()
            return [r[0] for r in rows]
        try:
            return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
        except Exception:  # noqa: BLE001 - sqlite3.Error without importing sqlite3 here
            return []

    def ddl(self, sqlite_ddl: str) -> str:
        """This engine's form of DDL written for SQLite. PostgreSQL: 64-bit integers, ``DOUBLE
        PRECISION``, ``BYTEA``, identity columns for SQLite's integer primary keys, no ``WITHOUT
        ROWID``; an index ``COLLATE NOCASE`` is left out (the server's case-insensitive street index
        is PostgreSQL's own, ``sync_server.storage.schema.POSTGRES_SEARCH``)."""
        if not self.postgres:
            return sqlite_ddl
        out = []
        for statement in sqlite_ddl.split(";"):
            s = statement.strip()
            if not s or "COLLATE NOCASE" in s:
                continue
            s = re.sub(r"\bINTEGER PRIMARY KEY( AUTOINCREMENT)?", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", s)
            s = re.sub(r"\bINTEGER\b", "BIGINT", s)
            s = re.sub(r"\bREAL\b", "DOUBLE PRECISION", s)
            s = re.sub(r"\bBLOB\b", "BYTEA", s)
            out.append(s.replace(" WITHOUT ROWID", "") + ";")
        return "\n".join(out)

    def has_table(self, conn: Any, table: str) -> bool:
        """Whether ``table`` exists (temporary tables not counted)."""
        if self.postgres:
            return conn.execute("SELECT to_regclass(?) IS NOT NULL", (table,)).fetchone()[0]
        row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        return row is not None


SQLITE = Dialect("sqlite")
POSTGRES = Dialect("postgresql")


def dialect_of(conn: Any) -> Dialect:
    """The dialect of a connection: :data:`POSTGRES` for a :class:`PgConnection`, else :data:`SQLITE`."""
    return getattr(conn, "dialect", SQLITE)


_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|::|:[A-Za-z_][A-Za-z0-9_]*|\?|%""")


@lru_cache(maxsize=1024)
def to_psycopg(sql: str) -> str:
    """``sql`` with ``sqlite3``'s parameters (``?``, ``:name``) as psycopg's (``%s``, ``%(name)s``); every
    ``%`` (also inside string literals, which psycopg scans too) doubled. Quoted strings, quoted
    identifiers, comments and ``::`` casts are left alone otherwise."""

    def swap(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "?":
            return "%s"
        if tok == "%":
            return "%%"
        if tok.startswith(":") and tok != "::":
            return f"%({tok[1:]})s"
        if tok[0] in "'\"" or tok.startswith("--"):
            return tok.replace("%", "%%")
        return tok

    return _TOKEN.sub(swap, sql)


class PgConnection:
    """A psycopg 3 connection with ``sqlite3``'s calling conventions (see the module docstring).

    ``execute`` returns a psycopg cursor: ``fetchone``, ``fetchall``, ``fetchmany``, iteration and
    ``description`` (``d[0]`` is the column name) work as with ``sqlite3``. Python ``bool`` values
    are sent as integers (the stores keep flags as 0/1, as SQLite does).

    Attributes:
        raw: the psycopg connection.
        dialect: :data:`POSTGRES`.
    """

    dialect = POSTGRES

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        #: Set by the server store while its transaction holds the event log's lock (issue 17).
        self.log_locked = False

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        cur = self.raw.cursor()
        if params:
            cur.execute(to_psycopg(sql), params)
        else:  # without parameters psycopg sends the text as it is: no % to double
            cur.execute(sql)
        return cur

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> Any:
        cur = self.raw.cursor()
        rows = list(seq)
        if rows:
            cur.executemany(to_psycopg(sql), rows)
        return cur

    def executescript(self, script: str) -> None:
        """Run several statements without parameters (DDL)."""
        self.raw.execute(script)

    def close(self) -> None:
        self.raw.close()

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE


def configure_connection(raw: Any) -> None:
    """Adapt a new psycopg connection (psycopg_pool's ``configure``): ``bool`` parameters as integers."""
    from psycopg.types.numeric import Int8Dumper

    class _BoolAsInt(Int8Dumper):
        pass

    raw.adapters.register_dumper(bool, _BoolAsInt)
