"""Transfers: every job in the queue, live, with the selected job's failed instances and why.

The app's JobRunner runs each job in a child process of its own, watched by a thread that turns the
child's progress into the app's JobFeed; this screen drains it ten times a second, updating only the
cells that changed. Every few seconds it
also reads the whole queue from the store (in a thread), which shows jobs that other processes
(`dicomtui send` in another terminal) run, and keeps finished jobs listed as history.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from ...command_lines import job_lines
from ...config import Node
from ...store.jobs import FAILED, FINISHED, PAUSED, RUNNING, Job, JobStoreError
from ...units import size
from ..themes import colour, state_colour
from ..widgets.result_table import ResultTable
from .command_lines import CommandLinesScreen
from .confirm import ConfirmScreen
from .section import SectionScreen
from .transfers_commands import TransferCommands
from .transfers_format import COLUMNS, FAILED_CELL, Live, cells
from .transfers_send import SendRequest, SendScreen

TICK_SECONDS = 0.1  # at most ten screen updates a second, however fast instances go
RELOAD_SECONDS = 3.0  # the whole queue from the store: other processes' jobs, and a safety net


class TransfersScreen(SectionScreen):
    SECTION_ID = "transfers"
    HELP = ("Transfer jobs: sends, moves and gets queued here or with 'dicomtui send', kept in the job queue "
            "between runs. p pauses the selected job and resumes it where it stopped; a job that a crash or a "
            "quit left unfinished can be resumed (u): nothing the peer confirmed is sent again. Jobs wait for a "
            "free association ([transfers] max_associations, max_associations_per_node). Finished jobs stay "
            "listed as history.")
    COMMANDS = SectionScreen.COMMANDS | {TransferCommands}
    BINDINGS = [
        Binding("n", "new_send", "New send", id="transfers.new", tooltip="Send files and folders to a node"),
        Binding("c", "cancel_job", "Cancel", id="transfers.cancel", tooltip="Cancel the selected job"),
        Binding("p", "pause_job", "Pause", id="transfers.pause",
                tooltip="Pause the selected job, or go on with it where it stopped"),
        Binding("r", "retry_job", "Retry", id="transfers.retry",
                tooltip="Send again what the selected job did not send"),
        Binding("u", "resume", "Resume", id="transfers.resume", tooltip="Run the jobs a crash or a quit left"),
        Binding("R", "refresh", "Refresh", id="transfers.refresh", tooltip="Read every job again", show=False),
        Binding("y", "copy_command", "Copy cmd", id="transfers.copy", show=False,
                tooltip="Copy the selected job as a dicomtui or a dcmtk command line (storescu, movescu, getscu)"),
        Binding("l", "log", "Log", id="transfers.log", show=False,
                tooltip="The association log of the selected job, what went over the wire"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._jobs: dict[str, Job] = {}
        self._live: dict[str, Live] = {}
        self._shown: dict[str, dict[str, str]] = {}  # the cells on screen, by job id
        self._detail_key: tuple | None = None  # what the detail shows, to reload it only when that changes
        self._detail_loaded = 0.0
        self._failed_rows: list[tuple[str, str, str]] = []
        self._offered_resume = False

    # -- layout -------------------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        table: DataTable = DataTable(id="tx-jobs", cursor_type="row", zebra_stripes=True)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        yield table
        yield Static(id="tx-detail")
        failed = ResultTable(id="tx-failed")
        failed.set_columns([("Not sent", 26), ("Status", 6), ("Reason", None)])
        yield failed

    def on_mount(self) -> None:
        self.query_one("#tx-jobs", DataTable).focus()
        self._apply(self.app.job_store.list())
        self.set_interval(TICK_SECONDS, self._tick)
        self.set_interval(RELOAD_SECONDS, self.action_refresh)
        self._offer_resume()

    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    # -- live updates ---------------------------------------------------------------------------------------
    def _tick(self) -> None:
        progress, changed = self.app.job_feed.drain()
        if not progress and not changed:
            return
        store = self.app.job_store
        for job_id in changed:
            try:
                self._jobs[job_id] = store.get(job_id)
            except JobStoreError:
                continue
        for job_id, p in progress.items():
            live = self._live.get(job_id)
            if live is None or p.seconds < live.seconds:  # a new run: measure its rate from here
                live = Live(p.total, p.sent, p.failed, p.bytes, p.seconds, base_bytes=p.bytes, base_sent=p.sent,
                            base_failed=p.failed)
                self._live[job_id] = live
            live.total, live.sent, live.failed, live.bytes = p.total, p.sent, p.failed, p.bytes
            live.seconds, live.waiting, live.note = p.seconds, p.waiting, p.note
        with self.app.batch_update():
            self._show_rows(set(progress) | changed)

    def action_refresh(self) -> None:
        self._reload()

    @work(thread=True, exclusive=True, group="transfers-reload", exit_on_error=False, description="read jobs")
    def _reload(self) -> None:
        jobs = self.app.job_store.list()
        self.app.call_from_thread(self._apply, jobs)

    def _apply(self, jobs: list[Job]) -> None:
        """The whole queue as the store has it (the newest progress of runs here wins over older counts)."""
        fresh = {job.id: job for job in jobs}
        changed = {job_id for job_id, job in fresh.items() if self._jobs.get(job_id) != job}
        gone = set(self._jobs) - set(fresh)
        self._jobs = fresh
        table = self.query_one("#tx-jobs", DataTable)
        with self.app.batch_update():
            for job_id in gone:
                table.remove_row(job_id)
                self._shown.pop(job_id, None)
            self._show_rows(changed)

    def _show_rows(self, job_ids: set[str]) -> None:
        table = self.query_one("#tx-jobs", DataTable)
        follow_top = table.cursor_row <= 0  # on the newest job (or none): stay on the newest
        added = False
        for job_id in sorted(job_ids, key=int):
            job = self._jobs.get(job_id)
            if job is None:
                continue
            if job.state != RUNNING:
                self._live.pop(job_id, None)
            wanted = cells(job, self._live.get(job_id))
            shown = self._shown.get(job_id)
            if shown is None:
                table.add_row(*[self._styled(key, wanted[key]) for key, _label, _width in COLUMNS], key=job_id)
                added = True
            else:
                for key, value in wanted.items():
                    if shown.get(key) != value:
                        table.update_cell(job_id, key, self._styled(key, value))
            self._shown[job_id] = wanted
        if added:  # newest first; the cursor stays on its job (on the newest if it was)
            selected = None if follow_top else self.selected_id()
            table.sort("id", key=lambda value: -int(value))
            table.move_cursor(row=table.get_row_index(selected) if selected is not None else 0)
        self._show_detail()

    def _styled(self, key: str, value: str) -> Text | str:
        theme = self.app.current_theme
        if key == "state":
            state = {"done": "ok", "failed": "failed", "running": "running", "scanning": "running",
                     "waiting": "pending", "queued": "pending"}.get(value)
            return Text(value, style=state_colour(theme, state) if state else colour(theme, "warning"))
        if key == "bar":
            text = Text(value, style=state_colour(theme, "running"))
            failed_at = value.find(FAILED_CELL)
            if failed_at >= 0:
                text.stylize(state_colour(theme, "failed"), failed_at, value.rfind(FAILED_CELL) + 1)
            return text
        return value

    # -- the selected job -----------------------------------------------------------------------------------
    def selected_id(self) -> str | None:
        table = self.query_one("#tx-jobs", DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def selected(self) -> Job | None:
        job_id = self.selected_id()
        return self._jobs.get(job_id) if job_id is not None else None

    @on(DataTable.RowHighlighted, "#tx-jobs")
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        job = self.selected()
        detail = self.query_one("#tx-detail", Static)
        if job is None:
            detail.update("No transfer jobs yet: n sends files and folders to a node.")
            self.query_one("#tx-failed", ResultTable).show_rows(0, self._failed_rows.__getitem__)
            return
        c = job.counts
        node = job.node
        when = datetime.fromtimestamp(job.created).strftime("%Y-%m-%d %H:%M")
        peer = f"{job.target} ({node.get('ae_title')}@{node.get('host')}:{node.get('port')})"
        r = job.retrieve
        if r is None:
            what = f" {job.kind} to {peer}"
        else:
            what = f" {job.kind} from {peer} " + (f"to {r.destination}" if r.destination else "into the local archive")
        text = Text.assemble((f"job {job.id}", "bold"), f"{what}, {job.state}, queued {when}")
        if job.message:
            text.append(f"\n{job.message}")
        sources = ", ".join(job.sources)
        if r is None:
            waiting = f"{c.pending + c.not_sent} not sent yet, " if c.pending + c.not_sent else ""
            text.append(f"\n{c.sent} sent, {c.failed} failed, {waiting}{c.skipped} skipped, {size(c.bytes)} · "
                        f"from {sources}")
        else:
            left = f", {r.remaining} remaining" if r.remaining else ""
            text.append(f"\n{r.completed} completed, {r.failed} failed, {r.warning} warning{left} · "
                        f"{r.request.get('level', '').lower()} {sources}")
        detail.update(text)
        key = (job.id, job.state, c.failed, c.skipped)
        if key == self._detail_key:
            return
        # While a job runs its failures may come by the hundred: the list is read again at most once a second.
        same_run = self._detail_key is not None and self._detail_key[:2] == key[:2] and job.state == RUNNING
        if same_run and time.monotonic() - self._detail_loaded < 1.0:
            return
        self._detail_key, self._detail_loaded = key, time.monotonic()
        self._load_failed(job.id)

    @work(thread=True, exclusive=True, group="transfers-detail", exit_on_error=False, description="failed rows")
    def _load_failed(self, job_id: str) -> None:
        store = self.app.job_store
        job = store.get(job_id)
        if job.retrieve is not None:  # the archive names the instances whose sub-operations failed
            r = job.retrieve
            status = "" if r.status is None else f"{r.status:04X}"
            reason = f"{'C-MOVE' if job.kind == 'move' else 'C-GET'} sub-operation failed"
            rows = [(uid, status, reason) for uid in r.failed_uids]
            self.app.call_from_thread(self._show_failed, job_id, rows)
            return
        sources = job.sources
        rows = [(_short(row.path, sources), "" if row.status is None else f"{row.status:04X}", row.error or row.kind)
                for row in store.instances(job_id, [FAILED])]
        rows += [(_short(entry.path, sources), "skip", entry.reason) for entry in store.skipped(job_id)]
        self.app.call_from_thread(self._show_failed, job_id, rows)

    def _show_failed(self, job_id: str, rows: list[tuple[str, str, str]]) -> None:
        if job_id != self.selected_id():
            return
        self._failed_rows = rows
        self.query_one("#tx-failed", ResultTable).show_rows(len(rows), rows.__getitem__)

    def failed_rows(self) -> list[tuple[str, str, str]]:
        """(path, status, reason) of the selected job's instances that were not sent, and skipped files; for a move
        or get, (SOP Instance UID, final status, reason) of its failed sub-operations."""
        return list(self._failed_rows)

    # -- actions ----------------------------------------------------------------------------------------------
    def action_new_send(self) -> None:
        config = self.app.config_file.config
        if not config.nodes:
            self.notify("Add a node first (screen 1, key a): a send goes to a configured node.",
                        title="No nodes", severity="warning")
            return
        job = self.selected()
        choices = [(n.name, f"{n.name}  {n.address}") for n in config.nodes]
        node = job.target if job and config.node(job.target) else config.nodes[0].name
        self.app.push_screen(SendScreen(choices, node=node),
                             self._send_answered)

    def _send_answered(self, request: SendRequest | None) -> None:
        if request is not None:
            self.app.start_send(request.target, request.sources, request.parallel)

    def action_copy_command(self) -> None:
        job = self.selected()
        if job is None:
            return
        config = self.app.config_file.config
        node = config.node(job.target) or Node(**job.node)
        self.app.push_screen(CommandLinesScreen([job_lines(job, node, job.calling_ae or config.local.ae_title,
                                                           configured=config.node(job.target) is not None)]))

    def action_log(self) -> None:
        from .associations import LogFilter

        job = self.selected()
        if job is not None:
            self.app.open_log(LogFilter(f"job {job.id}", origin=f"job {job.id}"))

    def palette_context(self) -> str:
        job = self.selected()
        return f"job {job.id}" if job is not None else ""

    def action_cancel_job(self) -> None:
        job = self.selected()
        if job is not None:
            self.cancel_job(job.id)

    def cancel_job(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job is not None and job.state in FINISHED:
            self.notify(f"Job {job_id} has already finished ({job.state}).", title="Cancel")
            return
        self.app.job_action("cancel", job_id)

    def action_pause_job(self) -> None:
        job = self.selected()
        if job is not None:
            self.pause_or_resume(job.id)

    def pause_or_resume(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        if job.state == PAUSED:
            self.app.job_action("resume", job_id)
        elif job.state in FINISHED:
            self.notify(f"Job {job_id} has finished ({job.state}): r sends again what it did not send.",
                        title="Pause")
        else:
            self.app.job_action("pause", job_id)

    def action_retry_job(self) -> None:
        job = self.selected()
        if job is not None:
            self.retry_job(job.id)

    def retry_job(self, job_id: str) -> None:
        self.app.job_action("retry", job_id)

    def action_resume(self) -> None:
        self._find_resumable(ask=False)

    def _offer_resume(self) -> None:
        if not self._offered_resume:
            self._offered_resume = True
            self._find_resumable(ask=True)

    @work(thread=True, exclusive=True, group="transfers-resumable", exit_on_error=False,
          description="find unfinished jobs")
    def _find_resumable(self, ask: bool) -> None:
        jobs = self.app.job_runner().resumable()
        self.app.call_from_thread(self._resumable_found, jobs, ask)

    def _resumable_found(self, jobs: list[Job], ask: bool) -> None:
        if not jobs:
            if not ask:
                self.notify("Nothing to resume: no job was left unfinished.", title="Resume")
            return
        ids = [job.id for job in jobs]
        if not ask:
            self.app.resume_jobs(ids)
            return
        listed = ", ".join(ids[:8]) + ("..." if len(ids) > 8 else "")
        sent = sum(job.counts.sent for job in jobs)
        total = sum(job.counts.total for job in jobs)
        question = (f"{len(jobs)} transfer job(s) were left unfinished ({listed}; {sent} of {total} instances "
                    "sent). Resume them now? Nothing the peer confirmed is sent again.")
        self.app.push_screen(ConfirmScreen(question, yes="Resume"),
                             lambda yes: self.app.resume_jobs(ids) if yes else None)


def _short(path: str, sources: list[str]) -> str:
    """A path under one of the job's folders, from that folder's name on (the part that tells files apart)."""
    for source in sources:
        folder = os.path.dirname(source.rstrip("/"))
        if path.startswith(source.rstrip("/") + "/") and folder:
            return os.path.relpath(path, folder)
    return path
