"""``/api/v1/sync/snapshot``: the laptop snapshot for a new laptop's first sync (docs/sync.md, "Snapshot").

* ``GET /api/v1/sync/snapshot/info`` → :class:`shared.protocol.SnapshotInfo` (JSON or MessagePack), 404
  with a Dutch ``detail`` while there is none (the laptop then pulls the log as usual).
* ``GET /api/v1/sync/snapshot`` → the file (``application/vnd.sqlite3``), streamed, with
  ``Content-Length``, ``ETag`` (the SHA-256 in quotes), ``X-Wijkteam-Snapshot-Sha256``,
  ``X-Wijkteam-Snapshot-Seq``, ``X-Wijkteam-Log-Id`` and ``X-Wijkteam-Store-Schema``. A ``Range:
  bytes=START-[END]`` header (one range; also ``bytes=-N``) answers 206 with ``Content-Range``, so an
  interrupted download resumes; with ``If-Range`` naming another ETag (a newer snapshot meanwhile) the
  whole new file comes with 200. A range past the end answers 416.

Both need a laptop token (wijkuitvoerder, admin) and the protocol header, like push and pull. The file
is opened before the answer starts, so a rebuild that replaces it meanwhile does not cut the stream.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO, ClassVar

from litestar import Controller, Request, Response, get
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter
from litestar.response import Stream

from shared.protocol import SnapshotInfo
from sync_server import openapi, wire
from sync_server.auth import LAPTOP_ROLES, requires_role
from sync_server.routes.sync import _header_protocol, check_protocol
from sync_server.snapshot import Published, SnapshotService
from sync_server.storage.api import Store
from wijkteam_store.snapshot import CHUNK

MEDIA_TYPE = "application/vnd.sqlite3"
_NONE_YET = (
    "Er is nog geen snapshot; de laptop haalt de gebeurtenissen op de gewone manier op "
    "(de server maakt er een zodra het log groot genoeg is, of met 'wijkteam-server snapshot build')."
)
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


class RangeNotSatisfiable(HTTPException):
    """416: the asked range starts past the end of the file."""

    status_code = 416


def _etag(published: Published) -> str:
    return f'"{published.sha256}"'


def _headers(published: Published) -> dict[str, str]:
    return {
        "ETag": _etag(published),
        "Accept-Ranges": "bytes",
        "Cache-Control": "no-store",  # personal data: no proxy keeps a copy
        "X-Wijkteam-Snapshot-Sha256": published.sha256,
        "X-Wijkteam-Snapshot-Seq": str(published.server_seq),
        "X-Wijkteam-Log-Id": str(published.log_id),
        "X-Wijkteam-Store-Schema": str(published.store_schema),
    }


def byte_range(header: str | None, length: int) -> tuple[int, int] | None:
    """The half-open byte range ``(start, end)`` a ``Range`` header asks of a file of ``length`` bytes.

    None: no header, or one this server does not honour (several ranges, another unit): the whole
    file is sent, as RFC 9110 §14.2 allows.

    Raises:
        RangeNotSatisfiable: the range starts at or past the end (or asks the last 0 bytes).
    """
    if not header:
        return None
    m = _RANGE.match(header)
    if not m or (not m.group(1) and not m.group(2)):
        return None
    first, last = m.group(1), m.group(2)
    if not first:  # bytes=-N: the last N bytes
        n = int(last)
        if n == 0:
            raise RangeNotSatisfiable(detail="Leeg bereik gevraagd.", headers={"Content-Range": f"bytes */{length}"})
        return max(length - n, 0), length
    start = int(first)
    end = min(int(last) + 1, length) if last else length
    if start >= length or end <= start:
        raise RangeNotSatisfiable(
            detail=f"Het snapshot is {length} bytes; bereik {header.strip()!r} valt erbuiten.",
            headers={"Content-Range": f"bytes */{length}"},
        )
    return start, end


def _stream(fh: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    try:
        fh.seek(start)
        left = end - start
        while left > 0:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
    finally:
        fh.close()


class SnapshotController(Controller):
    """The laptop snapshot: what it covers, and the file."""

    path = "/api/v1/sync/snapshot"
    tags: ClassVar[list[str]] = ["sync"]
    guards: ClassVar[list[Any]] = [requires_role(*LAPTOP_ROLES)]

    @get(
        "/info",
        sync_to_thread=True,
        summary="Welk laptopsnapshot er is",
        opt=openapi.route(answer=SnapshotInfo, sync=True, errors={404: "Er is nog geen snapshot."}),
    )
    def info(self, request: Request, store: Store, snapshots: SnapshotService) -> Response:
        """Stamp, length and SHA-256 of the current snapshot, and the log's current end; 404 when none."""
        check_protocol(_header_protocol(request))
        published = snapshots.current()
        if published is None:
            raise NotFoundException(detail=_NONE_YET)
        return wire.respond(published.info(store.max_server_seq()), request.headers.get("accept"))

    @get(
        "/",
        sync_to_thread=True,
        summary="Download het laptopsnapshot (SQLite)",
        media_type=MEDIA_TYPE,
        responses={206: ResponseSpec(bytes, media_type=MEDIA_TYPE, description="Het gevraagde bereik (Range).")},
        opt=openapi.route(
            sync=True,
            errors={404: "Er is nog geen snapshot.", 416: "Het gevraagde bereik valt buiten het bestand."},
        ),
    )
    def download(
        self,
        request: Request,
        snapshots: SnapshotService,
        range_header: Annotated[
            str | None, HeaderParameter(name="Range", description="bytes=START-[END] of bytes=-N: hervat een download")
        ] = None,
        if_range: Annotated[
            str | None, HeaderParameter(name="If-Range", description="ETag van het snapshot waarvan het bereik is")
        ] = None,
    ) -> Response:
        """The current snapshot file; ``Range`` resumes an interrupted download (see the module docstring)."""
        check_protocol(_header_protocol(request))
        published = snapshots.current()
        if published is None:
            raise NotFoundException(detail=_NONE_YET)
        try:
            fh = open(snapshots.path_of(published), "rb")  # noqa: SIM115 - closed by the stream
        except FileNotFoundError:
            raise NotFoundException(detail=_NONE_YET) from None
        headers = _headers(published)
        wanted = None if if_range and if_range.strip() != _etag(published) else range_header
        try:
            span = byte_range(wanted, published.length)
        except RangeNotSatisfiable:
            fh.close()
            raise
        start, end = span or (0, published.length)
        headers["Content-Length"] = str(end - start)
        status = 200
        if span is not None:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{published.length}"
        return Stream(_stream(fh, start, end), status_code=status, media_type=MEDIA_TYPE, headers=headers)
