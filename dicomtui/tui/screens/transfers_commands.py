"""Command palette entries for transfers: from any screen (go to Transfers, new send) and, on the Transfers
screen, one entry per job for cancel and retry."""

from __future__ import annotations

from functools import partial

from ...store.jobs import FINISHED, PAUSED, RUNNING
from ..commands import ListedCommands


class TransfersAppCommands(ListedCommands):
    """On every screen: reach the Transfers screen and start a send."""

    def _commands(self) -> list[tuple[str, object, str]]:
        app = self.app
        return [
            ("Transfers", partial(app.switch_mode, "transfers"), "Show the transfer jobs (key 4)"),
            ("New send", partial(self._new_send, app), "Send files and folders to a node, as a job"),
        ]

    @staticmethod
    def _new_send(app) -> None:
        app.switch_mode("transfers")
        app.call_after_refresh(lambda: app.screen.action_new_send())


class TransferCommands(ListedCommands):
    """On the Transfers screen: every action, and pause, resume, cancel or retry named per job."""

    def _commands(self) -> list[tuple[str, object, str]]:
        screen = self.screen
        commands: list[tuple[str, object, str]] = [
            ("Resume unfinished jobs", screen.action_resume, "Run the jobs a crash or a quit left unfinished"),
            ("Refresh jobs", screen.action_refresh, "Read every job from the queue again"),
        ]
        for job in reversed(screen.jobs()):
            if job.state == PAUSED:
                commands.append((f"Resume job {job.id}", partial(screen.pause_or_resume, job.id),
                                 f"go on with {job.kind} to {job.target} where it stopped"))
            elif job.state not in FINISHED:
                commands.append((f"Pause job {job.id}", partial(screen.pause_or_resume, job.id),
                                 f"{job.kind} to {job.target}, {job.state}"))
            if job.state not in FINISHED:
                commands.append((f"Cancel job {job.id}", partial(screen.cancel_job, job.id),
                                 f"{job.kind} to {job.target}, {job.state}"))
            if job.state != RUNNING and (job.counts.failed or job.counts.pending or job.counts.not_sent):
                commands.append((f"Retry job {job.id}", partial(screen.retry_job, job.id),
                                 f"send again what job {job.id} did not send"))
        return commands
