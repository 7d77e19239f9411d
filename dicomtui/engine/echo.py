"""C-ECHO: is the node there, does it accept us, and how fast does it answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from ..config.model import Node
from ..dicom.status import describe_status
from .association import AssociationError, open_association
from .association_log import Journal


@dataclass
class EchoResult:
    target: str
    ok: bool
    rtt_ms: list[float] = field(default_factory=list)
    error: str | None = None
    # Why it failed, for exit codes and colours: a connection-level kind from
    # AssociationError ("refused", "timeout", "rejected", ...), "status" for a failure status
    # or a refused Verification context, "cancelled"; None when ok.
    failure: str | None = None
    association_ms: float | None = None
    log_id: str = ""  # the association log's entry, when one was kept

    @property
    def mean_rtt_ms(self) -> float | None:
        return round(sum(self.rtt_ms) / len(self.rtt_ms), 3) if self.rtt_ms else None

    @property
    def no_association(self) -> bool:
        return self.failure not in (None, "status", "cancelled")


def echo(
    node: Node,
    calling_ae: str,
    *,
    count: int = 1,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    on_reply: Callable[[int, float], None] | None = None,
    journal: Journal | None = None,
) -> EchoResult:
    """Send `count` C-ECHOs to `node` on one association (as `echoscu --repeat` does).

    Never raises for network trouble: the result says what happened. `on_reply(n, rtt_ms)`
    is called from this thread after each successful reply.
    """
    result = EchoResult(target=node.name, ok=False)
    started = time.perf_counter()
    try:
        assoc = open_association(node, calling_ae, [Verification], timeout=timeout, journal=journal, service="echo")
    except AssociationError as exc:
        result.error, result.failure, result.log_id = exc.message, exc.kind, exc.log_id
        return result
    result.log_id = assoc.log_id
    result.association_ms = (time.perf_counter() - started) * 1000
    try:
        if not any(c.abstract_syntax == Verification for c in assoc.accepted_contexts):
            result.error = ("the node accepted the association but refused C-ECHO (the Verification "
                            "SOP class); it may not support echo from our AE title")
            result.failure = "status"
            return result
        for number in range(1, count + 1):
            if cancel is not None and cancel.is_set():
                result.error, result.failure = "cancelled", "cancelled"
                return result
            sent = time.perf_counter()
            status = assoc.send_c_echo()
            rtt = (time.perf_counter() - sent) * 1000
            if "Status" not in status:
                # An empty status: the peer aborted or did not answer in time. Treat it as
                # fatal: the association is unusable (see PYNETDICOM.md).
                result.failure = "aborted" if assoc.is_aborted else "timeout"
                result.error = (f"the node aborted the association after {number - 1} echo(es)"
                                if assoc.is_aborted else
                                f"no C-ECHO response within {assoc.dimse_timeout:g} s")
                return result
            if status.Status != 0x0000:
                result.error = f"C-ECHO failed: {describe_status(status.Status)}"
                result.failure = "status"
                return result
            result.rtt_ms.append(round(rtt, 3))
            if on_reply is not None:
                on_reply(number, rtt)
        result.ok = True
        return result
    finally:
        if assoc.is_established:
            if result.ok:
                assoc.release()
            else:
                assoc.abort()
