"""The laptop's local store: event log, projection and full-text index in one SQLite file.

Layout (docs/design.md, "Storage" and "Records are event logs"):

* ``events``: every event this laptop made or pulled; ``acked`` = 1 once the server has it.
* ``meldingen``: the projection, exactly the columns of :data:`shared.projection.COLUMNS`, rewritten
  with :func:`shared.projection.projection_row` of the refolded state in the same transaction as
  the events that changed it.
* ``meldingen_fts``: FTS5 over reference, omschrijving, address and melder name (rowid = the
  projection row's rowid), kept in sync by the same code path.
* ``device``: one row with this laptop's device code, event counter, HLC, melding counter and the
  pull cursor of sync.
* ``gemeente_config``: at most one row, the municipality configuration received from the server
  (``shared.gemeente``; canonical JSON and the server's ETag). None: the package default applies.

Every write is one ``BEGIN IMMEDIATE`` transaction with ``synchronous=FULL`` (a user's work and a
server acknowledgement depend on the commit). The connection belongs to the thread that opened
it: a sync worker thread opens its own :class:`LocalStore` on the same path.

:class:`LocalStore` is one class made of parts along its seams, each in its own module:

* :mod:`.core`: the connection, transactions, migrations, the device row and the municipality
  configuration (:class:`~.core.StoreCore`, the base of the parts);
* :mod:`.schema`: the tables and their migrations (:data:`MIGRATIONS`, run by the stores' runner
  ``wijkteam_store.migrations``);
* :mod:`.projection`: events in, the projection and its full-text rows refolded in the same transaction;
* :mod:`.search`: the list, search-as-you-type, look-ups and the werkvoorraad;
* :mod:`.sync`: unsent events, refusals and verdicts, the clock, pulled pages, the server log;
* :mod:`.erasure`: erased meldingen rewritten to the bytes (issue 16).

Event rows are written and read by ``wijkteam_store.codec``, errors are ``wijkteam_store.errors.StoreError``.
"""

from __future__ import annotations

from wijkteam_store.errors import StoreError
from wijkteam_store.local.core import OPENING, NoDeviceCode, StoreCore, local_work
from wijkteam_store.local.erasure import ErasureMixin
from wijkteam_store.local.projection import ProjectionMixin
from wijkteam_store.local.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SECURE_DELETE_SINCE,
    add_projection_columns,
    sort_key,
    werkvoorraad_backfill,
)
from wijkteam_store.local.search import (
    COUNT_CAP,
    LIST_COLUMNS,
    MIN_SEARCH_CHARS,
    SearchMixin,
    fts_query,
    reference_prefix,
)
from wijkteam_store.local.sync import SyncMixin

__all__ = [
    "COUNT_CAP",
    "LIST_COLUMNS",
    "MIGRATIONS",
    "MIN_SEARCH_CHARS",
    "OPENING",
    "SCHEMA_VERSION",
    "SECURE_DELETE_SINCE",
    "LocalStore",
    "NoDeviceCode",
    "StoreError",
    "add_projection_columns",
    "fts_query",
    "local_work",
    "reference_prefix",
    "sort_key",
    "werkvoorraad_backfill",
]


class LocalStore(SyncMixin, ErasureMixin, SearchMixin, ProjectionMixin, StoreCore):
    """The local SQLite store of one laptop.

    Args:
        path: the database file (created with its schema when missing).
        busy_timeout_ms: how long a write waits for another connection's lock before
            :class:`StoreError` (milliseconds).

    Raises:
        StoreError: the file cannot be opened or migrated.
    """
