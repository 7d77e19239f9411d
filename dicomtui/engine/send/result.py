"""What a send reports: one outcome per instance, progress events while it runs, totals at the end."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .scan import Skipped

SENT, FAILED, NOT_SENT = "sent", "failed", "not-sent"  # not-sent: cancelled before its turn


@dataclass(frozen=True)
class InstanceOutcome:
    path: Path
    sop_instance_uid: str
    state: str  # SENT (success or warning status), FAILED or NOT_SENT
    status: int | None = None  # the C-STORE-RSP status, when one came
    error: str = ""  # why it failed, or the warning, in words
    bytes: int = 0  # data set bytes that went out (after conversion, if any)
    converted_to: str = ""  # the transfer syntax it was converted to, if it was
    # For a scheduler deciding what to retry: an AssociationError's kind (refused, timeout, aborted,
    # rejected, rejected-transient...) or "status", "unsupported", "conversion", "unreadable", "truncated",
    # "cancelled", "internal".
    kind: str = ""


@dataclass(frozen=True)
class SendProgress:
    """A snapshot after each instance; `rate` in bytes per second since the send began."""

    total: int
    sent: int
    failed: int
    not_sent: int
    bytes: int
    total_bytes: int
    seconds: float
    last: InstanceOutcome | None = None

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.not_sent

    @property
    def rate(self) -> float:
        return self.bytes / self.seconds if self.seconds > 0 else 0.0

    @property
    def instances_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0


@dataclass
class SendResult:
    instances: list[InstanceOutcome] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # not DICOM or unreadable: never sent
    seconds: float = 0.0
    cancelled: bool = False

    def count(self, state: str) -> int:
        return sum(1 for i in self.instances if i.state == state)

    @property
    def sent(self) -> int:
        return self.count(SENT)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def not_sent(self) -> int:
        return self.count(NOT_SENT)

    @property
    def bytes(self) -> int:
        return sum(i.bytes for i in self.instances if i.state == SENT)


class Tally:
    """Collects outcomes from every association's thread and reports each as a SendProgress.

    The callback runs in the sending thread, under a lock so that events arrive in order; it
    must be quick (a face coalesces them, see DESIGN.md)."""

    def __init__(self, total: int, total_bytes: int, on_progress: Callable[[SendProgress], None] | None):
        self._lock = threading.Lock()
        self._on_progress = on_progress
        self._started = time.monotonic()
        self.outcomes: list[InstanceOutcome] = []
        self._counts = {SENT: 0, FAILED: 0, NOT_SENT: 0}
        self._bytes = 0
        self._total, self._total_bytes = total, total_bytes

    def seconds(self) -> float:
        return time.monotonic() - self._started

    def add(self, outcome: InstanceOutcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)
            self._counts[outcome.state] += 1
            if outcome.state == SENT:
                self._bytes += outcome.bytes
            if self._on_progress is not None:
                self._on_progress(self._snapshot(outcome))

    def start(self) -> None:
        """The first event, before any instance: totals for a progress bar."""
        with self._lock:
            if self._on_progress is not None:
                self._on_progress(self._snapshot(None))

    def _snapshot(self, last: InstanceOutcome | None) -> SendProgress:
        return SendProgress(self._total, self._counts[SENT], self._counts[FAILED], self._counts[NOT_SENT],
                            self._bytes, self._total_bytes, self.seconds(), last)
