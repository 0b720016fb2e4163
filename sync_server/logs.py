"""The server log: one structured line per request, never personal data.

:func:`setup_logging` sends the ``wijkteam`` loggers (and uvicorn's, whose own access log is switched
off) to stderr in one of two formats:

* ``logfmt``: ``ts=2026-11-28T08:15:00.123Z level=info logger=wijkteam.access method=GET
  route=/api/v1/public/status/{reference} status=404 duration_ms=4.2 user=anna client=10.0.0.7``
* ``json``: the same fields as one JSON object per line.

:class:`AccessLog` writes the request line. It logs the **route template** (``/api/v1/public/status/
{reference}``), never the path as sent or the query string — a path or query can carry a
reference, a postcode or a phone number —, the status, the duration in ms, the token's user name
(``-`` without one) and the client address (the proxy's client when the peer is a trusted proxy,
``Settings.trusted_proxies``). Request bodies are never logged. A request that matches no route is
logged with ``route=-``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

ACCESS = logging.getLogger("wijkteam.access")
SERVER = logging.getLogger("wijkteam.server")


def _ts(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(created * 1000) % 1000:03d}Z"


def _logfmt_value(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\\') or any(ord(c) < 32 for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class StructuredFormatter(logging.Formatter):
    """One line per record: ``ts``, ``level``, ``logger``, ``msg`` (when not empty) and the record's
    ``fields`` (a dict passed as ``extra={"fields": …}``), as logfmt or JSON."""

    def __init__(self, fmt: str = "logfmt") -> None:
        super().__init__()
        self.json = fmt == "json"

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": _ts(record.created), "level": record.levelname.lower(), "logger": record.name}
        msg = record.getMessage()
        if msg:
            out["msg"] = msg
        out.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if self.json:
            return json.dumps(out, ensure_ascii=False, default=str)
        return " ".join(f"{k}={_logfmt_value(v)}" for k, v in out.items())


def setup_logging(level: str = "info", fmt: str = "logfmt") -> None:
    """Route the server's and uvicorn's loggers to stderr, structured, at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(StructuredFormatter(fmt))
    for name in ("wijkteam", "uvicorn", "uvicorn.error", "litestar"):
        log = logging.getLogger(name)
        log.handlers[:] = [handler]
        log.setLevel(level.upper())
        log.propagate = False


class AccessLog:
    """ASGI wrapper around the app's handler: one ``wijkteam.access`` line per HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not ACCESS.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [0]

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            user = scope.get("user")
            client = scope.get("client")
            ACCESS.info(
                "",
                extra={
                    "fields": {
                        "method": scope.get("method", ""),
                        "route": scope.get("path_template") or "-",
                        "status": status[0] or 500,
                        "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                        "user": getattr(user, "name", None) or "-",
                        "client": client[0] if client else "-",
                    }
                },
            )
