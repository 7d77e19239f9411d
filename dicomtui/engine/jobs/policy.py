"""Which failures deserve another attempt, and how long to wait before it.

Transient: the peer was not there or gave up (refused, aborted, timeout), rejected the association
as "rejected-transient" (busy, at its association limit) or said it is out of resources (0xA7xx);
waiting may help. Permanent: the peer does not take the SOP class or
transfer syntax, a failure status, a file we cannot read; sending again would fail the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

TRANSIENT_KINDS = frozenset({"refused", "aborted", "timeout", "rejected-transient"})


def is_transient(kind: str, status: int | None) -> bool:
    if kind in TRANSIENT_KINDS:
        return True
    return kind == "status" and status is not None and status & 0xFF00 == 0xA700


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # in all, the first one included
    first_delay: float = 1.0  # seconds before the second attempt; doubled for each one after
    max_delay: float = 60.0

    def delay(self, attempts_made: int) -> float:
        """Seconds to wait before the next attempt of an instance tried `attempts_made` times."""
        return min(self.max_delay, self.first_delay * 2 ** max(0, attempts_made - 1))
