"""The Textual app and its factory ``make_app`` (used by the CLI and the tests alike).

The app owns the UI thread's :class:`LocalStore`. Background sync runs in a thread worker
(exclusive, group ``"sync"``) with its own store on the same file; it calls
``wijkteam_tui.sync_client.sync_once`` when configured, on an interval and after each save, backing
off after failures. Without ``sync_client`` (or without server/token) the app works offline. The
round gets the worker's cancel flag, so quitting while a silent server holds the round is prompt
(:meth:`WijkteamApp.run_sync`, docs/sync.md "Afbreken").

KCC mode (issue 5, ``kcc=True``): the app is read-only — no background sync, and the actions in
:data:`KCC_BLOCKED` (new melding, sync, status/note/terugkoppeling/edit) are disabled through
``check_action`` on the app and the screens, so neither a key nor the command palette reaches them.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import msgspec
from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.filter import LineFilter
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, get_current_worker

from shared.deadlines import local_date, utcnow
from shared.gemeente import activate
from wijkteam_store.local import LocalStore, StoreError
from wijkteam_tui.config import Config
from wijkteam_tui.fmt import key_label
from wijkteam_tui.keygate import KeyGate, edits_only
from wijkteam_tui.safe_display import ControlCharacterFilter
from wijkteam_tui.threads import to_ui
from wijkteam_tui.widgets import AddressLookup

#: Longest wait between sync attempts after repeated failures (seconds).
MAX_BACKOFF_S = 15 * 60

#: Actions that write (or push writes); disabled in KCC mode, which is read-only (issue 5).
KCC_BLOCKED = frozenset(
    {
        "new_melding", "new", "sync_now", "status", "note", "callback", "edit", "save", "anonymise", "delete",
        "restore", "link_duplicate", "assign", "link",
    }
)


class WijkteamApp(App):
    """Wijkteam: register, find and follow up meldingen."""

    TITLE = "Wijkteam"
    CSS_PATH = Path(__file__).parent / "app.tcss"  # absolute: subclasses (tests) find it too
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="app.help"),
        Binding("ctrl+q", "quit", "Stoppen", id="app.quit", priority=True),
        # One meaning everywhere (issue 14): n is always "new melding", never "note".
        Binding("n", "new_melding", "Nieuwe melding", id="app.new_n", show=False),
        Binding("f2", "new_melding", "Nieuw", id="app.new", show=False),
        Binding("f5", "sync_now", "Sync", id="app.sync"),
        Binding("f6", "report", "Barometer", id="app.report"),
        Binding("f7", "kcc", "KCC", id="app.kcc", show=False),
        Binding("f8", "refused", "Geweigerde wijzigingen", id="app.refused", show=False),
        Binding("f9", "settings", "Instellingen", id="app.settings"),
        # Our own entry, so the footer and the palette speak Dutch (Textual adds "palette" otherwise).
        Binding("ctrl+p", "command_palette", "Opdrachten", id="app.palette", show=False, priority=True),
    ]

    sync_text: reactive[str] = reactive("")

    #: Applied to every line any widget draws (``wijkteam_tui.safe_display``).
    _control_filter = ControlCharacterFilter()

    def get_line_filters(self) -> list[LineFilter]:
        """Textual's filters plus :class:`ControlCharacterFilter`: no stored text reaches the
        terminal with a control character in it, whichever widget draws it."""
        return [*super().get_line_filters(), self._control_filter]

    def __init__(
        self,
        db_path: str | Path,
        config: Config,
        *,
        kcc: bool = False,
        demo: bool = False,
        clock: Callable[[], datetime] | None = None,
        address_lookup: AddressLookup | None = None,
        busy_timeout_ms: int = 5000,
        sync_fn: Callable[..., Any] | None = None,
        auto_sync: bool = True,
        location: Any = None,
        wijken: Any = None,
        gazetteer_dir: str | Path | None = None,
        whoami: Callable[[str, str], str | None] | None = None,
    ) -> None:
        super().__init__()
        #: Asks the server who the token belongs to (``GET /api/v1/me``): the laptop learns its own
        #: user name, which is what meldingen are assigned to (CONTRACTS §5). Tests pass their own.
        self._whoami = whoami if whoami is not None else (None if sync_fn is not None else fetch_user_name)
        self._asked_whoami = False
        self.location = location
        self.wijken = wijken
        self.gazetteer_dir = Path(gazetteer_dir) if gazetteer_dir is not None else None
        self._gazetteer_mtime: int | None = None
        if self.gazetteer_dir is not None:
            from wijkteam_tui.location.download import GAZETTEER_FILE

            try:  # the copy present now is the one the start-up loader indexes
                self._gazetteer_mtime = (self.gazetteer_dir / GAZETTEER_FILE).stat().st_mtime_ns
            except OSError:
                pass
        self.db_path = Path(db_path)
        self.config = config
        self.kcc = kcc
        self.demo = demo
        self._clock = clock
        self.address_lookup = address_lookup
        self.busy_timeout_ms = busy_timeout_ms
        self._sync_fn = sync_fn
        self.auto_sync = auto_sync
        self.store = LocalStore(self.db_path, busy_timeout_ms=busy_timeout_ms)
        # The municipality configuration this laptop received from the server (else the package
        # default) is the one in force from now on (shared.gemeente).
        activate(self.store.gemeente_config())
        self._startup_problem: str | None = None
        if config.device_code and self.store.device_code() != config.device_code:
            try:
                self.store.set_device_code(config.device_code)
            except StoreError as exc:  # events of the old code still wait: keep it, and say so
                self._startup_problem = exc.message
        self._failures = 0
        self._sync_timer: Timer | None = None
        self.last_sync: datetime | None = None
        self.last_skew_ms: int | None = None
        self.sync_error: str | None = None
        self.offline = False
        self.syncing = False  # a round is running in the worker thread
        self.sync_progress = ""  # what the running round is doing (``_progress_text``)
        #: Keys typed ahead land where they were meant, in order, or nowhere (wijkteam_tui.keygate).
        self.keygate = KeyGate(self, self._deliver_event, lambda text: self.notify(text, severity="warning"))

    # -- time ------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The current instant (aware UTC); fixed in snapshot tests."""
        return self._clock() if self._clock else utcnow()

    @property
    def hlc_clock(self) -> Callable[[], int] | None:
        """Wall clock for event stamps (ms); follows the app clock when that is fixed."""
        if self._clock is None:
            return None
        return lambda: int(self._clock().timestamp() * 1000)

    # -- lifecycle -------------------------------------------------------------------------------

    # -- keys typed ahead -------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Keys and pastes go through :attr:`keygate` (held while the app still reacts to an earlier
        key); every other event as Textual handles it."""
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            if self.keygate.hold(event):
                return
            edits = edits_only(event, self._focused_or_none())
            await super().on_event(event)
            self.keygate.dispatched(event, edits=edits)
            return
        await super().on_event(event)

    async def _deliver_event(self, event: events.Event) -> None:
        """A held key, delivered now as Textual would have when it arrived."""
        await super().on_event(event)

    def _focused_or_none(self) -> Any:
        try:
            return self.focused
        except Exception:  # noqa: BLE001 - no screen yet
            return None

    # -- lifecycle -------------------------------------------------------------------------------

    def on_mount(self) -> None:
        from wijkteam_tui.screens.meldingen import MeldingenScreen
        from wijkteam_tui.screens.werkvoorraad import WerkvoorraadScreen

        # The day starts from "Mijn werkvoorraad" (issue 14); the KCC's read-only mode from the list.
        self.push_screen(MeldingenScreen() if self.kcc else WerkvoorraadScreen())
        if self.kcc:
            self.action_kcc()
        elif not self.store.device_code():
            self.notify(
                "Nog geen apparaatcode: vul die in bij Instellingen (F9) om meldingen te registreren.",
                severity="warning",
                timeout=10,
            )
        if self._startup_problem:
            self.notify(
                f"Apparaatcode {self.config.device_code} niet overgenomen. {self._startup_problem}",
                severity="warning",
                timeout=20,
            )
        self.update_sync_text()
        if self.auto_sync and not self.kcc:
            self.schedule_sync(0)

    def on_unmount(self) -> None:
        self.store.close()

    async def action_quit(self) -> None:
        """Ctrl+Q: stop, but first ask when a half-typed melding would be thrown away."""
        half = self.half_typed()
        if half is None:
            self.exit()
            return
        from wijkteam_tui.screens.dialogs import ConfirmModal

        def chosen(stop: bool | None) -> None:
            if stop:
                self.exit()

        await self.push_screen(
            ConfirmModal(
                "Stoppen?",
                f"Er staat een half ingevulde melding ({half}). Die gaat verloren als u nu stopt.",
                ja="Enter: toch stoppen",
                nee="Esc: terug naar de melding",
            ),
            chosen,
        )

    def half_typed(self) -> str | None:
        """A short description of what the (installed) intake form holds, or None when it is empty."""
        if not self.is_screen_installed("intake"):
            return None
        from wijkteam_tui.widgets import MeldingForm

        try:
            form = self.get_screen("intake").query_one(MeldingForm)
        except Exception:  # noqa: BLE001 - the form is not composed (never opened)
            return None
        return form.typed_summary()

    def action_command_palette(self) -> None:
        """The command palette, in Dutch (placeholder and "no match" text)."""
        if self.use_command_palette and not CommandPalette.is_open(self):
            from wijkteam_tui.screens.dialogs import DutchCommandPalette

            self.push_screen(DutchCommandPalette(id="--command-palette"))

    # -- navigation ------------------------------------------------------------------------------

    def action_new_melding(self) -> None:
        from wijkteam_tui.screens.intake import IntakeScreen

        if not self.allows("new_melding"):
            return
        if isinstance(self.screen, IntakeScreen):
            return
        # Installed, so Escape back to the list keeps a half-typed call for when you return.
        if not self.is_screen_installed("intake"):
            self.install_screen(IntakeScreen(), "intake")
        self.push_screen("intake")

    def action_report(self) -> None:
        """The barometer report (``screens.report``, the barometer engineer's), if present."""
        try:
            from wijkteam_tui.screens.report import ReportScreen
        except ImportError:
            self.notify("De barometer is nog niet beschikbaar.", severity="warning")
            return
        if not isinstance(self.screen, ReportScreen):
            self.push_screen(
                ReportScreen(
                    self.db_path,
                    server_url=self.config.server_url,
                    token=self.config.token,
                    today=local_date(self.now()),
                    demo=self.demo,
                )
            )

    def action_kcc(self) -> None:
        """The KCC look-up screen (``screens.kcc``, the KCC engineer's), if present."""
        try:
            from wijkteam_tui.screens.kcc import KccScreen
        except ImportError:
            self.notify("KCC-modus is nog niet beschikbaar.", severity="warning")
            return
        if not isinstance(self.screen, KccScreen):
            self.push_screen(KccScreen())

    def action_refused(self) -> None:
        """F8: the changes the server refused, with the reason and what to do (``screens.refused``)."""
        from wijkteam_tui.screens.refused import RefusedScreen

        if not isinstance(self.screen, RefusedScreen):
            self.push_screen(RefusedScreen())

    def action_help(self) -> None:
        from wijkteam_tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list[BindingType]]]:
        """What F1 lists: per screen its name as shown and its BINDINGS (the app's own first)."""
        from wijkteam_tui.screens.detail import DetailScreen
        from wijkteam_tui.screens.edit import EditScreen
        from wijkteam_tui.screens.intake import IntakeScreen
        from wijkteam_tui.screens.meldingen import MeldingenScreen
        from wijkteam_tui.screens.refused import RefusedScreen
        from wijkteam_tui.screens.werkvoorraad import WerkvoorraadScreen

        return [
            ("Overal", list(type(self).BINDINGS)),
            ("Werkvoorraad", list(WerkvoorraadScreen.BINDINGS)),
            ("Alle meldingen", list(MeldingenScreen.BINDINGS)),
            ("Nieuwe melding", list(IntakeScreen.BINDINGS)),
            ("Melding", list(DetailScreen.BINDINGS)),
            ("Bewerken", list(EditScreen.BINDINGS)),
            ("Geweigerd", list(RefusedScreen.BINDINGS)),
        ]

    def switch_werkvoorraad(self) -> None:
        """The ``w`` switch of the werkvoorraad and the list: pick mine, the team's, a colleague's
        werkvoorraad or all meldingen (``wijkteam_tui.screens.werkvoorraad.open_view``; through the
        app so the list screen does not import the werkvoorraad that opens it)."""
        from wijkteam_tui.screens.werkvoorraad import open_view

        open_view(self, self.config.user)

    def action_settings(self) -> None:
        from wijkteam_tui.screens.settings import SettingsScreen

        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette offers every action that has a binding on the current screen, in Dutch."""
        seen = set()
        for bindings in (screen.BINDINGS, self.BINDINGS):
            for b in bindings:
                if not isinstance(b, Binding) or not b.description or b.action in seen:
                    continue
                seen.add(b.action)
                if b.action == "command_palette":
                    continue  # the palette is open already
                target = self if bindings is self.BINDINGS else screen
                if not target.check_action(b.action, ()):
                    continue  # disabled here (KCC mode is read-only; sync without a server)
                yield SystemCommand(
                    b.description, f"Toets: {key_label(b)}", partial(target.run_action, b.action)
                )
        yield SystemCommand("Thema wisselen", "Licht of donker", self.action_toggle_dark)

    # -- sync ------------------------------------------------------------------------------------

    def after_save(self) -> None:
        """Called after every local write: refresh the waiting count and push soon."""
        self.update_sync_text()
        self.schedule_sync(0)

    def allows(self, action: str) -> bool:
        """False for a writing action in KCC mode (:data:`KCC_BLOCKED`); screens ask this in their
        ``check_action`` so the read-only rule lives here once."""
        return not (self.kcc and action in KCC_BLOCKED)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Disable writing actions in KCC mode. F5 stays on without a server: it then says so, and how
        to set one up (issue 14), instead of doing nothing."""
        if not self.allows(action):
            return False
        return True

    def action_sync_now(self) -> None:
        if not self.allows("sync_now"):
            return
        self._failures = 0
        if not self.config.can_sync:
            self.notify(
                "Geen server ingesteld: Wijkteam werkt alleen lokaal en kan niet synchroniseren. "
                "Vul bij Instellingen (F9) het serveradres en uw token in; die krijgt u van de beheerder "
                "(wijkteam-server user add).",
                title="Synchroniseren",
                severity="warning",
                timeout=15,
            )
            return
        self.schedule_sync(0)

    def schedule_sync(self, delay_s: float) -> None:
        """(Re)start the sync timer; does nothing without server URL and token, or in KCC mode."""
        if not self.config.can_sync or not self.auto_sync or self.kcc:
            return
        if self._sync_timer is not None:
            self._sync_timer.stop()
        self._sync_timer = self.set_timer(max(delay_s, 0.01), self.run_sync)

    def _get_sync_fn(self) -> tuple[Callable[..., Any], type[Exception]] | None:
        if self._sync_fn is not None:
            return self._sync_fn, Exception
        try:
            from wijkteam_tui.sync_client import SyncError, sync_once
        except ImportError:
            return None
        return sync_once, SyncError

    @work(thread=True, exclusive=True, group="sync")
    def run_sync(self) -> None:
        """One sync round in a worker thread, with its own store connection.

        Cancellable: the worker's ``cancelled_event`` goes to the sync as ``cancel=``, so cancelling
        the worker — which Textual does for every worker when the app closes — ends a round that waits
        on a silent server within ``server_client.CANCEL_POLL_S`` instead of its read time-out; quitting
        never waits for the network. What the round committed before stays committed. A cancelled
        round reports nothing to the (closing) UI.
        """
        found = self._get_sync_fn()
        if found is None:
            return
        sync_fn, error_type = found
        worker = get_current_worker()
        if not self._to_ui(worker, self._sync_started):
            return
        store = LocalStore(self.db_path, busy_timeout_ms=self.busy_timeout_ms)
        # The sync also refreshes the laptop's copy of the gazetteer (only when a folder is set).
        extra: dict[str, Any] = {"gazetteer_dir": self.gazetteer_dir} if self.gazetteer_dir is not None else {}
        if _accepts(sync_fn, "cancel"):
            extra["cancel"] = worker.cancelled_event
        if _accepts(sync_fn, "snapshot_behind"):
            extra["snapshot_behind"] = self.config.snapshot_behind
        if _accepts(sync_fn, "exclusive"):
            # A snapshot replaces the database file: the UI's own connection must be closed then.
            extra["exclusive"] = partial(self._exclusive, worker)
        if _accepts(sync_fn, "on_progress"):
            extra["on_progress"] = _Throttled(partial(self._to_ui, worker, self._sync_progress))
        effects = None
        try:
            mark = store.events_mark()
            try:
                result = sync_fn(store, self.config.server_url, self.config.token, **extra)
                error = None
            except error_type as exc:
                result, error = None, exc
            pending = store.pending_count()
            me = self.config.user
            if error is None and self._whoami is not None and not self._asked_whoami:
                self._asked_whoami = True
                try:
                    name = self._whoami(self.config.server_url, self.config.token)
                except Exception:  # noqa: BLE001 - asked again next session; nothing depends on it now
                    name = None
                if name:
                    me = name
                    self._to_ui(worker, self._learned_user, name)
            if error is None and not getattr(result, "snapshot", 0):
                # What the round changed that the user must see (issue 14): a read, in this thread.
                from wijkteam_tui.sync_effects import sync_effects

                try:
                    effects = sync_effects(store, mark, me=me)
                except Exception:  # noqa: BLE001 - telling must never break the sync
                    effects = None
        finally:
            store.close()
        if worker.is_cancelled:
            return
        if error is None:
            self._reload_gazetteer()
        self._to_ui(worker, self._sync_done, result, error, pending, effects)

    def _exclusive(self, worker: Worker[Any], fn: Callable[[], None]) -> None:
        """From the sync worker: run ``fn`` (a snapshot's install) on the UI thread while the UI's
        store is closed, then reopen it; waits for it, re-raising what ``fn`` raised.

        The UI thread does nothing else meanwhile (the install is one rename, a few milliseconds),
        so no screen reads a closed store. When the worker is cancelled before the UI got to it
        (the app closes), ``fn`` never runs and ``SyncCancelled`` is raised.
        """
        from wijkteam_tui.sync_client import SyncCancelled

        done = threading.Event()
        lock = threading.Lock()
        state: dict[str, Any] = {"started": False, "abandoned": False, "error": None}

        def on_ui() -> None:
            with lock:
                if state["abandoned"]:
                    return
                state["started"] = True
            try:
                self.store.close()
                try:
                    fn()
                finally:
                    self.store.reopen()
            except BaseException as exc:  # noqa: BLE001 - handed to the worker, which reports it
                state["error"] = exc
            finally:
                done.set()

        if not self._to_ui(worker, on_ui):
            raise SyncCancelled()
        while not done.wait(0.1):
            if worker.is_cancelled:
                with lock:
                    if not state["started"]:
                        state["abandoned"] = True
                        raise SyncCancelled()
        if state["error"] is not None:
            raise state["error"]

    def _sync_progress(self, stage: str, done: int, total: int | None) -> None:
        """Progress of the running round (UI thread): shown in the status line."""
        self.sync_progress = _progress_text(stage, done, total)
        self.update_sync_text()

    def _to_ui(self, worker: Worker[Any], callback: Callable[..., Any], *args: Any) -> bool:
        """Queue ``callback`` on the UI thread (never waiting for it: ``wijkteam_tui.threads``)
        unless the worker was cancelled or the app is closing; True when it was queued."""
        if worker.is_cancelled:
            return False
        return to_ui(self, callback, *args)

    def _reload_gazetteer(self) -> None:
        """After a sync (worker thread): a newer downloaded gazetteer replaces the intake's index."""
        if self.gazetteer_dir is None or self.location is None:
            return
        from wijkteam_tui.location.download import GAZETTEER_FILE, load_local_gazetteer

        try:
            mtime = (self.gazetteer_dir / GAZETTEER_FILE).stat().st_mtime_ns
        except OSError:
            return
        if mtime == self._gazetteer_mtime:
            return
        gazetteer = load_local_gazetteer(self.gazetteer_dir, fallback_to_sample=False)
        if gazetteer is not None:
            self.location.set_gazetteer(gazetteer)
            self._gazetteer_mtime = mtime

    def _sync_started(self) -> None:
        self.syncing = True
        self.sync_progress = ""
        self.update_sync_text()

    def _sync_done(self, result: Any, error: Exception | None, pending: int, effects: Any = None) -> None:
        self.syncing = False
        if effects is not None:
            self._tell_effects(effects)
        self.sync_progress = ""
        if error is None:
            self._failures = 0
            self.offline = False
            self.sync_error = None
            if getattr(result, "config_version", None) is not None:
                g = activate(self.store.gemeente_config())
                self.notify(f"Nieuwe gemeenteconfiguratie in gebruik: {g.label()}.", timeout=8)
            self.last_sync = getattr(result, "finished_at", None) or self.now()
            self.last_skew_ms = getattr(result, "skew_ms", None)
            delay = self.config.sync_interval_s
            self._tell_refusals(result)
            if (getattr(result, "pulled", 0) or getattr(result, "snapshot", 0)) and hasattr(self.screen, "refresh_rows"):
                self.screen.refresh_rows(keep_page=True)
        else:
            self._failures += 1
            self.offline = bool(getattr(error, "offline", False))
            self.sync_error = getattr(error, "message", str(error))
            delay = min(self.config.sync_interval_s * 2**self._failures, MAX_BACKOFF_S)
        self.update_sync_text(pending)
        self.schedule_sync(delay)

    def _learned_user(self, name: str) -> None:
        """The server says who this laptop's token belongs to: that name is the user from now on
        (it stamps events and is what meldingen are assigned to), and is kept in the settings. From the
        network, so it passes the same text rule as every name typed here (``shared.validation``)."""
        from shared.errors import ValidationError
        from shared.validation import MAX_NAME_LENGTH, clean_line

        try:
            name = clean_line(name, "gebruiker", max_length=MAX_NAME_LENGTH, required=True)
        except ValidationError:
            return
        if name == self.config.user:
            return
        old = self.config.user
        self.config = msgspec.structs.replace(self.config, user=name)
        if not self.demo:
            from wijkteam_tui.config import save_config

            try:
                save_config(self.config)
            except OSError:
                pass  # used this session; asked again at the next start
        self.notify(f"Gebruikersnaam volgens de server: {name} (was {old}).", timeout=8)
        self.update_sync_text()
        if hasattr(self.screen, "refresh_rows"):
            self.screen.refresh_rows(keep_page=True)

    def _tell_effects(self, effects: Any) -> None:
        """After a round (``wijkteam_tui.sync_effects``): refresh the melding on screen when the round
        changed it; say which own changes lost a concurrent edit (and what won), which new
        meldingen may be the same problem as one already here, and which were assigned to the user."""
        for lost in effects.lost:
            self.notify(
                f"{lost.reference}: uw wijziging van {lost.field} is overschreven door een gelijktijdige "
                f"wijziging van {lost.by}. Nu geldt: {lost.won} (u had: {lost.lost}).",
                title="Gelijktijdige wijziging",
                severity="warning",
                timeout=60,
            )
        for dup in effects.duplicates:
            self.notify(
                f"{dup.new} (van een andere laptop) en {dup.other}: zelfde categorie, {dup.afstand_m:.0f} m, "
                "zelfde dag. Mogelijk dezelfde melding; niets is samengevoegd (d op de melding: koppelen).",
                title="Mogelijk dubbel",
                severity="warning",
                timeout=30,
            )
        if effects.assigned_to_me:
            refs = effects.assigned_to_me
            shown = ", ".join(refs[:5]) + (f" en {len(refs) - 5} meer" if len(refs) > 5 else "")
            self.notify(
                f"{shown} {'is' if len(refs) == 1 else 'zijn'} aan u toegewezen; zie Mijn werkvoorraad.",
                title="Nieuw in uw werkvoorraad",
                timeout=30,
            )
        screen = self.screen
        if getattr(screen, "melding_id", None) in effects.touched and hasattr(screen, "reload"):
            screen.reload()

    def _tell_refusals(self, result: Any) -> None:
        """After a round: say what the server refused, the admin decided, or the clock did."""
        from wijkteam_tui.sync_client import clock_fallback_text, refused_text

        if getattr(result, "clock_fell_back", False):
            self.notify(clock_fallback_text(result.restamped), severity="warning", timeout=30)
        if getattr(result, "quarantined", 0):
            self.notify(refused_text(result.refused or result.quarantined), severity="error", timeout=30)
        released, rejected = getattr(result, "released", 0), getattr(result, "rejected", 0)
        if released:
            self.notify(f"De beheerder gaf {released} geweigerde wijziging(en) vrij; ze staan nu in het register.")
        if rejected:
            self.notify(f"De beheerder wees {rejected} geweigerde wijziging(en) af: zie F8.", severity="warning")
        if (released or rejected) and hasattr(self.screen, "refresh_rows"):
            if _is_refused(self.screen):
                self.screen.refresh_rows()
            else:
                self.screen.refresh_rows(keep_page=True)

    def update_sync_text(self, pending: int | None = None) -> None:
        """Compose the status line: last sync, waiting events, offline, clock skew."""
        from shared.protocol import MAX_REGISTERED_BEHIND_MS, WARN_SKEW_MS
        from wijkteam_tui.fmt import date_time

        pending = self.store.pending_count() if pending is None else pending
        parts = [f"{self.config.user}@{self.store.device_code() or '??'}"]
        if self.demo:
            parts.append("DEMO (voorbeeldgegevens)")
        if not self.config.can_sync:
            parts.append("alleen lokaal")
        elif self.syncing:
            parts.append(f"bezig met synchroniseren… {self.sync_progress}".rstrip())
        elif self.offline:
            parts.append("offline")
        elif self.sync_error:
            parts.append(f"sync mislukt: {self.sync_error}")
        elif self.last_sync:
            parts.append(f"laatste sync {date_time(self.last_sync)}")
        else:
            parts.append("nog niet gesynchroniseerd")
        parts.append(f"{pending} wachtend")
        refused = self.store.refused_count()
        if refused:
            # Persistent until the admin decides (or the user saw a rejection): never silent.
            parts.append(f"⚠ {refused} geweigerd (F8)")
        behind = self.store.clock_behind_ms(int(self.now().timestamp() * 1000))
        if behind > MAX_REGISTERED_BEHIND_MS:
            parts.append("klok staat terug: nieuwe meldingen krijgen de laatst bekende tijd!")
        if self.last_skew_ms is not None and abs(self.last_skew_ms) >= WARN_SKEW_MS:
            parts.append(f"klok wijkt {self.last_skew_ms // 1000} s af!")
        self.sync_text = " · ".join(parts)


def _is_refused(screen: Any) -> bool:
    from wijkteam_tui.screens.refused import RefusedScreen

    return isinstance(screen, RefusedScreen)


def _mb(n: int) -> str:
    """Bytes as Dutch megabytes with one decimal: ``12345678`` → ``"12,3"``."""
    return f"{n / 1e6:.1f}".replace(".", ",")


def _progress_text(stage: str, done: int, total: int | None) -> str:
    """Dutch progress of a sync round for the status line: ``"snapshot 12,3 van 77,7 MB (16 %)"``."""
    if stage == "snapshot" and total:
        return f"snapshot {_mb(done)} van {_mb(total)} MB ({100 * done // total} %)"
    if stage == "install":
        return "snapshot controleren en installeren"
    if stage == "push":
        return f"{done} verstuurd"
    if stage == "pull":
        return f"{done} ontvangen"
    return ""


class _Throttled:
    """Passes progress on at most every ``every_s`` seconds (and every stage change), so that a
    download of 1 MB chunks does not flood the UI thread with messages."""

    def __init__(self, send: Callable[..., Any], every_s: float = 0.2) -> None:
        self.send = send
        self.every_s = every_s
        self._last = (0.0, "")

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if stage != self._last[1] or now - self._last[0] >= self.every_s or (total and done >= total):
            self._last = (now, stage)
            self.send(stage, done, total)


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` takes keyword ``name`` (a ``sync_fn`` given by a test may not take ``cancel``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def make_app(
    db_path: str | Path,
    config: Config | None = None,
    *,
    kcc: bool = False,
    demo: bool = False,
    clock: Callable[[], datetime] | None = None,
    address_lookup: AddressLookup | None = None,
    busy_timeout_ms: int = 5000,
    sync_fn: Callable[..., Any] | None = None,
    auto_sync: bool = True,
    location: Any = None,
    wijken: Any = None,
    gazetteer_dir: str | Path | None = None,
    whoami: Callable[[str, str], str | None] | None = None,
) -> WijkteamApp:
    """Build the app on a database file.

    Args:
        db_path: the local SQLite file (created when missing).
        config: settings (default: ``Config()``; the CLI passes ``load_config()``).
        kcc: KCC mode: open the KCC screen (``wijkteam_tui.screens.kcc``) on start; read-only (no
            sync, no new melding or edits).
        demo: the database holds sample data (shown in the status line; settings are not saved).
        clock: returns "now" (aware UTC); tests fix it for stable screens.
        address_lookup: offline address look-up for the intake (postcode + huisnummer → Adres).
        busy_timeout_ms: how long a write waits on a locked database before a message.
        sync_fn: replaces ``sync_client.sync_once`` (tests).
        auto_sync: start background sync when configured.
        location: a ``wijkteam_tui.location.LocationLookup`` for the intake (gazetteer, PDOK,
            Nominatim; the 12 A / 12 B choice, reverse look-up of a typed point); used before
            ``address_lookup``.
        wijken: the wijk configuration (``shared.wijken.WijkConfig``; default the location's, else
            ``load_wijken()``).
        gazetteer_dir: where the laptop keeps the municipality's gazetteer; background sync then
            refreshes it (``sync_once(gazetteer_dir=…)``) and a newer copy replaces ``location``'s.
        whoami: ``(server_url, token) -> user name or None`` (default ``GET /api/v1/me``; none when a
            test passes ``sync_fn``): asked once after the first good sync of a session.

    Raises:
        StoreError: the database cannot be opened.
    """
    return WijkteamApp(
        db_path,
        config or Config(),
        kcc=kcc,
        demo=demo,
        clock=clock,
        address_lookup=address_lookup,
        busy_timeout_ms=busy_timeout_ms,
        sync_fn=sync_fn,
        auto_sync=auto_sync,
        location=location,
        wijken=wijken,
        gazetteer_dir=gazetteer_dir,
        whoami=whoami,
    )


def fetch_user_name(server_url: str, token: str, *, timeout_s: float = 5.0) -> str | None:
    """The user name the server knows this laptop's token by (``GET /api/v1/me``,
    ``wijkteam_tui.screens.kcc.whoami``), or None when it cannot be asked or the answer is not a
    valid name (blocking: call from a worker thread). From the network, so it passes the same text
    rule as every name typed here (``shared.validation``)."""
    from shared.errors import ValidationError
    from shared.validation import MAX_NAME_LENGTH, clean_line
    from wijkteam_tui.screens.kcc import whoami

    name = (whoami(server_url, token, timeout_s=timeout_s) or {}).get("name")
    if not isinstance(name, str):
        return None
    try:
        return clean_line(name, "gebruiker", max_length=MAX_NAME_LENGTH, required=True)
    except ValidationError:
        return None
