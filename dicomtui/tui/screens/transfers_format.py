"""How a job looks in the Transfers table: cells as plain strings, computed from the stored job and,
while it runs in this app, its newest progress."""

from __future__ import annotations

from dataclasses import dataclass

from ...store.jobs import RUNNING, WAITING, Job
from ...units import size

BAR_WIDTH = 8
# (key, heading, width): 78 columns with the cell padding, so that 80 hold them beside a scrollbar.
COLUMNS = [("id", "ID", 3), ("kind", "Kind", 4), ("target", "Target", 8), ("state", "State", 9),
           ("bar", "Progress", BAR_WIDTH), ("counts", "Done/Fail/N", 11), ("bytes", "Bytes", 8),
           ("rate", "MB/s", 5), ("eta", "ETA", 4)]


@dataclass
class Live:
    """A run in this app: its newest progress, and where its rate is measured from."""

    total: int
    sent: int
    failed: int
    bytes: int
    seconds: float
    waiting: float = 0.0
    note: str = ""  # why it does not send right now (no free association)
    base_bytes: int = 0
    base_sent: int = 0
    base_failed: int = 0




SENT_CELL, FAILED_CELL, LEFT_CELL = "█", "▒", "░"


def bar(sent: int, failed: int, total: int, width: int = BAR_WIDTH) -> str:
    """Sent, then failed, then what is left: a job whose instances all failed must not look complete."""
    if total <= 0:
        return LEFT_CELL * width
    done = round(width * min(sent + failed, total) / total)
    good = min(done, round(width * min(sent, total) / total))
    if failed and done == good and done < width:
        done += 1  # a failure is never invisible
    if failed and good == done and good > 0:
        good -= 1
    return SENT_CELL * good + FAILED_CELL * (done - good) + LEFT_CELL * (width - done)


def mb_per_second(nbytes: float, seconds: float) -> str:
    rate = nbytes / seconds / 1e6
    return f"{rate:.1f}" if rate < 100 else f"{rate:.0f}"


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}"


def cells(job: Job, live: Live | None) -> dict[str, str]:
    c = job.counts
    total, sent, failed, nbytes = c.total, c.sent, c.failed, c.bytes
    state = job.state
    rate = eta = ""
    if live is not None and job.state == RUNNING:
        total, sent, failed, nbytes = live.total, live.sent, live.failed, live.bytes
        done_here = (sent - live.base_sent) + (failed - live.base_failed)
        if live.seconds > 0 and done_here > 0:
            rate = mb_per_second(nbytes - live.base_bytes, live.seconds)
            left = total - sent - failed
            eta = duration(left * live.seconds / done_here) if left > 0 else ""
        if live.waiting:
            state = "retrying"
        elif live.note:
            state = "waiting"
    elif job.started and job.finished and job.finished > job.started and nbytes:
        rate = mb_per_second(nbytes, job.finished - job.started)
    if job.state == RUNNING and job.cancel_requested:
        state = "stopping"
    elif job.state == RUNNING and job.pause_requested:
        state = "pausing"
    elif job.state == RUNNING and job.message.startswith(WAITING):  # run by another process, or not yet fed
        state = "waiting"
    elif job.state == RUNNING and not total:
        state = "scanning"
    return {"id": job.id, "kind": job.kind, "target": job.target, "state": state, "bar": bar(sent, failed, total),
            "counts": f"{sent}/{failed}/{total}", "bytes": size(nbytes), "rate": rate, "eta": eta}
