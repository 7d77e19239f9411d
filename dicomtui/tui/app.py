"""The Textual app: sections as modes, global keys, and the services screens look at."""

from __future__ import annotations

import threading

from textual import work
from textual.app import App
from textual.binding import Binding

from ..config import ConfigFile
from ..engine.loading import import_engine
from ..store.echo_log import EchoLog
from .receiver_feed import ReceiverFeed
from .screens.config_problems import ConfigProblemsScreen
from .screens.help import HelpScreen
from .sections import sections


def _section_bindings() -> list[Binding]:
    return [
        Binding(s.key, f"app.switch_mode('{s.id}')", s.title, id=f"app.section.{s.id}",
                tooltip=f"Go to the {s.title} screen", show=False)
        for s in sections()
    ]


class DicomtuiApp(App):
    TITLE = "dicomtui"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", id="app.help", tooltip="Keys and help for this screen"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave dicomtui"),
        # ctrl+p works everywhere (priority); ':' only where no input wants the character.
        Binding("ctrl+p", "command_palette", "Commands", show=False, priority=True, id="app.palette",
                tooltip="Search every action"),
        Binding("colon", "command_palette", "Commands", show=False, id="app.palette_colon",
                tooltip="Search every action"),
        Binding("ctrl+r", "reload_config", "Reload config", show=False, id="app.reload",
                tooltip="Read the config file again"),
        *_section_bindings(),
    ]

    def __init__(self, config_file: ConfigFile, echo_log: EchoLog, *, receiver: bool = True) -> None:
        super().__init__()
        self.config_file = config_file
        self.echo_log = echo_log
        self.receiver = None  # engine.receiver.Receiver once started
        self.receiver_error: str | None = None
        self._receiver_lock = threading.Lock()
        self.receiver_feed = ReceiverFeed()
        self._autostart_receiver = receiver

    def on_mount(self) -> None:
        for section in sections():
            self.add_mode(section.id, section.screen)
        self.switch_mode(sections()[0].id)
        if self.config_file.problems:
            self.call_after_refresh(self._show_problems)
        elif self._autostart_receiver:
            # After the first frame: importing pynetdicom (0.2 s) would compete with it for the GIL.
            self.set_timer(0.3, self.start_receiver)

    # -- the receiver: owned here, so switching screens never stops it ---------------------
    # Start and stop run in threads, one after the other: a start pressed while a stop is still
    # closing the listening socket would find the port in use.
    @work(thread=True, group="receiver", exit_on_error=False, description="start the receiver")
    def start_receiver(self) -> None:
        with self._receiver_lock:
            self._start_receiver()

    def _start_receiver(self) -> None:
        engine = import_engine("dicomtui.engine.receiver")
        if self.receiver is not None and self.receiver.running:
            return
        receiver = engine.Receiver(engine.settings_from_config(self.config_file.config))
        receiver.subscribe(self.receiver_feed)
        try:
            receiver.start()
        except Exception as exc:  # ReceiverStartError says why in words; anything else is shown too
            message = str(exc) if isinstance(exc, engine.ReceiverStartError) else f"internal error: {exc!r}"
            self.receiver_error = message
            self.call_from_thread(self.notify, message, title="Receiver not started", severity="error",
                                  timeout=10)
            return
        self.receiver, self.receiver_error = receiver, None

    @work(thread=True, group="receiver", exit_on_error=False, description="stop the receiver")
    def stop_receiver(self) -> None:
        with self._receiver_lock:
            if self.receiver is not None and self.receiver.running:
                self.receiver.stop()
                self.receiver_error = "stopped; press s to start"

    def _show_problems(self) -> None:
        self.push_screen(ConfigProblemsScreen(self.config_file.path, self.config_file.problems),
                         self._problems_answered)

    def _problems_answered(self, choice: str | None) -> None:
        if choice == "quit":
            self.exit()
        elif choice == "reload":
            self.action_reload_config()

    def action_reload_config(self) -> None:
        loaded = self.config_file.reload()
        screen = self.screen
        if hasattr(screen, "config_reloaded"):
            screen.config_reloaded()
        if loaded.problems:
            self._show_problems()
        else:
            self.notify(f"Config reloaded: {len(loaded.config.nodes)} nodes.", title="Config")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))
