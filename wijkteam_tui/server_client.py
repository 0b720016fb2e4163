"""The laptop app's one way to the server: every request of the app (sync, snapshot, KCC, gazetteer,
municipality configuration, reports, the export audit) goes through a client made here.

One place for what all of them share (issue 17 §5):

* the server's address (``http://server:8080``, a trailing ``/`` allowed) and the bearer token;
* time-outs: :data:`CONNECT_TIMEOUT_S` to connect, then :data:`READ_TIMEOUT_S` for an answer unless
  the caller asks less (the KCC screen waits :data:`INTERACTIVE_TIMEOUT_S`);
* TLS: the system's certificate store through ``httpx.create_ssl_context()``; proxies: httpx's
  environment variables (``HTTPS_PROXY``…) for the plain client; the cancellable client (below)
  connects directly;
* cancelling: :func:`client` with ``cancel=`` (a flag with ``is_set()``, e.g. a Textual worker's
  ``cancelled_event``) waits on its sockets in slices of :data:`CANCEL_POLL_S` and checks the flag
  between them (:class:`CancellableBackend`), so a request stuck on a server that accepted the
  connection but never answers stops within a slice instead of after :data:`READ_TIMEOUT_S`,
  raising :class:`SyncCancelled`;
* the server's refusals in Dutch: :func:`detail_of`, and for the sync protocol :class:`ServerSession`
  (retries of transient failures, :class:`SyncError` with ``offline``/``status``).
"""

from __future__ import annotations

import errno
import selectors
import socket
import ssl
import threading
import time
import typing
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import httpcore
import httpx
import msgspec

from shared.protocol import PROTOCOL_VERSION

MSGPACK = "application/msgpack"
#: Seconds to connect to the server.
CONNECT_TIMEOUT_S = 5.0
#: Seconds to wait for an answer from a server that accepted the connection. A push of
#: MAX_PUSH_EVENTS events is committed well within this on the reference machine (docs/benchmarks.md).
READ_TIMEOUT_S = 30.0
#: Seconds an interactive look-up (the KCC screen) waits before saying the server does not answer.
INTERACTIVE_TIMEOUT_S = 8.0
#: Answers worth a retry: the server or a proxy in front of it is briefly unavailable.
TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
#: Longest wait on a socket (seconds) before a cancellable round looks at its cancel flag again.
CANCEL_POLL_S = 0.1

#: ``on_progress(stage, done, total)`` (``wijkteam_tui.sync_client.sync_once``).
Progress = Callable[[str, int, int | None], None]

T = typing.TypeVar("T")


class SyncError(Exception):
    """A sync round that did not finish.

    Attributes:
        message: Dutch, fit to show to the wijkuitvoerder as is.
        offline: True when the server could not be reached (try again later; nothing is lost).
        status: the HTTP status when the server answered with an error, else ``None``.
    """

    def __init__(self, message: str, *, offline: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offline = offline
        self.status = status


class SyncCancelled(SyncError):
    """The round was cancelled (the app is closing, or its worker was cancelled) while it waited.

    What was acknowledged or applied before stays done; the rest goes with the next round.
    """

    def __init__(self) -> None:
        super().__init__(
            "Sync afgebroken. Wat al verwerkt was blijft bewaard; de rest gaat mee bij de volgende sync.",
            offline=True,
        )


class CancelFlag(Protocol):
    """What ``cancel=`` needs: ``threading.Event`` and Textual's ``Worker.cancelled_event`` fit."""

    def is_set(self) -> bool:
        """True once the work should stop."""
        ...


class CancellableBackend(httpcore.NetworkBackend):
    """httpcore's plain TCP backend, but every wait on a socket is cut into slices of ``poll_s``
    seconds, and between slices the ``cancel`` flag is read: once it is set, the waiting call raises
    :class:`SyncCancelled`. The time-outs httpx asks for still apply as a whole (a slice that runs out
    is retried until the request's own time-out is used up).

    Why not close the socket from the thread that cancels: on Linux a ``close()`` from another thread
    does not wake a ``recv()`` that is already blocked, and Textual's worker cancel only sets an event.
    """

    def __init__(self, cancel: CancelFlag, poll_s: float = CANCEL_POLL_S) -> None:
        self.cancel = cancel
        self.poll_s = poll_s

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """A TCP connection to ``host``:``port`` within ``timeout`` seconds, cancellable while it waits.

        Raises:
            httpcore.ConnectError / ConnectTimeout: no address answers; SyncCancelled: cancelled.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        last: OSError | None = None
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        for family, kind, proto, _, addr in infos:
            sock = socket.socket(family, kind, proto)
            try:
                if local_address is not None:
                    sock.bind((local_address, 0))
                for option in socket_options or ():
                    sock.setsockopt(*option)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._connect(sock, addr, deadline)
                sock.setblocking(True)
                return _CancellableStream(sock, self)
            except OSError as exc:
                sock.close()
                last = exc
            except BaseException:
                sock.close()
                raise
        raise httpcore.ConnectError(str(last) if last else f"no address for {host}")

    def _connect(self, sock: socket.socket, addr: Any, deadline: float | None) -> None:
        sock.setblocking(False)
        err = sock.connect_ex(addr)
        if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, 10035):  # 10035: WSAEWOULDBLOCK
            raise OSError(err, f"connect: {errno.errorcode.get(err, err)}")
        if err:
            with selectors.DefaultSelector() as sel:
                sel.register(sock, selectors.EVENT_WRITE)
                while not sel.select(self.slice(deadline, httpcore.ConnectTimeout)):
                    pass
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, f"connect: {errno.errorcode.get(err, err)}")

    def slice(self, deadline: float | None, timeout_error: type[Exception]) -> float:
        """The next wait (seconds); raises SyncCancelled when cancelled, ``timeout_error`` when the
        request's own time-out is used up."""
        if self.cancel.is_set():
            raise SyncCancelled()
        if deadline is None:
            return self.poll_s
        left = deadline - time.monotonic()
        if left <= 0:
            raise timeout_error("timed out")
        return min(self.poll_s, left)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, ended early by the cancel flag (raising :class:`SyncCancelled`)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(self.poll_s, max(deadline - time.monotonic(), 0)))
            if self.cancel.is_set():
                raise SyncCancelled()


class _CancellableStream(httpcore.NetworkStream):
    """A TCP (or TLS) socket whose reads and writes wait in slices (see :class:`CancellableBackend`)."""

    def __init__(self, sock: socket.socket, backend: CancellableBackend) -> None:
        self._sock = sock
        self._backend = backend

    def _deadline(self, timeout: float | None) -> float | None:
        return None if timeout is None else time.monotonic() + timeout

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        deadline = self._deadline(timeout)
        while True:
            self._sock.settimeout(self._backend.slice(deadline, httpcore.ReadTimeout))
            try:
                return self._sock.recv(max_bytes)
            except TimeoutError:
                continue  # nothing was read: wait another slice
            except OSError as exc:
                raise httpcore.ReadError(str(exc)) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        deadline = self._deadline(timeout)
        view = memoryview(buffer)
        while view:
            self._sock.settimeout(self._backend.slice(deadline, httpcore.WriteTimeout))
            try:
                sent = self._sock.send(view)
            except TimeoutError:
                continue  # nothing was sent: the same bytes go in the next slice
            except OSError as exc:
                raise httpcore.WriteError(str(exc)) from exc
            view = view[sent:]

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        # The handshake is short and not sliced; only its own time-out applies.
        try:
            self._sock.settimeout(timeout)
            sock = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
        except TimeoutError as exc:
            self.close()
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            self.close()
            raise httpcore.ConnectError(str(exc)) from exc
        return _CancellableStream(sock, self._backend)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock._sslobj  # type: ignore[attr-defined]
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            # httpcore asks before reusing a kept-alive connection: readable then means closed.
            if self._sock.fileno() < 0:
                return True
            with selectors.DefaultSelector() as sel:
                sel.register(self._sock, selectors.EVENT_READ)
                return bool(sel.select(0))
        return None


def cancellable_client(cancel: CancelFlag, *, timeout: httpx.Timeout | None = None) -> httpx.Client:
    """An ``httpx.Client`` whose network waits end within :data:`CANCEL_POLL_S` of ``cancel`` being set
    (raising :class:`SyncCancelled` from the request). Plain HTTP and HTTPS, no proxy.

    ``timeout`` defaults to :data:`READ_TIMEOUT_S` (connect 5 s).
    """
    transport = httpx.HTTPTransport()
    # httpx has no public hook for httpcore's network backend: its pool is rebuilt with one, with the
    # settings httpx.HTTPTransport() uses by default.
    transport._pool = httpcore.ConnectionPool(  # type: ignore[attr-defined]
        ssl_context=httpx.create_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=CancellableBackend(cancel),
    )
    return httpx.Client(transport=transport, timeout=timeout or timeout_of(READ_TIMEOUT_S))


def timeout_of(read_s: float) -> httpx.Timeout:
    """``read_s`` seconds for each wait on the server, :data:`CONNECT_TIMEOUT_S` to connect."""
    return httpx.Timeout(read_s, connect=min(CONNECT_TIMEOUT_S, read_s))


def auth_headers(token: str | None) -> dict[str, str]:
    """The bearer token as a header (none without a token)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def client(
    base_url: str = "",
    token: str | None = None,
    *,
    timeout_s: float | None = None,
    cancel: CancelFlag | None = None,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A blocking client to the server at ``base_url`` (``""``: requests give full URLs) sending
    ``token``, waiting ``timeout_s`` seconds (default :data:`READ_TIMEOUT_S`). ``cancel``: network
    waits end within :data:`CANCEL_POLL_S` of the flag being set (:func:`cancellable_client`);
    ``transport``: a test's transport instead of the network. Close it (``with``) when done."""
    timeout = timeout_of(READ_TIMEOUT_S if timeout_s is None else timeout_s)
    if cancel is not None and transport is None:
        http = cancellable_client(cancel, timeout=timeout)
    else:
        http = httpx.Client(timeout=timeout, transport=transport)
    if base_url:
        http.base_url = httpx.URL(base_url.rstrip("/"))
    http.headers.update(auth_headers(token))
    return http


def async_client(
    base_url: str, token: str | None, *, timeout_s: float, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The asyncio variant of :func:`client` (for a Textual async worker: the UI never waits on the
    network), without cancel flag: Textual cancels an async worker's task itself."""
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"), timeout=timeout_of(timeout_s), transport=transport, headers=auth_headers(token)
    )


def decode_json(resp: httpx.Response, kind: type[T]) -> T:
    """The JSON body of ``resp`` as ``kind`` (a msgspec Struct from ``shared``), validated.

    Raises:
        msgspec.DecodeError / msgspec.ValidationError: not JSON, or not of that shape.
    """
    return msgspec.json.decode(resp.content, type=kind)


def has_detail(resp: httpx.Response) -> bool:
    """Whether the answer carries the server's own Dutch ``detail`` (a JSON object with one)."""
    try:
        body = resp.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("detail"), str) and bool(body["detail"])


def detail_of(resp: httpx.Response) -> str:
    """The server's Dutch ``detail`` of an error answer, else its reason phrase (``HTTP 418``)."""
    try:
        body = msgspec.json.decode(resp.content)
        if isinstance(body, dict) and isinstance(body.get("detail"), str):
            return body["detail"]
    except msgspec.DecodeError:
        pass
    return resp.reason_phrase or f"HTTP {resp.status_code}"


class ServerSession:
    """The requests of one sync round (and the snapshot download in it) to one server: the bearer
    token, MessagePack and the protocol version in every request's headers, transient failures
    (no connection, 429/502/503/504) retried ``retries`` times after ``delays`` seconds, every answer
    of 400 or more turned into a Dutch :class:`SyncError`, and the clock skew measured on the way.
    A ``cancel`` flag is read before each request and during each pause."""

    def __init__(
        self,
        client: httpx.Client,
        base: str,
        token: str,
        retries: int,
        sleep: Callable[[float], None],
        delays: Sequence[float],
        clock: Callable[[], int],
        cancel: CancelFlag | None = None,
    ) -> None:
        self.clock = clock
        self.cancel = cancel
        self.client = client
        self.base = base.rstrip("/")
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": MSGPACK,
            "X-Wijkteam-Protocol": str(PROTOCOL_VERSION),
        }
        self.retries = retries
        self.sleep = sleep
        self.delays = delays
        self.skew_ms = 0
        #: Set when the round gives up while a prefetch is in flight: that request is not retried.
        self.abandoned = False

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """``method`` ``path`` (after the server's address), ``kw`` as ``httpx.Client.request``.

        Raises:
            SyncError: the answer was an error (``.status``), or the server could not be reached
                (``.offline``) after the retries; SyncCancelled: the flag was set.
        """
        attempt = 0
        headers = {**self.headers, **kw.pop("headers", {})}
        while True:
            self.check_cancel()
            t0 = self.clock()
            try:
                resp = self.client.request(method, self.base + path, headers=headers, **kw)
            except (httpx.UnsupportedProtocol, httpx.InvalidURL):
                raise SyncError(
                    f"Ongeldig serveradres {self.base!r}: gebruik de vorm http://server:8080 (zie Instellingen)."
                ) from None
            except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
                # Connected, but the server does not answer: retrying would only make the user wait
                # minutes longer. Every push is idempotent, so the next round safely sends it again.
                raise SyncError(
                    f"De server antwoordt niet (binnen {READ_TIMEOUT_S:.0f} s, {type(exc).__name__}). De meldingen "
                    "blijven op deze laptop bewaard en gaan mee bij de volgende sync.",
                    offline=True,
                ) from None
            except httpx.TransportError as exc:
                if attempt < self.retries and not self.abandoned:
                    self.wait(attempt)
                    attempt += 1
                    continue
                raise SyncError(
                    f"Geen verbinding met de server ({type(exc).__name__}). De meldingen blijven op deze laptop "
                    "bewaard en gaan mee bij de volgende sync.",
                    offline=True,
                ) from None
            t1 = self.clock()
            if resp.status_code in TRANSIENT_STATUS and attempt < self.retries and not self.abandoned:
                self.wait(attempt)
                attempt += 1
                continue
            self._raise_for(resp)
            self._t0, self._t1 = t0, t1
            return resp

    def check_cancel(self) -> None:
        """Raise :class:`SyncCancelled` when the round was cancelled (checked before each request)."""
        if self.cancel is not None and self.cancel.is_set():
            raise SyncCancelled()

    def wait(self, attempt: int) -> None:
        """The pause before retry ``attempt``; cut short by a cancel."""
        self.pause(self.delays[min(attempt, len(self.delays) - 1)])

    def pause(self, delay: float) -> None:
        """Wait ``delay`` seconds (the round's ``sleep``); cut short by a cancel."""
        if self.sleep is time.sleep and isinstance(self.cancel, threading.Event):
            self.cancel.wait(delay)
        else:
            self.sleep(delay)
        self.check_cancel()

    @staticmethod
    def _raise_for(resp: httpx.Response) -> None:
        code = resp.status_code
        if code < 400:
            return
        detail = detail_of(resp)
        if code == 401:
            raise SyncError(f"De server kent dit token niet: {detail}", status=code)
        if code == 403:
            raise SyncError(f"Geen toegang: {detail}", status=code)
        if code == 503 and has_detail(resp):
            # The server says why (e.g. "De server kan niet opslaan: de schijf is vol. …"): show that,
            # not a status number; like an outage, the work stays here and the next round retries.
            raise SyncError(detail, offline=True, status=code)
        if code in TRANSIENT_STATUS:
            raise SyncError(f"De server is even niet bereikbaar ({code}); later opnieuw.", offline=True, status=code)
        if code >= 500:
            raise SyncError(f"Serverfout ({code}): {detail}", status=code)
        raise SyncError(detail, status=code)

    def server_clock(self, server_time_ms: int) -> None:
        """Keep the skew measured by the last request against the server's time (ms since the epoch)."""
        skew = self.skew_of(server_time_ms)
        if skew is not None:
            self.skew_ms = skew

    def skew_of(self, server_time_ms: int) -> int | None:
        """This laptop's clock minus the server's (ms) by the last request's send/receive times."""
        return (self._t0 + self._t1) // 2 - server_time_ms if server_time_ms else None
