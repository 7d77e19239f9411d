"""The Textual app: sections as modes, global keys, and the services screens look at."""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive

from .. import paths
from ..config import ConfigFile
from ..dicom.phi import masked_row
from ..engine.loading import import_engine
from ..store.association_log import AssociationLog
from ..store.echo_log import EchoLog
from ..store.jobs import JobStore
from .commands import ScreenActions
from .keymap import split_keymap
from .receiver_feed import ReceiverFeed
from .screens.config_problems import ConfigProblemsScreen
from .screens.help import HelpScreen
from .screens.transfers_commands import TransfersAppCommands
from .screens.transfers_feed import JobFeed
from .screens.worklist_commands import WorklistAppCommands
from .sections import sections
from .themes import DEFAULT_THEME, load_themes, shipped_folder, user_folder


def _section_bindings() -> list[Binding]:
    return [
        Binding(s.key, f"app.switch_mode('{s.id}')", s.title, id=f"app.section.{s.id}",
                tooltip=f"Go to the {s.title} screen", show=False)
        for s in sections()
    ]


class DicomtuiApp(App):
    TITLE = "dicomtui"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {TransfersAppCommands, WorklistAppCommands, ScreenActions}
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
        Binding("P", "toggle_phi", "Mask PHI", show=False, id="app.phi",
                tooltip="Mask or show patient names, IDs and birth dates on every screen (for screen sharing)"),
        *_section_bindings(),
    ]
    # Screen sharing: patient-identifying values masked in every table and pane ([ui] mask_phi, P, the palette).
    phi_masked: reactive[bool] = reactive(False)

    def __init__(self, config_file: ConfigFile, echo_log: EchoLog, *, receiver: bool = True,
                 job_store: JobStore | None = None, theme: str | None = None) -> None:
        """theme: `--theme` (this run's choice, over [ui] theme)."""
        super().__init__()
        self._theme_override = theme
        self._saved_theme: str | None = None
        self.config_file = config_file
        self.echo_log = echo_log
        self.receiver = None  # engine.receiver.Receiver once started
        self.receiver_error: str | None = None
        self._receiver_lock = threading.Lock()
        self.receiver_feed = ReceiverFeed()
        self._autostart_receiver = receiver
        self.job_store = job_store or JobStore(paths.jobs_db())
        self.job_feed = JobFeed()
        self._job_runner = None  # engine.jobs.runner.JobRunner, made on first use (it imports the DICOM stack)
        self._job_runner_lock = threading.Lock()
        self._closing_jobs = False
        self.association_log = AssociationLog(paths.associations_db())
        self._log_filter = None  # screens.associations.LogFilter the Log screen shows next
        self._arrivals: dict[str, object] = {}  # move jobs to us: what our receiver saw while they ran

    def on_mount(self) -> None:
        self.phi_masked = self.config_file.config.ui.mask_phi
        self._apply_themes()
        self._apply_keymap()
        for section in sections():
            self.add_mode(section.id, section.screen)
        self.switch_mode(sections()[0].id)
        if self.config_file.problems:
            self.call_after_refresh(self._show_problems)
            return
        if self._autostart_receiver:
            # After the first frame: importing pynetdicom (0.2 s) would compete with it for the GIL.
            self.set_timer(0.3, self.start_receiver)
        self.set_timer(0.5, self._tell_unfinished_jobs)

    # -- themes: shipped and the user's, chosen by --theme, [ui] theme or the palette (which saves it) ------
    def _apply_themes(self) -> None:
        found = load_themes([shipped_folder(), user_folder()])
        for theme in found.themes:
            self.register_theme(theme)
        problems = list(found.problems)
        wanted = self._theme_override or self.config_file.config.ui.theme or DEFAULT_THEME
        if wanted not in self.available_themes:
            fallback = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
            problems.append(f"there is no theme {wanted!r}, so {fallback} is used (themes: "
                            f"{', '.join(sorted(self.available_themes))})")
            wanted = fallback
        self.theme = self._saved_theme = wanted
        if problems:
            self.notify("\n".join(problems) + f"\n(your themes: {user_folder()})", title="Theme problems",
                        severity="warning", timeout=20, markup=False)
        self.theme_changed_signal.subscribe(self, self._theme_chosen)

    def _apply_keymap(self) -> None:
        keymap, unknown = split_keymap(self.config_file.config.keymap)
        self.set_keymap(keymap)
        if unknown:
            self.notify(f"[keymap] names no such binding: {', '.join(unknown)}. The README's key table lists "
                        "every binding's id.", title="Keymap", severity="warning", timeout=15, markup=False)

    def _theme_chosen(self, theme) -> None:
        if theme.name != self._saved_theme:  # chosen in the palette: kept for next time
            self._saved_theme = theme.name
            self._save_theme(theme.name)

    @work(thread=True, group="config", exit_on_error=False, description="save the theme")
    def _save_theme(self, name: str) -> None:
        try:
            self.config_file.set_theme(name)
        except Exception as exc:  # ConfigError (a broken file is never written), OSError: said, not lost
            self.call_from_thread(self.notify, f"The theme {name} is used now but could not be saved: {exc}",
                                  title="Theme", severity="warning", markup=False)

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
        receiver = engine.Receiver(engine.settings_from_config(self.config_file.config),
                                   self.association_log.journal("receiver"))
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

    # -- transfer jobs: each in a child process the app's runner watches, so switching screens never stops them
    def job_runner(self):
        """The app's JobRunner (call from a thread the first time: it imports the DICOM stack)."""
        with self._job_runner_lock:
            if self._job_runner is None:
                engine = import_engine("dicomtui.engine.jobs.runner")
                self._job_runner = engine.JobRunner(self.job_store, self.config_file.path.absolute(),
                                                    on_progress=self.job_feed.progress,
                                                    on_state=self.job_feed.state_changed,
                                                    on_finished=self._job_finished)
            return self._job_runner

    @work(thread=True, group="jobs", exit_on_error=False, description="queue a send job")
    def start_send(self, target: str, sources: list[str], parallel: int) -> None:
        config = self.config_file.config
        node = config.node(target)
        if node is None:
            self.call_from_thread(self.notify, f"There is no node named {target!r}.", title="Send",
                                  severity="error")
            return
        job = self.job_runner().send(target, node, config.local.ae_title, sources, parallel=parallel)
        self.job_feed.state_changed(job.id)
        self.call_from_thread(self.notify, f"Job {job.id}: sending {', '.join(sources)} to {target}.",
                              title="Send")

    @work(thread=True, group="jobs", exit_on_error=False, description="queue a move or get job")
    def start_retrieve(self, kind: str, target: str, uids: dict[str, str], what: str, destination: str = "",
                       on_queued: Callable[[str], None] | None = None) -> None:
        """Queue a C-MOVE (to `destination`) or a C-GET (into the local archive) as a job, as `dicomtui move`
        and `get` do, and run it like any job: on the Transfers screen, within the [transfers] limits.
        on_queued(job_id) is called on the event loop once the job is in the store."""
        config = self.config_file.config
        node, local = config.node(target), config.local
        if node is None:
            self.call_from_thread(self.notify, f"There is no node named {target!r}.", title=what, severity="error")
            return
        engine = import_engine("dicomtui.engine.jobs.retrieve_job")
        arrivals = import_engine("dicomtui.engine.retrieve_move")
        runner = self.job_runner()
        try:
            request = engine.RetrieveRequest(**uids)
            if kind == "move":
                job = engine.queue_retrieve(self.job_store, "move", target, node, local.ae_title, request,
                                            destination=destination, local_port=local.port)
                receiver = self.receiver
                if destination == local.ae_title and receiver is not None and receiver.running:
                    # The job runs in another process: only this one sees whether the archive reached us.
                    self._arrivals[job.id] = arrivals.ArrivalWatch(receiver)
            else:
                storage = local.storage or paths.default_storage_dir()
                storage.mkdir(parents=True, exist_ok=True)
                job = engine.queue_retrieve(self.job_store, "get", target, node, local.ae_title, request,
                                            storage=storage, duplicates=config.receiver.duplicates,
                                            fsync=config.receiver.fsync)
        except Exception as exc:  # InvalidRequest, JobStoreError, OSError (the storage folder): said in words
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.call_from_thread(self.notify, f"{what}: {why}", title=what, severity="error")
            return
        runner.start(job.id)
        self.job_feed.state_changed(job.id)
        if on_queued is not None:
            self.call_from_thread(on_queued, job.id)
        self.call_from_thread(self.notify, f"Job {job.id}: {what} (see Transfers, 4).", title=what)

    @work(thread=True, group="jobs", exit_on_error=False, description="cancel, pause, resume or retry a job")
    def job_action(self, action: str, job_id: str) -> None:
        runner = self.job_runner()
        try:
            if action == "cancel":
                job = runner.cancel(job_id)
                text = f"Job {job_id}: cancelling after its current instances." if job.state == "running" \
                    else f"Job {job_id} cancelled."
            elif action == "pause":
                job = runner.pause(job_id)
                text = f"Job {job_id}: pausing after its current instances." if job.state == "running" \
                    else f"Job {job_id} paused."
            elif action == "resume":
                text = f"Job {job_id} resumed: it goes on where it stopped." if runner.resume(job_id) \
                    else f"Job {job_id} is not paused."
            else:
                text = f"Job {job_id}: sending again what was not sent." if runner.retry(job_id) \
                    else f"Job {job_id} has nothing to retry: every instance was sent."
            severity = "information"
        except Exception as exc:  # JobBusy, JobStateError, JobStoreError: said in words
            text, severity = str(exc), "warning"
        self.job_feed.state_changed(job_id)
        self.call_from_thread(self.notify, text, title=action.capitalize(), severity=severity)

    @work(thread=True, group="jobs", exit_on_error=False, description="resume jobs")
    def resume_jobs(self, job_ids: list[str]) -> None:
        runner = self.job_runner()
        for job_id in job_ids:
            runner.start(job_id)
        self.call_from_thread(self.notify, f"Resuming job(s) {', '.join(job_ids)}.", title="Resume")

    @work(thread=True, group="jobs", exit_on_error=False, description="find unfinished jobs")
    def _tell_unfinished_jobs(self) -> None:
        """At start: say which jobs a crash or a quit left unfinished, never resuming them unasked (the
        Transfers screen asks on its first visit, u resumes them)."""
        jobs = self.job_runner().resumable()
        if not jobs:
            return
        ids = ", ".join(job.id for job in jobs[:8]) + ("..." if len(jobs) > 8 else "")
        sent, total = sum(job.counts.sent for job in jobs), sum(job.counts.total for job in jobs)
        self.call_from_thread(self.notify, f"{len(jobs)} transfer job(s) were left unfinished ({ids}; {sent} of "
                              f"{total} instances sent). The Transfers screen (4) resumes them.",
                              title="Unfinished transfers", severity="warning", timeout=15)

    def _job_finished(self, report, job_id: str, error: str | None) -> None:
        """From the thread watching a job's process: say how the job ended, on whatever screen is shown."""
        if self._closing_jobs:
            return  # the loop waits for the watching threads in on_unmount: calling into it would wait for ever
        if error is not None or report.interrupted:
            watch = self._arrivals.pop(job_id, None)
            if watch is not None:
                watch.close()
        if error is not None:
            text, severity = f"Job {job_id} did not run: {error}", "error"
        elif report.interrupted:
            return  # the app is quitting
        else:
            job, c = report.job, report.job.counts
            if job.retrieve is None:
                text = f"Job {job.id} {job.state}: {c.sent} of {c.total} sent, {c.failed} failed."
            else:
                text = _retrieve_ended(job, self._arrivals.pop(job_id, None))
            severity = {"done": "information", "failed": "error"}.get(job.state, "warning")
        try:
            self.call_from_thread(self.notify, text, title="Transfer", severity=severity)
        except RuntimeError:  # the app is closing
            pass

    def on_unmount(self) -> None:
        # Runs still going end "queued" (resumable: nothing confirmed is sent again next time).
        self._closing_jobs = True
        if self._job_runner is not None:
            self._job_runner.shutdown(wait=3.0)

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

    # -- the association log and PHI masking ---------------------------------------------------------
    def journal(self, origin: str):
        """What screens hand the engine so that the associations they cause are logged as `origin`."""
        return self.association_log.journal(origin)

    def open_log(self, scope) -> None:
        """Show the Log screen on the associations `scope` (a LogFilter) names."""
        from .screens.associations import AssociationsScreen

        if isinstance(self.screen, AssociationsScreen):
            self.screen.show_scope(scope)
        else:
            self._log_filter = scope
            self.switch_mode("log")

    def take_log_filter(self):
        scope, self._log_filter = self._log_filter, None
        return scope

    def shown_row(self, row: dict) -> dict:
        """`row` (keyword -> value) as the screens show it: patient data masked while PHI masking is on."""
        return masked_row(row) if self.phi_masked else row

    def action_toggle_phi(self) -> None:
        self.phi_masked = not self.phi_masked
        self.notify("Patient names, IDs and birth dates are masked on every screen." if self.phi_masked else
                    "Patient data is shown again.", title="PHI masking")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))


def _retrieve_ended(job, watch) -> str:
    """How a move or get job ended, in a sentence; for a failed move to us, what our receiver saw."""
    r = job.retrieve
    verb = "moved" if job.kind == "move" else "retrieved"
    text = f"Job {job.id} {job.state}: {r.completed + r.warning} instance(s) {verb}, {r.failed} failed."
    if job.state == "failed" and job.message:
        text += f" {_sentence(job.message)}"
    if watch is not None:
        watch.close()
        if job.state == "failed":
            text += f" {_sentence('; '.join(watch.describe(job.calling_ae)))}"
    return text


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")
