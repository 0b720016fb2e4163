"""The two store engines for the tests (issue 17): every server-store test runs on SQLite and on
PostgreSQL through the parametrised fixture ``store_location`` (``tests/conftest.py``).

PostgreSQL: one private cluster per test session (``tests.pg_cluster``), started at the first test
that asks for it; one database in it; each test gets a schema of its own (``t_<n>``) through the
connection URL's ``search_path``, so a test starts on an empty database without the cost of a
``CREATE DATABASE``. Where no cluster can be started, the PostgreSQL half is skipped with the reason,
and the run's summary repeats it (:func:`report_unavailable`).
"""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import quote

from tests import pg_cluster

#: Why PostgreSQL was skipped in this session (None: not tried or running).
unavailable: str | None = None
_cluster: pg_cluster.Cluster | None = None
_base_url: str | None = None
_numbers = itertools.count(1)


def cluster() -> pg_cluster.Cluster:
    """The session's cluster, started at the first call.

    Raises:
        pg_cluster.Unavailable: none can be started here (the reason is kept in :data:`unavailable`).
    """
    global _cluster, unavailable, _base_url
    if unavailable is not None:
        raise pg_cluster.Unavailable(unavailable)
    if _cluster is None:
        try:
            _cluster = pg_cluster.start()
            _base_url = _cluster.new_database("wijkteam_tests")
            import psycopg

            with psycopg.connect(_base_url, autocommit=True) as c:
                # Extensions belong to a database, not a schema: made once, in public, which every
                # test's search_path includes.
                c.execute("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
        except pg_cluster.Unavailable as exc:
            unavailable = str(exc)
            raise
    return _cluster


def new_schema_url() -> str:
    """A URL of the test database whose ``search_path`` is a new, empty schema (then ``public``)."""
    import psycopg

    cluster()
    assert _base_url is not None
    name = f"t_{next(_numbers)}"
    with psycopg.connect(_base_url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {name}")
    return f"{_base_url}?options={quote(f'-csearch_path={name},public')}"


def drop_schema(url: str) -> None:
    """Drop the schema of a :func:`new_schema_url` URL (and every table in it)."""
    import psycopg

    assert _base_url is not None
    name = url.split("search_path%3D", 1)[1].split("%2C", 1)[0]
    with psycopg.connect(_base_url, autocommit=True) as c:
        c.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def new_database_url(prefix: str = "db") -> str:
    """A URL of a new database of its own (for what a schema cannot stand in for: dumps and restores)."""
    return cluster().new_database(prefix)


def stop() -> None:
    """Stop the session's cluster (when one was started)."""
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        _cluster = None


def report_unavailable() -> str | None:
    """The line for the run's summary when PostgreSQL tests were skipped, else None."""
    if unavailable is None:
        return None
    return f"PostgreSQL-tests overgeslagen: {unavailable}"


def sql(store: Any, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement (``?`` placeholders) in a transaction of ``store`` (a ``ServerStore``) on
    either engine and return its rows (none for a statement without a result): how a test looks
    inside the store or bends it, where ``store.conn()`` is SQLite's only."""
    with store.write(serial=False) as c:
        cur = c.execute(query, params)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []
