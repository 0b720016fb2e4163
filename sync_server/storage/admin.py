"""The server store's admin tables: the municipality configuration's versions, the gazetteer, the rows
``wijkteam-server import`` took, and the audit's reads (issue 17: the commands ask the store).

:class:`AdminTables` is a part of ``sync_server.store.ServerStore`` (a mixin: it uses the store's
``_read``, ``write`` and ``dialect``). The rules about these tables stay in their modules
(``sync_server.gemeente_config``, ``sync_server.gazetteer_cli``, ``sync_server.import_cli``,
``sync_server.audit``); this part only reads and writes rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

#: The ``gazetteer`` table's columns, in the order :meth:`AdminTables.replace_gazetteer` takes them.
GAZETTEER_COLUMNS = (
    "openbare_ruimte", "huisnummer", "huisletter", "huisnummertoevoeging", "postcode", "woonplaats", "gemeente",
    "bag_id", "lat", "lon",
)  # fmt: skip
#: A stored configuration version: ``(version, body, etag, imported_at, imported_by, source)``.
ConfigRow = tuple[int, bytes, str, str, str, str]
_CONFIG_COLS = "version, body, etag, imported_at, imported_by, source"


def _config_row(row: Sequence[Any]) -> ConfigRow:
    return (row[0], bytes(row[1]), row[2], row[3], row[4], row[5])


class AdminTables:
    """Admin tables of the store (see the module docstring); mixed into ``ServerStore``."""

    dialect: Any

    def _read(self) -> Any:  # pragma: no cover - ServerStore's
        raise NotImplementedError

    def write(self, *, serial: bool = True) -> Any:  # pragma: no cover - ServerStore's
        raise NotImplementedError

    @staticmethod
    def _audit(c: Any, actor: str, action: str, melding_id: str | None, detail: str = "") -> None:  # pragma: no cover
        raise NotImplementedError

    # -- municipality configuration ------------------------------------------------------------------

    def config_version(self) -> int:
        """The newest stored configuration version (0: none; the package default is in force). One
        indexed read: cheap enough per request."""
        with self._read() as c:
            row = c.execute("SELECT max(version) FROM gemeente_config").fetchone()
        return int(row[0] or 0)

    def config_row(self, version: int | None = None) -> ConfigRow | None:
        """Version ``version`` (default: the newest), or None."""
        with self._read() as c:
            if version is None:
                row = c.execute(f"SELECT {_CONFIG_COLS} FROM gemeente_config ORDER BY version DESC LIMIT 1").fetchone()
            else:
                row = c.execute(f"SELECT {_CONFIG_COLS} FROM gemeente_config WHERE version = ?", (version,)).fetchone()
        return _config_row(row) if row else None

    def config_rows(self) -> list[ConfigRow]:
        """Every stored version, oldest first."""
        with self._read() as c:
            return [_config_row(r) for r in c.execute(f"SELECT {_CONFIG_COLS} FROM gemeente_config ORDER BY version")]

    def add_config(
        self, make: Callable[[ConfigRow | None], ConfigRow | None], *, actor: str, describe: Callable[[ConfigRow], str]
    ) -> ConfigRow | None:
        """Store the next configuration version in one serial transaction: ``make(newest or None)``
        returns the row to insert, or None to store nothing (it may raise to refuse); the
        ``config_import`` audit entry of ``actor`` with ``describe(row)`` is written with it. Returns
        the row stored (or None)."""
        with self.write() as c:
            cur = c.execute(f"SELECT {_CONFIG_COLS} FROM gemeente_config ORDER BY version DESC LIMIT 1").fetchone()
            row = make(_config_row(cur) if cur else None)
            if row is None:
                return None
            c.execute(f"INSERT INTO gemeente_config({_CONFIG_COLS}) VALUES (?, ?, ?, ?, ?, ?)", row)
            self._audit(c, actor, "config_import", None, describe(row))
        return row

    # -- gazetteer -------------------------------------------------------------------------------------

    def gazetteer_meta(self) -> dict[str, str]:
        """The ``gazetteer_meta`` table as a dict (empty when nothing was imported yet)."""
        with self._read() as c:
            return dict(c.execute("SELECT key, value FROM gazetteer_meta").fetchall())

    def gazetteer_rows(self) -> list[tuple[Any, ...]]:
        """Every stored address (``GAZETTEER_COLUMNS``), ordered by woonplaats, street, number (the
        download's order)."""
        with self._read() as c:
            return c.execute(
                f"SELECT {', '.join(GAZETTEER_COLUMNS)} FROM gazetteer ORDER BY woonplaats, openbare_ruimte, huisnummer, "
                "coalesce(huisletter, ''), coalesce(huisnummertoevoeging, '')"
            ).fetchall()

    def replace_gazetteer(self, rows: Sequence[tuple[Any, ...]], meta: dict[str, str]) -> None:
        """Replace the whole gazetteer with ``rows`` (``GAZETTEER_COLUMNS``) and its ``meta``, in one
        transaction: every row is in, or (on any failure) the previous gazetteer stays."""
        with self.write(serial=False) as c:
            c.execute("DELETE FROM gazetteer")
            c.executemany(
                f"INSERT INTO gazetteer({', '.join(GAZETTEER_COLUMNS)}) VALUES ({', '.join('?' * len(GAZETTEER_COLUMNS))})",
                rows,
            )
            c.execute("DELETE FROM gazetteer_meta")
            c.executemany("INSERT INTO gazetteer_meta(key, value) VALUES (?, ?)", list(meta.items()))

    def gazetteer_address(
        self, postcode: str, huisnummer: int, huisletter: str | None, toevoeging: str | None
    ) -> tuple[str, str, float, float] | None:
        """``(street, place, lat, lon)`` of one address of the gazetteer, or None."""
        with self._read() as c:
            row = c.execute(
                "SELECT openbare_ruimte, woonplaats, lat, lon FROM gazetteer WHERE postcode = ? AND huisnummer = ? "
                "AND coalesce(huisletter, '') = ? AND coalesce(huisnummertoevoeging, '') = ?",
                (postcode, huisnummer, huisletter or "", toevoeging or ""),
            ).fetchone()
        return (row[0], row[1], row[2], row[3]) if row else None

    # -- import ------------------------------------------------------------------------------------------

    def imported_reference(self, key: str) -> str | None:
        """The reference of the melding an earlier import made of the row with ``key``, or None."""
        with self._read() as c:
            row = c.execute("SELECT reference FROM import_rows WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- audit ---------------------------------------------------------------------------------------------

    def audit_rows(
        self,
        *,
        reference: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 100,
        melding_ids: Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[tuple[Any, ...]]:
        """Audit entries, newest first: ``(id, at, actor, action, melding_id, reference, detail)``
        (the filters: ``sync_server.audit.list_entries``)."""
        conds, params = ["1 = 1"], []
        if reference:
            conds.append("a.melding_id IN (SELECT melding_id FROM meldingen WHERE reference = ?)")
            params.append(reference)
        if actor:
            conds.append("(a.actor = ? OR a.actor LIKE ? ESCAPE '\\')")
            escaped = actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params += [actor, f"{escaped} (%"]
        if action:
            conds.append("a.action = ?")
            params.append(action)
        if melding_ids is not None:
            conds.append(self.dialect.in_list("a.melding_id"))
            params.append(self.dialect.list_param(melding_ids))
        if since:
            conds.append("a.at >= ?")
            params.append(since)
        if until:
            conds.append("a.at < ?")
            params.append(until)
        sql = (
            "SELECT a.id, a.at, a.actor, a.action, a.melding_id, "
            "(SELECT reference FROM meldingen m WHERE m.melding_id = a.melding_id), coalesce(a.detail, '') "
            f"FROM audit a WHERE {' AND '.join(conds)} ORDER BY a.id DESC LIMIT ?"
        )
        with self._read() as c:
            return c.execute(sql, (*params, limit)).fetchall()
