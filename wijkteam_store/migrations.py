"""The migration runner of the stores: a registry of numbered steps, run in order.

A store keeps its schema version (the laptop in its ``schema_version`` table) and lists its steps in a :class:`Migrations`: step *n* brings a database from
version *n − 1* to *n*. :meth:`Migrations.run` takes a database at any older version to the newest
one, each step in its own transaction together with the record of its version, so a crash or a
failing step leaves the database at the last version that was completed, and the next open goes on
from there. A database of a newer version than the software knows is refused with a
:class:`~wijkteam_store.errors.StoreError` (newer software may have written what this one would
misread).

Steps are written for the oldest layout they can meet and are idempotent where a new database
already has the newest layout (a new laptop file is made by step 1 from today's
``shared.projection.COLUMNS``; the later steps then find little to do). A step may need to work
outside a transaction first (SQLite's ``VACUUM`` cannot run inside one): its ``prepare`` runs before
the step's transaction and may return False to stop there, leaving the database at the version
before (its layout is still good) for the next open to try again.

sqlite-utils' migration plugin was considered and not taken: it is SQLite-only, and the server store
is to run on PostgreSQL too. The laptop store uses this runner; the server's store is to take it over
with its store interface (issue 17 §2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from wijkteam_store.errors import StoreError


@dataclass(frozen=True)
class Migration:
    """One numbered step.

    Attributes:
        version: the version the step brings the database to (1, 2, …).
        apply: ``apply(conn)``: the step's work, inside the runner's transaction.
        prepare: optional ``prepare(conn, current) -> bool``, run outside a transaction before the
            step (``current``: the version the database had when the run began, 0 for a new one);
            False stops the run before this step.
    """

    version: int
    apply: Callable[[Any], None]
    prepare: Callable[[Any, int], bool] | None = None


class Migrations:
    """The ordered steps of one store's schema.

    Args:
        steps: the steps, numbered 1, 2, … without a gap (any order).
        newer: the Dutch message for a database of a newer version: formatted with ``found`` (its
            version) and ``known`` (:attr:`latest`).

    Raises:
        ValueError: the versions are not 1…n.
    """

    def __init__(self, steps: Iterable[Migration], *, newer: str) -> None:
        self.steps = sorted(steps, key=lambda m: m.version)
        if [m.version for m in self.steps] != list(range(1, len(self.steps) + 1)):
            raise ValueError(f"migration versions must be 1..n, got {[m.version for m in self.steps]}")
        self.newer = newer

    @property
    def latest(self) -> int:
        """The newest version (the number of steps)."""
        return len(self.steps)

    def check(self, current: int) -> None:
        """Refuse a database of a version newer than :attr:`latest`.

        Raises:
            StoreError: ``current`` > :attr:`latest` (the message of ``newer``).
        """
        if current > self.latest:
            raise StoreError(self.newer.format(found=current, known=self.latest))

    def run(
        self,
        conn: Any,
        current: int,
        *,
        transaction: Callable[[], AbstractContextManager[Any]],
        record: Callable[[Any, int], None],
        until: int | None = None,
    ) -> int:
        """Bring the database on ``conn`` from version ``current`` to :attr:`latest` (or ``until``).

        Each step runs as ``with transaction(): step.apply(conn); record(conn, step.version)``.

        Args:
            conn: the connection the steps work on (the one ``transaction`` begins and commits).
            current: the database's version now (0: new).
            transaction: a context manager of one write transaction on ``conn``.
            record: stores the version reached, in the step's transaction.
            until: stop after this version (tests build older layouts with it).

        Returns:
            The version the database is at afterwards.

        Raises:
            StoreError: the database is newer than this software (nothing is changed).
            Whatever a step raises: that step is rolled back; earlier steps stay done.
        """
        self.check(current)
        start = current
        for step in self.steps[current : until if until is not None else None]:
            if step.prepare is not None and not step.prepare(conn, start):
                break
            with transaction():
                step.apply(conn)
                record(conn, step.version)
            current = step.version
        return current
