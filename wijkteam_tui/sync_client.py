"""The laptop's side of sync: one round of push-then-pull against ``wijkteam-server``.

:func:`sync_once` is what ``wijkteam sync`` and the TUI's sync worker call. It drives the laptop's
``LocalStore`` through exactly these methods (``wijkteam_store.local``):

* ``unacked_events(limit) -> list[Event]``: local events the server has not acknowledged, device_seq order;
* ``mark_acked(event_ids)``; ``pending_count() -> int``;
* ``pull_cursor() -> int``: the last ``server_seq`` applied;
* ``apply_remote(events, next_after, server_hlc=None, rows=None)``: store a pulled page and the cursor
  in one transaction, merging the server's clock into the persisted HLC in the same transaction (a
  store whose ``apply_remote`` has no ``server_hlc`` parameter gets a separate ``recv_hlc`` call per
  page instead); ``rows``: the server's projection rows of the page (asked for only when the store
  takes them: ``shared.protocol.PullResponse.rows``);
* ``recv_hlc(remote)``: merge the server's clock into the laptop's persisted HLC.

A round: push in batches of ``push_batch`` events until nothing is waiting, then pull pages of
``pull_limit`` until ``has_more`` is false. While a page is applied, one background thread already
requests and decodes the next one (the server and the socket wait then overlap the laptop's SQLite
work; docs/benchmarks.md, "Sync"); it never runs further ahead, so at most two pages (the one being
applied, the one waiting) are in memory however long the server's log is. Both directions are safe
to repeat at any point: the server ignores an event it already has (``event_id``), and the laptop's
cursor moves only in the same transaction as the events it covers (a fetched page not yet applied
moves nothing), so a crash anywhere only means some work is done again. MessagePack on the wire.

Transient failures (no connection, time-outs, 502/503/504/429) are retried ``retries`` times with a
short growing delay; the caller (the TUI worker) decides the interval between rounds.

Cancelling (``cancel=``, any object with ``is_set()``, e.g. the TUI worker's ``cancelled_event``): the
round's own HTTP client waits on its sockets in slices of ``server_client.CANCEL_POLL_S`` and checks the flag
between them (``server_client.CancellableBackend``), so a round stuck on a server that accepted the connection
but never answers stops within a slice instead of after ``server_client.READ_TIMEOUT_S``, raising
:class:`SyncCancelled` (all of it in ``wijkteam_tui.server_client``, the app's one client). Nothing is interrupted halfway: the flag is only read while waiting for the
network or between requests, never inside a store transaction, so what a round committed before the
cancel (acknowledged pushes, applied pages) stays committed, and the rest goes with the next round
(docs/sync.md, "Afbreken").
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import msgspec

from shared.commands import SERVER_DEVICE
from shared.events import SCHEMA_VERSION, Event
from shared.projection import PROJECTION_KEY
from shared.protocol import (
    MAX_PULL_LIMIT,
    MAX_PUSH_BYTES,
    MAX_PUSH_EVENTS,
    PROTOCOL_VERSION,
    PullResponse,
    PushRequest,
    PushResponse,
    RefusalCode,
    VerdictRequest,
    VerdictResponse,
    VerdictState,
)
from wijkteam_store.local import StoreError
from wijkteam_tui import server_client
from wijkteam_tui.config import DEFAULT_SNAPSHOT_BEHIND
from wijkteam_tui.server_client import (
    MSGPACK,
    CancelFlag,
    Progress,
    ServerSession,
    SyncCancelled,  # noqa: F401 - the round's errors are importable from here too
    SyncError,
    auth_headers,
)

#: Events per push request (the server accepts up to ``shared.protocol.MAX_PUSH_EVENTS``).
PUSH_BATCH = 2000
#: Events per pull page.
PULL_LIMIT = MAX_PULL_LIMIT
#: Seconds to wait before each retry of a transient failure.
RETRY_DELAYS = (0.25, 1.0)
#: A laptop with no work of its own waiting takes the server's snapshot instead of pulling when the
#: snapshot is more than this many events past its cursor; an empty laptop always takes it
#: (``wijkteam_tui.snapshot_client``; docs/sync.md, "Snapshot").
SNAPSHOT_BEHIND = DEFAULT_SNAPSHOT_BEHIND

_push_enc = msgspec.msgpack.Encoder()
_push_dec = msgspec.msgpack.Decoder(PushResponse)
_pull_dec = msgspec.msgpack.Decoder(PullResponse)
_verdict_dec = msgspec.msgpack.Decoder(VerdictResponse)


class SyncStore(Protocol):
    """What :func:`sync_once` needs of the laptop's store (``wijkteam_store.local.LocalStore``)."""

    def unacked_events(self, limit: int) -> list[Event]: ...
    def mark_acked(self, event_ids: list[str]) -> None: ...
    def pull_cursor(self) -> int: ...
    def apply_remote(self, events: list[Event], next_after: int, server_hlc: int | None = None) -> Any: ...
    def recv_hlc(self, remote: int) -> Any: ...
    def pending_count(self) -> int: ...
    def note_server_log(self, log_id: int) -> bool: ...
    def mark_sent(self, event_ids: list[str]) -> None: ...
    def mark_refused(self, refusals: list[tuple[str, str, str]]) -> int: ...
    def fall_back_clock(self, server_hlc: int) -> int: ...
    def waiting_refused_ids(self) -> list[str]: ...
    def apply_verdicts(self, verdicts: list[Any]) -> dict[str, int]: ...
    def refused_count(self) -> int: ...
    def device_code(self) -> str | None: ...
    def own_seq(self) -> int: ...
    def highest_counter(self, device_id: str) -> int: ...


@dataclass(frozen=True)
class SyncResult:
    """What one round did.

    Attributes:
        pushed: local events the server acknowledged (stored, already there, or quarantined).
        pulled: events received from the server (own events included; applying them is a no-op).
        quarantined: of ``pushed``, how many the server refused (see ``quarantine_reasons``).
        server_hlc: the server's clock stamp of the last answer (``shared.hlc``).
        skew_ms: this laptop's wall clock minus the server's, in ms (positive: laptop ahead);
            ``abs(skew_ms) >= shared.protocol.WARN_SKEW_MS`` should be shown to the user.
        finished_at: when the round ended (aware UTC).
        pending: local events still waiting after the round (0 after a full round).
        quarantine_reasons: the server's reason per event refused in this round (event_id, reason).
        gazetteer: Dutch outcome of the address-file download, when one was asked for.
        refused: refused events on this laptop that need attention after the round (waiting for the
            admin, or rejected and not yet dismissed: ``LocalStore.refused_events``).
        released / rejected: verdicts learnt in this round.
        clock_fell_back: a refusal for a future stamp made this laptop's clock fall back to the
            server's (``LocalStore.fall_back_clock``); ``restamped`` of its unsent events got new stamps.
        snapshot: events installed from the server's snapshot at the start of the round (0: none;
            ``pulled`` counts the tail pulled after it).
        snapshot_note: Dutch, when a snapshot was tried but not used (the round pulled instead).
        config: Dutch outcome of the municipality-configuration check (``None``: the store keeps
            no configuration, e.g. a test double).
        config_version: the version of a configuration received in this round (``None``: unchanged).
    """

    pushed: int
    pulled: int
    quarantined: int
    server_hlc: int
    skew_ms: int
    finished_at: datetime
    pending: int = 0
    quarantine_reasons: tuple[tuple[str, str], ...] = ()
    gazetteer: str | None = None
    refused: int = 0
    released: int = 0
    rejected: int = 0
    clock_fell_back: bool = False
    restamped: int = 0
    snapshot: int = 0
    snapshot_note: str | None = None
    config: str | None = None
    config_version: int | None = None


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def sync_once(
    store: SyncStore,
    server_url: str,
    token: str,
    *,
    client: httpx.Client | None = None,
    push_batch: int = PUSH_BATCH,
    pull_limit: int = PULL_LIMIT,
    retries: int = 2,
    sleep: Callable[[float], None] = time.sleep,
    retry_delays: Sequence[float] = RETRY_DELAYS,
    on_progress: Progress | None = None,
    clock: Callable[[], int] = _wall_ms,
    gazetteer_dir: Path | None = None,
    cancel: CancelFlag | None = None,
    snapshot_behind: int | None = SNAPSHOT_BEHIND,
    exclusive: Callable[[Callable[[], None]], None] | None = None,
    fault: Callable[[str], None] | None = None,
) -> SyncResult:
    """One sync round: push everything waiting, then pull until the server has nothing more.

    Args:
        store: the laptop's store (see :class:`SyncStore`).
        server_url: e.g. ``http://127.0.0.1:8080``.
        token: the bearer token from ``wijkteam-server user add``.
        client: an ``httpx.Client`` to use (tests pass one with a special transport); default a new one.
        push_batch / pull_limit: events per request.
        retries: extra attempts for a transient failure, waiting ``retry_delays`` seconds.
        on_progress: called as ``on_progress(stage, done, total)``: ``("snapshot", bytes, total
            bytes)`` while a snapshot downloads, ``("install", 0, None)`` while it is checked and
            installed, ``("push" | "pull", events so far, None)`` after each request.
        clock: this laptop's wall clock in ms (for the skew; tests simulate a wrong clock).
        gazetteer_dir: when given, the municipality's address file is refreshed there after the
            round (a cheap 304 when unchanged); a failed download never fails the sync.
        cancel: a flag (``threading.Event``, a Textual worker's ``cancelled_event``) that stops the
            round once set: within ``server_client.CANCEL_POLL_S`` while waiting on the network when the
            round makes its own client (``server_client.client(cancel=…)``), else before the next request.
        snapshot_behind: when the store can be replaced (a ``LocalStore``), take the server's
            snapshot first if the laptop is empty, or has no work of its own waiting and is more than
            this many events behind it (``wijkteam_tui.snapshot_client``); None: never.
        exclusive: runs the snapshot's install while no other connection of this process has the
            database open (the TUI closes its own first); default: runs it directly.
        fault: a test hook for the crash tests (see ``snapshot_client.maybe_take_snapshot``).

    Raises:
        SyncCancelled: ``cancel`` was set (a ``SyncError``; what was committed before stays).
        SyncError: the round did not finish (``.offline`` when the server could not be reached). What
            was acknowledged or applied before the failure stays done.
    """
    own = client is None
    if client is not None:
        http = client
    else:
        http = server_client.client(cancel=cancel)
    session = ServerSession(http, server_url, token, retries, sleep, retry_delays, clock, cancel)
    try:
        plan = _Plan(push_batch, pull_limit, on_progress, snapshot_behind, exclusive, fault)
        result = _round(store, session, plan)
        if hasattr(store, "set_gemeente_config"):
            session.check_cancel()
            message, version = _refresh_config(http, server_url, token, store)
            result = replace(result, config=message, config_version=version)
        if gazetteer_dir is not None:
            session.check_cancel()
            result = replace(result, gazetteer=_refresh_gazetteer(http, server_url, token, gazetteer_dir))
        return result
    except StoreError as exc:
        raise SyncError(f"De lokale opslag gaf een fout: {exc.message}") from exc
    finally:
        if own:
            http.close()


def _refresh_config(http: httpx.Client, server_url: str, token: str, store: Any) -> tuple[str, int | None]:
    """Fetch the municipality configuration when it changed (``GET /api/v1/config`` with the kept
    ETag: a 304 while unchanged) and keep it in the store. Returns a Dutch message and the new
    version (None when unchanged). A failure never fails the sync: the kept configuration stays."""
    from shared.gemeente import ConfigError

    headers = auth_headers(token)
    etag = store.gemeente_config_etag()
    if etag:
        headers["If-None-Match"] = etag
    try:
        resp = http.get(server_url.rstrip("/") + "/api/v1/config", headers=headers)
    except httpx.HTTPError:
        return "Gemeenteconfiguratie niet opgehaald; de vorige blijft in gebruik.", None
    if resp.status_code == 304:
        return "Gemeenteconfiguratie is actueel.", None
    if resp.status_code != 200:
        return f"Gemeenteconfiguratie niet opgehaald (HTTP {resp.status_code}); de vorige blijft in gebruik.", None
    try:
        config = store.set_gemeente_config(resp.content, resp.headers.get("ETag", ""))
    except ConfigError as exc:
        return f"Gemeenteconfiguratie van de server geweigerd: {exc.message}", None
    return f"Gemeenteconfiguratie versie {config.version} ontvangen.", config.version


def _refresh_gazetteer(http: httpx.Client, server_url: str, token: str, folder: Path) -> str:
    from wijkteam_tui.location.download import download_gazetteer

    try:
        return download_gazetteer(http, server_url, token, folder).message
    except httpx.HTTPError:
        return "Adresbestand niet opgehaald; de vorige versie blijft in gebruik."


class _NewServerLog(Exception):
    """The server's log id changed (it was restored from a backup, or this laptop now syncs with
    another server): the store has been reset to re-send its own events and pull from the start."""


def _check_log(store: SyncStore, log_id: int) -> None:
    """Raise :class:`_NewServerLog` (after resetting the store) when ``log_id`` is a new server log."""
    if store.note_server_log(log_id):
        raise _NewServerLog


@dataclass(frozen=True)
class _Plan:
    """The options of one round (see :func:`sync_once`)."""

    push_batch: int
    pull_limit: int
    on_progress: Progress | None
    snapshot_behind: int | None
    exclusive: Callable[[Callable[[], None]], None] | None
    fault: Callable[[str], None] | None


def _round(store: SyncStore, session: ServerSession, plan: _Plan) -> SyncResult:
    """Push then pull; once more from the start when the server turns out to have a new log."""
    try:
        return _round_once(store, session, plan)
    except _NewServerLog:
        # The store now holds this laptop's own events as unsent and its cursor at 0; the server
        # stores each event once, so re-sending and re-pulling can double nothing.
        _report_server_counter(store, session)
        return _round_once(store, session, plan)


def _report_server_counter(store: SyncStore, session: ServerSession) -> None:
    """After a restore: tell the server the highest number of its own meldingen this laptop holds
    (an empty push), so its reference counter continues past it (issue 11 §4)."""
    device = store.device_code()
    highest = store.highest_counter(SERVER_DEVICE)
    if not device or not highest:
        return
    body = _push_enc.encode(
        PushRequest(protocol=PROTOCOL_VERSION, device_id=device, events=[], device_seq=store.own_seq(), server_counter=highest)
    )
    resp = session.request("POST", "/api/v1/sync/push", content=body, headers={"Content-Type": MSGPACK})
    _decode(_push_dec, resp)


def _can_be_replaced(store: Any) -> bool:
    """Whether ``store`` is a laptop database that a snapshot can replace (not a test double)."""
    return all(hasattr(store, name) for name in ("path", "reopen", "is_empty", "local_work", "server_log_id"))


def _round_once(store: SyncStore, session: ServerSession, plan: _Plan) -> SyncResult:
    pull_limit, on_progress = plan.pull_limit, plan.on_progress
    installed = 0
    note = None
    if plan.snapshot_behind is not None and _can_be_replaced(store):
        from wijkteam_tui.snapshot_client import maybe_take_snapshot

        outcome = maybe_take_snapshot(
            store,
            session,
            behind=plan.snapshot_behind,
            on_progress=on_progress,
            exclusive=plan.exclusive,
            fault=plan.fault,
        )
        installed, note = outcome.events, outcome.note
    # -- push --------------------------------------------------------------------------------------
    out = _Pushed()
    _push_all(store, session, plan, out)
    # -- verdicts on events refused earlier ----------------------------------------------------------
    verdicts = _ask_verdicts(store, session)
    # -- pull --------------------------------------------------------------------------------------
    pulled, hlc = _pull(store, session, pull_limit, on_progress)
    if out.deferred:
        # The server erased personal data of meldingen these events belong to (issue 16): the pull
        # brought the erasure, which erased the values from this laptop's copies; send them now.
        out.deferred = set()
        _push_all(store, session, plan, out)
        more, hlc2 = _pull(store, session, pull_limit, on_progress)
        pulled += more
        hlc = hlc2 if hlc2 is not None else hlc
    server_hlc = hlc if hlc is not None else out.server_hlc
    pending = store.pending_count()
    return SyncResult(
        pushed=out.pushed,
        pulled=pulled,
        quarantined=out.quarantined,
        server_hlc=server_hlc,
        skew_ms=session.skew_ms,
        finished_at=datetime.now(UTC),
        pending=pending,
        quarantine_reasons=tuple(out.reasons),
        refused=store.refused_count(),
        released=verdicts.get(VerdictState.RELEASED, 0),
        rejected=verdicts.get(VerdictState.REJECTED, 0),
        clock_fell_back=out.fell_back,
        restamped=out.restamped,
        snapshot=installed,
        snapshot_note=note,
    )


@dataclass
class _Pushed:
    """What the pushes of one round did (:func:`_push_all`)."""

    pushed: int = 0
    quarantined: int = 0
    restamped: int = 0
    fell_back: bool = False
    reasons: list[tuple[str, str]] = field(default_factory=list)
    server_hlc: int = 0
    #: Events the server deferred (``PushResponse.deferred``): kept unsent until after the pull.
    deferred: set[str] = field(default_factory=set)


def _push_all(store: SyncStore, session: ServerSession, plan: _Plan, out: _Pushed) -> None:
    """Push every unsent event in batches, recording acknowledgements, refusals and deferrals in ``out``.

    Stops early when a batch holds only deferred events (they wait for the pull)."""
    push_batch, on_progress = plan.push_batch, plan.on_progress
    last_ids: list[str] | None = None
    while True:
        events = [e for e in store.unacked_events(push_batch + len(out.deferred)) if e.event_id not in out.deferred]
        events = events[:push_batch]
        if not events:
            break
        seq = store.own_seq()
        cursor = store.pull_cursor()
        log_id = store.server_log_id() if hasattr(store, "server_log_id") else 0

        def request(evs: list[Event]) -> bytes:
            return _push_enc.encode(
                PushRequest(
                    protocol=PROTOCOL_VERSION, device_id=evs[0].device_id, events=evs, device_hlc=evs[-1].hlc,
                    device_seq=seq, pull_cursor=cursor, log_id=log_id,
                )
            )  # fmt: skip

        body = request(events)
        while len(body) > MAX_PUSH_BYTES and len(events) > 1:
            # Long texts: send fewer events per request, so the server's body limit is never hit.
            events = events[: len(events) // 2]
            body = request(events)
        ids = [e.event_id for e in events]
        if ids == last_ids:
            raise SyncError("De lokale opslag markeert verstuurde events niet als ontvangen; sync gestopt.")
        last_ids = ids
        store.mark_sent(ids)  # from now on the server may hold them: their stamps stay
        resp = session.request("POST", "/api/v1/sync/push", content=body, headers={"Content-Type": MSGPACK})
        ack = _decode(_push_dec, resp)
        _check_log(store, ack.log_id)
        session.server_clock(ack.server_time_ms)
        # A refused event is not acknowledged: it is kept as "geweigerd" with the server's reason.
        refused_ids = {q.event_id for q in ack.quarantined}
        deferred = set(ack.deferred) & set(ids)
        out.deferred |= deferred
        store.mark_acked([i for i in ids if i not in refused_ids and i not in deferred])
        store.mark_refused([(q.event_id, q.code, q.reason) for q in ack.quarantined])
        if any(q.code == RefusalCode.FUTURE_STAMP for q in ack.quarantined):
            # The clock ran ahead: fall back to the server's, or every later event is refused too.
            out.restamped += store.fall_back_clock(ack.server_hlc)
            out.fell_back = True
        store.recv_hlc(ack.server_hlc)
        out.server_hlc = ack.server_hlc
        out.pushed += len(ids) - len(deferred)
        out.quarantined += len(ack.quarantined)
        out.reasons.extend((q.event_id, q.reason) for q in ack.quarantined)
        if on_progress:
            on_progress("push", out.pushed, None)


def _ask_verdicts(store: SyncStore, session: ServerSession) -> dict[str, int]:
    """Ask the server what became of this laptop's refused events and record it; the count per
    verdict learnt. A server without the verdicts route (404/405) leaves them waiting."""
    waiting = store.waiting_refused_ids()
    device = store.device_code()
    if not waiting or not device:
        return {}
    counts: dict[str, int] = {}
    for start in range(0, len(waiting), MAX_PUSH_EVENTS):
        body = _push_enc.encode(
            VerdictRequest(protocol=PROTOCOL_VERSION, device_id=device, event_ids=waiting[start : start + MAX_PUSH_EVENTS])
        )
        try:
            resp = session.request("POST", "/api/v1/sync/verdicts", content=body, headers={"Content-Type": MSGPACK})
        except SyncError as exc:
            if exc.status in (404, 405):
                return counts
            raise
        answer = _decode(_verdict_dec, resp)
        for state, n in store.apply_verdicts(answer.verdicts).items():
            counts[state] = counts.get(state, 0) + n
    return counts


def _pull(
    store: SyncStore,
    session: ServerSession,
    pull_limit: int,
    on_progress: Progress | None,
) -> tuple[int, int | None]:
    """Pull pages until the server has no more; returns (events pulled, last ``server_hlc`` or None).

    Page k+1 is requested and decoded by one background thread while page k is applied here. Only
    the store moves the cursor (in ``apply_remote``'s transaction), so a page fetched but not applied
    when the round fails or the process dies is simply fetched again next round. Errors of the
    fetch (``SyncError``) surface here, after the pages before it are applied, as without prefetch.
    """
    merge_in_apply = _takes(store, "server_hlc")
    # The server's projection rows spare the laptop folding (shared.protocol.PullResponse.rows); asked
    # for only when the store can take them.
    with_rows = merge_in_apply and _takes(store, "rows")
    pulled = 0
    server_hlc: int | None = None
    after = store.pull_cursor()
    with ThreadPoolExecutor(1, thread_name_prefix="wijkteam-pull") as pool:
        ahead: Future[_Page] | None = pool.submit(_fetch_page, session, after, pull_limit, with_rows)
        try:
            while ahead is not None:
                page, events, rows, skew = ahead.result()
                ahead = None
                _check_log(store, page.log_id)  # before applying: a new log's numbers mean other events
                if skew is not None:
                    session.skew_ms = skew
                newer = next((e.schema for e in events if e.schema > SCHEMA_VERSION), None)
                if newer is not None:
                    raise SyncError(
                        f"De server stuurt events van een nieuwere versie (schema {newer}; deze app kent "
                        f"{SCHEMA_VERSION}): werk de wijkteam-app bij."
                    )
                if page.has_more and page.next_after > after:
                    ahead = pool.submit(_fetch_page, session, page.next_after, pull_limit, with_rows)
                if not (events or page.next_after != after):
                    store.recv_hlc(page.server_hlc)
                elif rows:
                    store.apply_remote(events, page.next_after, server_hlc=page.server_hlc, rows=rows)
                elif merge_in_apply:
                    store.apply_remote(events, page.next_after, server_hlc=page.server_hlc)
                else:
                    store.apply_remote(events, page.next_after)
                    store.recv_hlc(page.server_hlc)
                del events, rows  # the page is applied: drop it before waiting for the next one
                server_hlc = page.server_hlc
                pulled += page.count
                if on_progress:
                    on_progress("pull", pulled, None)
                after = page.next_after
        finally:
            if ahead is not None:
                # Giving up (error or interrupt): the fetch in flight is not retried, and leaving the
                # ``with`` waits for it, so no thread still uses the client when the caller closes it.
                session.abandoned = True
                ahead.cancel()
    return pulled, server_hlc


class _PageHead(msgspec.Struct):
    """What the pull loop keeps of a ``PullResponse`` besides its events."""

    next_after: int
    has_more: bool
    server_hlc: int
    count: int
    log_id: int = 0


_Page = tuple[_PageHead, list[Event], list[tuple[Any, ...]], int | None]


def _fetch_page(session: ServerSession, after: int, limit: int, with_rows: bool = False) -> _Page:
    """GET and decode one pull page (runs in the prefetch thread): its head, its events, the server's
    projection rows (empty unless ``with_rows`` and the server's projection version is this app's), the
    clock skew."""
    params = {"after": after, "limit": limit}
    if with_rows:
        params["rows"] = PROJECTION_KEY
    resp = session.request("GET", "/api/v1/sync/pull", params=params)
    page = _decode(_pull_dec, resp)
    events = [pe.event for pe in page.events]
    rows = page.rows if with_rows and page.projection == PROJECTION_KEY else []
    head = _PageHead(page.next_after, page.has_more, page.server_hlc, len(events), page.log_id)
    return head, events, rows, session.skew_of(page.server_time_ms)


def _takes(store: SyncStore, name: str) -> bool:
    """Whether ``store.apply_remote`` accepts keyword ``name`` (older or wrapping stores may not)."""
    try:
        params = inspect.signature(store.apply_remote).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _decode(decoder: msgspec.msgpack.Decoder, resp: httpx.Response) -> Any:
    try:
        return decoder.decode(resp.content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SyncError(f"Onverwacht antwoord van de server: {exc}", status=resp.status_code) from None


def describe(result: SyncResult) -> str:
    """A Dutch one-line summary of a round (``wijkteam sync`` prints it)."""
    from shared.protocol import WARN_SKEW_MS

    text = "Sync klaar: "
    if result.snapshot:
        text += f"snapshot met {result.snapshot} gebeurtenissen geïnstalleerd, "
    text += f"{result.pushed} verstuurd, {result.pulled} ontvangen"
    if result.quarantined:
        text += f", {result.quarantined} geweigerd door de server"
    if result.pending:
        text += f", {result.pending} wachten nog"
    if result.released or result.rejected:
        text += f"; de beheerder gaf {result.released} vrij en wees {result.rejected} af"
    if abs(result.skew_ms) >= WARN_SKEW_MS:
        minutes = result.skew_ms / 60000
        text += f". Let op: de klok van deze laptop loopt {abs(minutes):.0f} min {'voor' if minutes > 0 else 'achter'}"
    if result.config_version is not None:
        text += f". Gemeenteconfiguratie versie {result.config_version} ontvangen"
    text += "."
    if result.clock_fell_back:
        text += " " + clock_fallback_text(result.restamped)
    if result.refused:
        text += " " + refused_text(result.refused)
    return text


def refused_text(count: int) -> str:
    """The Dutch warning for refused events that need attention (the TUI and ``wijkteam sync``)."""
    if count == 1:
        return "1 wijziging is geweigerd door de server en staat niet in het register: zie 'Geweigerde wijzigingen' (F8)."
    return f"{count} wijzigingen zijn geweigerd door de server en staan niet in het register: zie 'Geweigerde wijzigingen' (F8)."


def clock_fallback_text(restamped: int) -> str:
    """The Dutch message after the laptop's clock fell back to the server's."""
    text = (
        "De klok van deze laptop liep voor op de server; de tijd van de app volgt nu de server. "
        "Zet de klok van de laptop goed"
    )
    if restamped:
        text += f"; {restamped} nog niet verstuurde {'wijziging kreeg' if restamped == 1 else 'wijzigingen kregen'} een nieuw tijdstip"
    return text + "."
