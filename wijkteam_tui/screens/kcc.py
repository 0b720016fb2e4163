"""KCC mode (``wijkteam --kcc``): a contact-centre agent looks up a melding for a caller, live on the server.

One search box takes any key (reference, postcode + huisnummer, street, phone in any Dutch spelling,
name, a few words; the server classifies it with ``shared.search.classify``), a list shows the hits,
and Enter opens the detail: open or gesloten, the expected date, what the resident may be told,
the reporter and the full history. Read-only: this screen has no key that changes anything.

Network calls run in an async worker (exclusive, group ``"kcc"``) through :class:`KccClient`
(a client of ``wijkteam_tui.server_client``); the UI never waits on the network. The server's
answers are decoded into the Structs of ``shared.search`` (``KccResults``, ``KccDetail``): an answer
of another shape is refused with a Dutch message, never half shown. When the server cannot be reached, the screen says so
in plain Dutch. User text is shown as plain text, never as markup.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, TypeVar

import httpx
import msgspec
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Input, Label, Static

from shared.search import EMPTY_MESSAGE, KccDetail, KccHit, KccResults, dutch_date
from wijkteam_tui import server_client
from wijkteam_tui.fmt import categorie_short, date_time, long_date, short_date
from wijkteam_tui.screens.base import WijkteamScreen

#: Seconds to wait for the server before saying it cannot be reached.
TIMEOUT_S = server_client.INTERACTIVE_TIMEOUT_S
SEARCH_PATH = "/api/v1/kcc/search"
DETAIL_PATH = "/api/v1/kcc/meldingen/{reference}"
ME_PATH = "/api/v1/me"

T = TypeVar("T")


class KccError(Exception):
    """A look-up that failed; ``message`` is Dutch and fit to show the agent as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class KccClient:
    """The KCC routes of the sync server (``wijkteam_tui.server_client.async_client``).

    Args:
        base_url: the server (``https://wijkteam.gemeente.nl``); None when not configured.
        token: a bearer token with role kcc, manager or admin.
        transport: an httpx transport (tests); default the network.
    """

    def __init__(self, base_url: str | None, token: str | None, *, transport: httpx.AsyncBaseTransport | None = None):
        self.base_url = (base_url or "").rstrip("/")
        self.token = token or ""
        self._transport = transport

    @property
    def configured(self) -> bool:
        """True when a server address and a token are set."""
        return bool(self.base_url and self.token)

    async def _get(self, path: str, params: dict[str, str] | None = None, *, json: Any = None) -> httpx.Response:
        """GET ``path`` (or POST ``json`` to it when given: search terms never go in a URL); the
        answer when it is a 200, else :class:`KccError` with what to tell the agent."""
        if not self.configured:
            raise KccError("Geen server ingesteld: vul het serveradres en het token in bij Instellingen (F9).")
        try:
            async with server_client.async_client(
                self.base_url, self.token, timeout_s=TIMEOUT_S, transport=self._transport
            ) as client:
                r = await (client.post(path, json=json) if json is not None else client.get(path, params=params))
        except httpx.TimeoutException:
            raise KccError(
                f"De server ({self.base_url}) antwoordt niet binnen {TIMEOUT_S:.0f} seconden. Probeer het zo opnieuw."
            ) from None
        except httpx.HTTPError:
            raise KccError(
                f"De server ({self.base_url}) is niet bereikbaar. Controleer de netwerkverbinding of probeer het "
                "later opnieuw; de melder kan ook zelf de status opvragen met de referentie."
            ) from None
        return _answer(r)

    async def _decoded(self, kind: type[T], path: str, params: dict[str, str] | None = None, *, json: Any = None) -> T:
        r = await self._get(path, params, json=json)
        try:
            return server_client.decode_json(r, kind)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise KccError(
                f"De server ({self.base_url}) gaf een antwoord dat deze versie van Wijkteam niet kent; "
                "vraag de beheerder of server en laptop dezelfde versie hebben."
            ) from None

    async def search(self, query: str) -> KccResults:
        """``POST /api/v1/kcc/search`` with ``{"q": …}``: how the query was read and the hits.

        The term goes in the body: a phone number or a name in a URL would end up in access logs.

        Raises:
            KccError: not configured, unreachable, refused (message from the server's ``detail``), or
                an answer of another shape.
        """
        return await self._decoded(KccResults, SEARCH_PATH, json={"q": query})

    async def detail(self, reference: str, melding_id: str | None = None) -> KccDetail:
        """``GET /api/v1/kcc/meldingen/{reference}``: the melding with reporter and history.

        ``melding_id`` picks one when several meldingen share the reference (a reference clash: without
        it the server answers 409, whose ``detail`` names them all).

        Raises:
            KccError: as :meth:`search`; 404 when the melding is gone; 409 for a clash.
        """
        params = {"melding_id": melding_id} if melding_id else None
        return await self._decoded(KccDetail, DETAIL_PATH.format(reference=reference), params)

    async def role(self) -> str | None:
        """The configured token's role (``GET /api/v1/me``), or None when it cannot be asked."""
        try:
            answer = (await self._get(ME_PATH)).json()
        except (KccError, ValueError):
            return None
        role = answer.get("role") if isinstance(answer, dict) else None
        return role if isinstance(role, str) else None


def _answer(r: httpx.Response) -> httpx.Response:
    if r.status_code == 200:
        return r
    try:
        detail = r.json().get("detail") or ""
    except ValueError:
        detail = ""
    if r.status_code == 401:
        raise KccError("Het token wordt niet herkend of is ingetrokken; vraag de beheerder om een nieuw token.")
    if r.status_code == 403:
        raise KccError("Dit token heeft geen KCC-rechten (rol kcc, manager of admin nodig).")
    if r.status_code in (400, 404) and detail:
        raise KccError(detail)
    if r.status_code >= 500:
        raise KccError("De server gaf een fout; probeer het opnieuw of meld het bij de beheerder.")
    raise KccError(detail or f"Onverwacht antwoord van de server ({r.status_code}).")


async def fetch_role(base_url: str | None, token: str | None) -> str | None:
    """The role of ``token`` on the server, or None (offline, not configured): lets the app start in
    KCC mode when the configured token has role kcc."""
    return await KccClient(base_url, token).role()


def whoami(base_url: str | None, token: str | None, *, timeout_s: float = 3.0,
           transport: httpx.BaseTransport | None = None) -> dict[str, Any] | None:
    """The token's user on the server (``GET /api/v1/me``: ``name``, ``role``, ``device_code``), at
    most ``timeout_s`` seconds, blocking (for the CLI). None when not configured, offline, or the
    token is refused."""
    if not (base_url and token):
        return None
    try:
        with server_client.client(base_url, token, timeout_s=timeout_s, transport=transport) as client:
            r = client.get(ME_PATH)
    except httpx.HTTPError:
        return None
    if r.status_code != 200:
        return None
    try:
        answer = r.json()
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def token_role(base_url: str | None, token: str | None, *, timeout_s: float = 3.0,
               transport: httpx.BaseTransport | None = None) -> str | None:
    """Blocking variant of :func:`fetch_role` for the CLI before the app starts (:func:`whoami`).
    None when not configured, offline, or the token is refused, so the caller falls back to the
    normal mode."""
    role = (whoami(base_url, token, timeout_s=timeout_s, transport=transport) or {}).get("role")
    return role if isinstance(role, str) else None


def starts_in_kcc_mode(config: Any, *, asked: bool, transport: httpx.BaseTransport | None = None) -> bool:
    """Whether ``wijkteam`` opens in KCC mode: ``--kcc`` given, or the configured token has role kcc
    (issue 5). ``config`` needs ``server_url`` and ``token``."""
    if asked:
        return True
    return token_role(getattr(config, "server_url", None), getattr(config, "token", None), transport=transport) == "kcc"


def _open_text(hit: KccHit) -> Text:
    return Text("open", style="bold green") if hit.open else Text("gesloten", style="bold")


def _expected(hit: KccHit) -> str:
    return dutch_date_text(hit.resident.expected_date) if hit.open else "—"


class KccScreen(WijkteamScreen):
    """Search box, results, detail; reads from the server, never writes."""

    DEFAULT_CSS = """
    KccScreen #kcc-query { margin: 0 1; }
    KccScreen #kcc-message { height: auto; padding: 0 1; color: $text-muted; }
    KccScreen #kcc-message.-error { color: $text-error; text-style: bold; }
    KccScreen #kcc-results { height: 1fr; }
    KccScreen #kcc-detail-scroll { height: 1fr; padding: 0 1; display: none; }
    KccScreen.-detail #kcc-detail-scroll { display: block; }
    KccScreen.-detail #kcc-results { display: none; }
    """

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("ctrl+f", "focus_search", "Zoeken", id="kcc.search"),
        Binding("escape", "back", "Terug", id="kcc.back"),
        Binding("f2", "read_only", "Nieuw", id="kcc.no_new", show=False),
    ]

    def __init__(self, client: KccClient | None = None) -> None:
        super().__init__()
        self._given = client
        self._client: KccClient | None = None
        self._client_key: tuple[str | None, str | None] | None = None
        self.results: list[KccHit] = []
        self.current: KccDetail | None = None

    @property
    def client(self) -> KccClient:
        """The client made from the app's configuration (``server_url``, ``token``) unless one was given.

        Made anew when the settings screen changed the configuration, so a new server or token works
        without restarting the app."""
        if self._given is not None:
            return self._given
        config = getattr(self.app, "config", None)
        key = (getattr(config, "server_url", None), getattr(config, "token", None))
        if self._client is None or key != self._client_key:
            self._client, self._client_key = KccClient(*key), key
        return self._client

    def compose(self) -> ComposeResult:
        yield Label("KCC — melding opzoeken (alleen lezen)", id="kcc-title", classes="screen-title")
        yield Input(placeholder="Referentie, postcode + huisnummer, straat, telefoon, naam of tekst", id="kcc-query")
        yield Static(Text(EMPTY_MESSAGE), id="kcc-message")
        table: DataTable[Any] = DataTable(id="kcc-results", cursor_type="row", zebra_stripes=True)
        # What the agent tells the caller comes first: "Verwacht klaar" right after the status, so a
        # long address or categorie can never push it off the screen (issue 14; checked at 80 and 120).
        table.add_columns("Referentie", "Status", "Verwacht klaar", "Adres", "Categorie", "Gemeld")
        yield table
        with VerticalScroll(id="kcc-detail-scroll"):
            yield Static(id="kcc-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#kcc-query", Input).focus()
        if not self.client.configured:
            self._message("Geen server ingesteld: vul het serveradres en het token in bij Instellingen (F9).", error=True)

    # -- helpers ---------------------------------------------------------------------------------

    def _message(self, text: str, *, error: bool = False) -> None:
        msg = self.query_one("#kcc-message", Static)
        msg.update(Text(text))
        msg.set_class(error, "-error")

    def _show_detail(self, shown: bool) -> None:
        self.set_class(shown, "-detail")

    # -- actions ---------------------------------------------------------------------------------

    def action_focus_search(self) -> None:
        self._show_detail(False)
        self.query_one("#kcc-query", Input).focus()

    def action_back(self) -> None:
        """From the detail back to the list; from the list to the search box. An app started in KCC
        mode never leaves it; on a wijkuitvoerder's laptop (F7) the search box goes back to the list
        of meldingen."""
        query = self.query_one("#kcc-query", Input)
        if self.has_class("-detail"):
            self._show_detail(False)
            self.query_one("#kcc-results", DataTable).focus()
        elif not getattr(self.app, "kcc", True) and query.has_focus:
            self.app.pop_screen()
        else:
            query.focus()

    def action_read_only(self) -> None:
        self.notify("De KCC-modus is alleen lezen: registreren gaat via de wijkuitvoerder.", severity="warning")

    # -- search ----------------------------------------------------------------------------------

    @on(Input.Submitted, "#kcc-query")
    def _submitted(self, event: Input.Submitted) -> None:
        query = event.value.strip()
        if not query:
            self._message(EMPTY_MESSAGE, error=True)
            return
        self._message("Zoeken…")
        self.run_search(query)

    @work(exclusive=True, group="kcc")
    async def run_search(self, query: str) -> None:
        """Ask the server and show the results (async worker: the UI keeps responding)."""
        try:
            answer = await self.client.search(query)
        except KccError as exc:
            # Old results under a new error would read as the answer to this question: clear them.
            self.results = []
            self.query_one("#kcc-results", DataTable).clear()
            self._show_detail(False)
            self._message(exc.message, error=True)
            return
        self._show_results(answer)

    def _show_results(self, answer: KccResults) -> None:
        self.results = answer.results
        table = self.query_one("#kcc-results", DataTable)
        table.clear()
        for hit in self.results:
            table.add_row(
                Text(hit.reference),
                _open_text(hit) + Text(f" · {hit.status_label}"),
                Text(_expected(hit)),
                # Long addresses are cut (the detail shows the whole address).
                Text(_cut(hit.adres or "—", 34)),
                Text(categorie_short(hit.categorie) or "—"),
                Text(short_date(hit.registered_at)),
                # Keyed by melding: two meldingen can share a reference (a clash; docs/kcc.md).
                key=hit.melding_id,
            )
        n = len(self.results)
        if n == 0:
            text = f"{answer.searched} — niets gevonden."
        elif answer.truncated:
            text = f"{answer.searched} — meer dan {n} meldingen; maak de zoekvraag preciezer."
        else:
            text = f"{answer.searched} — {n} {'melding' if n == 1 else 'meldingen'}. Enter: details."
        self._message(text)
        self._show_detail(False)
        if n:
            table.focus()
            if n == 1:
                self.run_detail(self.results[0].reference, self.results[0].melding_id)

    # -- detail ----------------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#kcc-results")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        hit = next((h for h in self.results if h.melding_id == event.row_key.value), None)
        if hit is not None:
            self.run_detail(hit.reference, hit.melding_id)

    @work(exclusive=True, group="kcc-detail")
    async def run_detail(self, reference: str, melding_id: str | None = None) -> None:
        """Fetch one melding in full and show it (``melding_id``: which one, should the reference clash)."""
        try:
            d = await self.client.detail(reference, melding_id)
        except KccError as exc:
            self._message(exc.message, error=True)
            return
        self.current = d
        self.query_one("#kcc-detail", Static).update(render_detail(d))
        self._show_detail(True)
        self.query_one("#kcc-detail-scroll").focus()


def render_detail(d: KccDetail) -> Group:
    """The detail as Rich renderables; every value from the server is plain Text (never markup)."""
    hit = d.hit
    res = hit.resident
    head = Text.assemble((hit.reference, "bold"), "  ", _open_text(hit), f" — {hit.status_label}")
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="dim", no_wrap=True)
    fields.add_column()
    rows = [
        ("Gemeld", long_date(hit.registered_at)),
        ("Categorie", hit.categorie_naam or "nog niet ingedeeld"),
        ("Adres", hit.adres or d.locatie or "—"),
        ("Wijk", hit.wijk_naam or hit.wijk or "—"),
        ("Verwacht klaar", dutch_date_text(res.expected_date) if hit.open else "—"),
        ("Gesloten", dutch_date_text(res.closed_date) if not hit.open else "—"),
        ("Omschrijving", d.omschrijving or "—"),
    ]
    melder = d.melder
    if d.verwijderd_op:
        rows.append(("Verwijderd", f"na de bewaartermijn, op {long_date(d.verwijderd_op)}; alleen statistiek bewaard"))
    if d.geanonimiseerd_op:
        rows.append(("Melder", f"geanonimiseerd op {long_date(d.geanonimiseerd_op)}"))
    elif melder and not melder.anoniem:
        contact = ", ".join(x for x in (melder.naam, melder.telefoon, melder.email) if x)
        rows.append(("Melder", contact or "—"))
    elif melder:
        rows.append(("Melder", "anoniem"))
    for label, value in rows:
        fields.add_row(Text(label), Text(str(value)))
    tell = Text.assemble(("Wat u de melder kunt vertellen:\n", "bold"), res.message or "")
    history = Table.grid(padding=(0, 2))
    history.add_column(style="dim", no_wrap=True)
    history.add_column()
    for h in d.history:
        history.add_row(Text(date_time(h.at)), Text(f"{h.summary} ({h.user})"))
    return Group(head, Text(""), fields, Text(""), tell, Text(""), Text("Historie", style="bold"), history)


def _cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, with ``…`` when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def dutch_date_text(day: date | str | None) -> str:
    """``date(2026, 5, 4)`` or ``"2026-05-04"`` → ``"4 mei 2026"``; ``"—"`` for None."""
    if not day:
        return "—"
    return dutch_date(day if isinstance(day, date) else date.fromisoformat(day))
