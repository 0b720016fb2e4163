"""The stores' migration runner (wijkteam_store.migrations): order, a step rolled back whole, a
prepare step that stops the run, a newer database refused, versions without a gap."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from wijkteam_store.errors import StoreError
from wijkteam_store.migrations import Migration, Migrations


class Db:
    """An in-memory database that records its version in ``v``."""

    def __init__(self) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        self.conn.execute("CREATE TABLE v (version INTEGER)")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def record(self, conn: sqlite3.Connection, version: int) -> None:
        conn.execute("INSERT INTO v VALUES (?)", (version,))

    def version(self) -> int:
        return self.conn.execute("SELECT coalesce(max(version), 0) FROM v").fetchone()[0]

    def run(self, migrations: Migrations, **kw: object) -> int:
        return migrations.run(self.conn, self.version(), transaction=self.transaction, record=self.record, **kw)


def steps(*extra: Migration) -> list[Migration]:
    return [
        Migration(1, lambda c: c.execute("CREATE TABLE t (a INTEGER)")),
        Migration(2, lambda c: c.execute("ALTER TABLE t ADD COLUMN b TEXT")),
        *extra,
    ]


def test_runs_the_missing_steps_in_order_and_records_each() -> None:
    db = Db()
    m = Migrations(steps(), newer="nieuwer: {found} > {known}")
    assert m.latest == 2
    assert db.run(m, until=1) == 1 and db.version() == 1
    assert db.run(m) == 2
    assert [r[1] for r in db.conn.execute("PRAGMA table_info(t)")] == ["a", "b"]
    assert db.run(m) == 2  # nothing left to do


def test_a_failing_step_is_rolled_back_and_the_earlier_ones_stay() -> None:
    def boom(c: sqlite3.Connection) -> None:
        c.execute("CREATE TABLE half (x)")
        raise RuntimeError("step 3 fails")

    db = Db()
    with pytest.raises(RuntimeError):
        db.run(Migrations(steps(Migration(3, boom)), newer="{found}"))
    assert db.version() == 2
    assert db.conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half'").fetchone()[0] == 0


def test_prepare_may_stop_the_run_before_its_step() -> None:
    seen: list[int] = []

    def prepare(c: sqlite3.Connection, current: int) -> bool:
        seen.append(current)
        return current == 0  # a new database goes on; an existing one stops here

    m = Migrations(steps(Migration(3, lambda c: None, prepare=prepare)), newer="{found}")
    db = Db()
    assert db.run(m, until=2) == 2
    assert db.run(m) == 2 and seen == [2]
    fresh = Db()
    assert fresh.run(m) == 3 and seen == [2, 0]


def test_a_newer_database_is_refused_with_the_stores_message() -> None:
    db = Db()
    db.record(db.conn, 9)
    with pytest.raises(StoreError, match="versie 9, deze software kent 2"):
        db.run(Migrations(steps(), newer="versie {found}, deze software kent {known}"))


def test_versions_must_be_numbered_without_a_gap() -> None:
    with pytest.raises(ValueError):
        Migrations([Migration(1, lambda c: None), Migration(3, lambda c: None)], newer="")
