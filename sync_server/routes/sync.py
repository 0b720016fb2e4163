"""``/api/v1/sync/push`` and ``/api/v1/sync/pull``: the sync protocol (docs/design.md, "Sync protocol").

Push: a laptop sends events it has not seen acknowledged. Each event is checked on its own; an event
that does not decode, belongs to another device, fails ``shared.events.validate_event`` or
``shared.trust.judge_arrival`` (stamped in the future), or that the store refuses against what it
holds (``ServerStore.ingest``: duplicate ``created``, backdating, a known id with other content) goes
to the quarantine with a reason and a ``shared.protocol.RefusalCode``, is not acknowledged, and never
blocks the rest. The whole request is refused (4xx, nothing stored) only when the message itself
is wrong: malformed body, unknown or mistyped top-level fields, more than ``MAX_PUSH_EVENTS`` events,
a protocol or event schema this server does not know, or a device id that is not the token's.

Pull: events after ``after`` in ``server_seq`` order, at most ``limit`` per page.

Both need a laptop token (roles wijkuitvoerder, admin) and carry the server's HLC and wall clock.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import (
    ClientException,
    HTTPException,
    PermissionDeniedException,
)
from litestar.params import Parameter

from shared.avg import may_push
from shared.errors import InvalidEvent
from shared.events import SCHEMA_VERSION, Event, validate_event
from shared.projection import PROJECTION_KEY
from shared.protocol import (
    MAX_PULL_LIMIT,
    MAX_PUSH_BYTES,
    MAX_PUSH_EVENTS,
    MIN_CLIENT_PROTOCOL,
    PROTOCOL_VERSION,
    PullResponse,
    PushRequest,
    PushResponse,
    Quarantined,
    RefusalCode,
    VerdictRequest,
    VerdictResponse,
)
from shared.trust import Refusal, judge_arrival
from shared.validation import MAX_INT64
from sync_server import openapi, wire
from sync_server.auth import LAPTOP_ROLES, requires_role
from sync_server.settings import VERDICTS_MAX_BODY_BYTES, Settings
from sync_server.storage.api import Store
from sync_server.store import QuarantineEntry, TokenInfo


class PushBody(msgspec.Struct, forbid_unknown_fields=True):
    """``shared.protocol.PushRequest`` with each event left raw, so that one bad event is quarantined
    instead of failing the whole request."""

    protocol: int
    device_id: str
    events: list[msgspec.Raw]
    device_hlc: int = 0
    device_seq: Annotated[int, msgspec.Meta(ge=0, le=2**62)] = 0
    server_counter: Annotated[int, msgspec.Meta(ge=0, le=32**6)] = 0
    pull_cursor: Annotated[int, msgspec.Meta(ge=0, le=2**62)] = 0
    log_id: Annotated[int, msgspec.Meta(ge=0, le=2**62)] = 0


class UpgradeRequired(HTTPException):
    """426: the client speaks a protocol older than the server still accepts."""

    status_code = 426


class PayloadTooLarge(HTTPException):
    """413: more events in one push than ``MAX_PUSH_EVENTS``."""

    status_code = 413


def check_protocol(version: int | None) -> None:
    """Refuse a protocol this server cannot speak, saying which side must be updated.

    Raises:
        ClientException (400): version missing, or newer than the server's (update the server).
        UpgradeRequired (426): older than ``MIN_CLIENT_PROTOCOL`` (update the app).
    """
    if version is None:
        raise ClientException(
            detail=f"Protocolversie ontbreekt; stuur de header X-Wijkteam-Protocol: {PROTOCOL_VERSION}."
        )
    if version < MIN_CLIENT_PROTOCOL:
        raise UpgradeRequired(
            detail=f"De app is te oud (protocol {version}; de server vraagt minstens {MIN_CLIENT_PROTOCOL}): "
            "werk de wijkteam-app bij."
        )
    if version > PROTOCOL_VERSION:
        raise ClientException(
            detail=f"De server is ouder dan de app (server protocol {PROTOCOL_VERSION}, app {version}): "
            "laat de beheerder wijkteam-server bijwerken."
        )


def _header_protocol(request: Request) -> int | None:
    raw = request.headers.get(wire.PROTOCOL_HEADER) or request.query_params.get("protocol")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ClientException(detail=f"Protocolversie {raw!r} is geen geheel getal.") from None


def _raw_text(raw: msgspec.Raw, msgpack: bool) -> tuple[str, Any]:
    """The raw event as JSON text for the quarantine, and as builtins (or None when unreadable)."""
    try:
        obj = msgspec.msgpack.decode(raw) if msgpack else msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return bytes(raw).decode("utf-8", "replace") if not msgpack else bytes(raw).hex(), None
    if not msgpack:
        return bytes(raw).decode("utf-8", "replace"), obj
    try:
        return msgspec.json.encode(obj).decode(), obj
    except (TypeError, msgspec.EncodeError):
        return repr(obj), obj


def classify(
    body: PushBody, token: TokenInfo, *, msgpack: bool, server_ms: int
) -> tuple[list[Event], list[QuarantineEntry]]:
    """Split a push into events to store and events to quarantine (with a reason each).

    Raises:
        ClientException (400) / HTTPException (409): the request as a whole is not acceptable (see the
            module docstring); nothing is stored then.
    """
    dec = msgspec.msgpack.Decoder(Event) if msgpack else msgspec.json.Decoder(Event)
    good: list[Event] = []
    bad: list[QuarantineEntry] = []
    for i, raw in enumerate(body.events):
        try:
            e = dec.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            text, obj = _raw_text(raw, msgpack)
            eid = obj.get("event_id") if isinstance(obj, dict) else None
            eid = eid if isinstance(eid, str) and eid else f"onbekend-{body.device_id}-{i}-{abs(hash(text))}"
            bad.append(QuarantineEntry(eid, f"ongeldig event: {exc}", text, body.device_id, RefusalCode.INVALID))
            continue
        if e.schema > SCHEMA_VERSION:
            raise HTTPException(
                status_code=409,
                detail=f"De server is ouder dan de app (eventschema {e.schema}, server kent {SCHEMA_VERSION}): "
                "laat de beheerder wijkteam-server bijwerken. Er is niets opgeslagen.",
            )
        refusal: Refusal | None = None
        if e.device_id != token.device_code:
            refusal = Refusal(
                RefusalCode.FOREIGN_DEVICE,
                f"apparaat {e.device_id!r} hoort niet bij dit token (apparaat {token.device_code})",
            )
        elif not may_push(token.role, e.type):
            refusal = Refusal(
                RefusalCode.NOT_ALLOWED, f"rol {token.role.value} mag geen {e.type!r} maken (docs/privacy.md)"
            )
        else:
            try:
                validate_event(e)
            except InvalidEvent as exc:
                refusal = Refusal(RefusalCode.INVALID, exc.reason)
            else:
                refusal = judge_arrival(e, server_ms=server_ms)
        if refusal is not None:
            bad.append(
                QuarantineEntry(
                    e.event_id, refusal.reason, _raw_text(raw, msgpack)[0], e.device_id, refusal.code,
                    e.melding_id, e.type,
                )
            )  # fmt: skip
        else:
            good.append(e)
    return good, bad


def _fault(point: str | None) -> Callable[[str], None] | None:
    """The crash-test hook: SIGKILL this process when the push reaches ``point``."""
    if not point:
        return None

    def hook(at: str) -> None:
        if at == point:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


class SyncController(Controller):
    """Push and pull of events for laptops."""

    path = "/api/v1/sync"
    tags: ClassVar[list[str]] = ["sync"]
    guards: ClassVar[list[Any]] = [requires_role(*LAPTOP_ROLES)]

    @post(
        "/push",
        status_code=200,
        sync_to_thread=True,
        summary="Events van een laptop opslaan",
        request_max_body_size=MAX_PUSH_BYTES,
        opt=openapi.route(
            body=PushRequest,
            answer=PushResponse,
            sync=True,
            errors={
                409: "Een event heeft een nieuwer eventschema dan de server kent; er is niets opgeslagen.",
                413: f"Het bericht is te groot (hoogstens {MAX_PUSH_BYTES // (1024 * 1024)} MB) of heeft meer "
                f"dan {MAX_PUSH_EVENTS} events.",
            },
        ),
    )
    def push(self, request: Request, body: bytes, store: Store, settings: Settings) -> Response:
        """Store a batch of events; the answer comes only after the durable commit."""
        msgpack = wire.is_msgpack(request.headers.get("content-type"))
        header = _header_protocol(request)
        if header is not None:
            check_protocol(header)
        data = wire.decode(body, PushBody, request.headers.get("content-type"))
        check_protocol(data.protocol)
        if len(data.events) > MAX_PUSH_EVENTS:
            raise PayloadTooLarge(
                detail=f"Te veel events in één push ({len(data.events)}; maximaal {MAX_PUSH_EVENTS}): "
                "stuur ze in kleinere delen."
            )
        token: TokenInfo = request.user
        if not token.device_code:
            raise PermissionDeniedException(detail="Dit token heeft geen apparaatcode en kan geen events sturen.")
        if data.device_id != token.device_code:
            raise PermissionDeniedException(
                detail=f"Dit token hoort bij apparaat {token.device_code}, niet bij {data.device_id}: "
                "controleer de apparaatcode in de instellingen."
            )
        server_ms = store.wall_ms()
        good, bad = classify(data, token, msgpack=msgpack, server_ms=server_ms)
        if data.server_counter:
            store.raise_server_counter(data.server_counter)
        result = store.ingest(
            good, bad, pushed_by=token.name, fault=_fault(settings.crash_point), judge_time=True,
            reported=(token.device_code, data.device_seq), seen=(data.pull_cursor, data.log_id),
        )  # fmt: skip
        answer = PushResponse(
            protocol=PROTOCOL_VERSION,
            server_hlc=result.server_hlc,
            stored=len(result.stored),
            duplicates=len(result.duplicates),
            quarantined=[Quarantined(q.event_id, q.reason, q.code) for q in result.quarantined],
            server_time_ms=store.wall_ms(),
            log_id=store.log_id(),
            deferred=result.deferred,
        )
        return wire.respond(answer, request.headers.get("accept"))

    @post(
        "/verdicts",
        status_code=200,
        sync_to_thread=True,
        summary="Besluit van de beheerder over geweigerde events",
        request_max_body_size=VERDICTS_MAX_BODY_BYTES,
        opt=openapi.route(
            body=VerdictRequest,
            answer=VerdictResponse,
            sync=True,
            errors={413: f"Het bericht is te groot of vraagt naar meer dan {MAX_PUSH_EVENTS} events."},
        ),
    )
    def verdicts(self, request: Request, body: bytes, store: Store) -> Response:
        """What the admin decided about events this device holds as refused (``shared.protocol.VerdictRequest``)."""
        header = _header_protocol(request)
        if header is not None:
            check_protocol(header)
        data = wire.decode(body, VerdictRequest, request.headers.get("content-type"))
        check_protocol(data.protocol)
        if len(data.event_ids) > MAX_PUSH_EVENTS:
            raise PayloadTooLarge(detail=f"Te veel ids in één vraag (maximaal {MAX_PUSH_EVENTS}).")
        token: TokenInfo = request.user
        if not token.device_code or data.device_id != token.device_code:
            raise PermissionDeniedException(
                detail=f"Dit token hoort bij apparaat {token.device_code or '-'}, niet bij {data.device_id}."
            )
        answer = VerdictResponse(protocol=PROTOCOL_VERSION, verdicts=store.verdicts(token.device_code, data.event_ids))
        return wire.respond(answer, request.headers.get("accept"))

    @get(
        "/pull",
        sync_to_thread=True,
        summary="Events na een positie in het serverlog",
        opt=openapi.route(answer=PullResponse, sync=True),
    )
    def pull(
        self,
        request: Request,
        store: Store,
        after: int = Parameter(default=0, ge=0, le=MAX_INT64, description="laatste server_seq die de laptop heeft"),
        limit: int = Parameter(default=1000, ge=1, le=MAX_PULL_LIMIT, description="events per pagina"),
        rows: int = Parameter(
            default=0, ge=0, le=MAX_INT64,
            description="projectieversie van de laptop: is die gelijk aan die van de server, dan komen de "
            "projectierijen van de meldingen van de pagina mee",
        ),
    ) -> Response:
        """One page of the server's event log after ``after`` (with projection rows when asked:
        ``shared.protocol.PullResponse.rows``)."""
        check_protocol(_header_protocol(request))
        events, next_after, has_more = store.pull(after, limit)
        answer = PullResponse(
            protocol=PROTOCOL_VERSION,
            server_hlc=store.hlc.now(),
            events=events,
            next_after=next_after,
            has_more=has_more,
            server_time_ms=store.wall_ms(),
            log_id=store.log_id(),
        )
        if rows == PROJECTION_KEY and events:
            answer.rows = store.projection_as_of(list(dict.fromkeys(pe.event.melding_id for pe in events)), next_after)
            answer.projection = PROJECTION_KEY
        return wire.respond(answer, request.headers.get("accept"))
