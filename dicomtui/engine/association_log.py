"""What went over the wire on one association: the association log's entries, and how they are built.

Every association the engine opens or accepts, on our own upper layer or on pynetdicom's, gets a
Recorder that notes the proposed presentation contexts and how each was answered, every DIMSE
message with its status, and how the association ended. When it ends, the entry goes to a Journal
(the store writes it to SQLite in the background). Recording a message is one append: the
receiver's hot path does not notice it. With no journal, `begin` hands out a recorder that does
nothing, so callers never test for one.

Values are kept as they went over the wire; patient-identifying ones are masked when shown
(dicom/phi.py), not here, so that "show" can reveal them.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Protocol

# An association that stores 100,000 instances keeps its first and its last messages one by one (how it began,
# how it ended: where a failure shows) and counts them all by kind and status. The log stays small: 10,000
# associations of 200 messages are some 200 MB at the very most, and most associations are an echo or a query.
HEAD_MESSAGES = 150
TAIL_MESSAGES = 50
MAX_MESSAGES = HEAD_MESSAGES + TAIL_MESSAGES

COMMAND_NAMES = {
    0x0001: "C-STORE-RQ", 0x8001: "C-STORE-RSP",
    0x0010: "C-GET-RQ", 0x8010: "C-GET-RSP",
    0x0020: "C-FIND-RQ", 0x8020: "C-FIND-RSP",
    0x0021: "C-MOVE-RQ", 0x8021: "C-MOVE-RSP",
    0x0030: "C-ECHO-RQ", 0x8030: "C-ECHO-RSP",
    0x0100: "N-EVENT-REPORT-RQ", 0x8100: "N-EVENT-REPORT-RSP",
    0x0110: "N-GET-RQ", 0x8110: "N-GET-RSP",
    0x0120: "N-SET-RQ", 0x8120: "N-SET-RSP",
    0x0130: "N-ACTION-RQ", 0x8130: "N-ACTION-RSP",
    0x0140: "N-CREATE-RQ", 0x8140: "N-CREATE-RSP",
    0x0150: "N-DELETE-RQ", 0x8150: "N-DELETE-RSP",
    0x0FFF: "C-CANCEL-RQ",
}

# A-ASSOCIATE-AC presentation context results (PS3.8 9.3.3.2).
CONTEXT_RESULTS = {
    0: "accepted",
    1: "rejected by the peer (user rejection)",
    2: "rejected by the peer (no reason given)",
    3: "rejected: abstract syntax (SOP class) not supported",
    4: "rejected: none of the proposed transfer syntaxes supported",
}


def command_name(field_value: int) -> str:
    return COMMAND_NAMES.get(field_value, f"command 0x{field_value:04X}")


@dataclass
class ContextEntry:
    context_id: int
    abstract_syntax: str
    transfer_syntaxes: list[str]  # as proposed
    result: int | None = None  # CONTEXT_RESULTS; None: no answer (rejected or failed association)
    transfer_syntax: str = ""  # the one accepted

    @property
    def accepted(self) -> bool:
        return self.result == 0

    def result_text(self) -> str:
        if self.result is None:
            return "not answered"
        return CONTEXT_RESULTS.get(self.result, f"result {self.result}")


@dataclass
class MessageEntry:
    at: float  # seconds since the association began
    sent: bool  # by us
    name: str  # "C-STORE-RQ"
    message_id: int | None = None
    status: int | None = None  # responses
    detail: str = ""  # the SOP Instance UID, the move destination, sub-operation counts, an error comment
    identifier: list[tuple[str, str]] = field(default_factory=list)  # (keyword, value) of a request's keys


@dataclass
class AssociationEntry:
    id: str
    outgoing: bool  # we opened it
    service: str  # echo, find, worklist, move, get, send; store, query, retrieve, ... for what we accept
    origin: str  # what in dicomtui caused it: "echo pacs", "job 12", "receiver", "find" ...
    calling_ae: str
    called_ae: str
    peer: str  # host:port
    started: float  # seconds since the epoch
    contexts: list[ContextEntry] = field(default_factory=list)
    messages: list[MessageEntry] = field(default_factory=list)
    omitted: int = 0  # messages left out between messages[HEAD_MESSAGES - 1] and the tail (counted in counts)
    counts: dict[str, int] = field(default_factory=dict)  # "C-STORE-RSP 0x0000": n, over every message
    ended: float | None = None
    outcome: str = ""  # released, aborted (by us), aborted by the peer, rejected, failed
    reason: str = ""  # words: why it was rejected, failed or aborted
    peer_max_pdu: int | None = None

    @property
    def seconds(self) -> float:
        return (self.ended or self.started) - self.started

    @property
    def message_total(self) -> int:
        return sum(self.counts.values())


class Journal(Protocol):
    """Where finished entries go; `origin` says what caused the associations it is handed."""

    origin: str

    def record(self, entry: AssociationEntry) -> None: ...


_ids = itertools.count(1)
_id_lock = threading.Lock()


def _new_id() -> str:
    # Unique across the processes that write one log: the pid, the time and a counter.
    with _id_lock:
        number = next(_ids)
    return f"{os.getpid():x}-{time.time_ns() // 1_000_000:x}-{number:x}"


class Recorder:
    """Builds one entry as its association runs; `finish` hands it to the journal (once)."""

    def __init__(self, journal: Journal, *, outgoing: bool, service: str, calling_ae: str, called_ae: str,
                 peer: str, origin: str | None = None):
        self._journal = journal
        self._clock = time.monotonic()
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()  # pynetdicom reports sent and received messages from two threads
        self._tail: deque[MessageEntry] = deque(maxlen=TAIL_MESSAGES)
        self._total = 0
        self.entry = AssociationEntry(_new_id(), outgoing, service, origin or journal.origin, calling_ae.strip(),
                                      called_ae.strip(), peer, time.time())

    @property
    def id(self) -> str:
        return self.entry.id

    def propose(self, contexts: list[tuple[int, str, list[str]]]) -> None:
        self.entry.contexts = [ContextEntry(cid, str(abstract), [str(ts) for ts in syntaxes])
                               for cid, abstract, syntaxes in contexts]

    def answer(self, context_id: int, result: int, transfer_syntax: str = "") -> None:
        for context in self.entry.contexts:
            if context.context_id == context_id:
                context.result, context.transfer_syntax = result, str(transfer_syntax or "")
                return
        self.entry.contexts.append(ContextEntry(context_id, "", [], result, str(transfer_syntax or "")))

    def message(self, sent: bool, field_value: int, message_id: int | None = None, status: int | None = None,
                detail: str = "", identifier: list[tuple[str, str]] | None = None) -> None:
        name = command_name(field_value)
        key = name if status is None else f"{name} 0x{status:04X}"
        with self._lock:
            self._counts[key] += 1
            self._total += 1
            keep = self.entry.messages if len(self.entry.messages) < HEAD_MESSAGES else self._tail
            keep.append(MessageEntry(round(time.monotonic() - self._clock, 6), sent, name, message_id, status, detail,
                                     identifier or []))

    def note(self, text: str) -> None:
        """Something about the association that is not a message (a peer's maximum PDU, a TLS handshake...)."""
        if self.entry.reason:
            self.entry.reason += "; "
        self.entry.reason += text

    def finish(self, outcome: str, reason: str = "") -> None:
        with self._lock:
            if self.entry.ended is not None:
                return
            self.entry.ended = time.time()
            self.entry.counts = dict(self._counts)
            self.entry.omitted = self._total - len(self.entry.messages) - len(self._tail)
            self.entry.messages.extend(self._tail)
        self.entry.outcome = outcome
        if not self.entry.service:  # one we accepted: named by what it was asked to do
            self.entry.service = _service_of(self.entry)
        if reason:
            self.entry.reason = f"{reason}; {self.entry.reason}" if self.entry.reason else reason
        try:
            self._journal.record(self.entry)
        except Exception:  # noqa: BLE001 - the log must never cost a transfer
            pass

    @property
    def finished(self) -> bool:
        return self.entry.ended is not None


_REQUEST_SERVICES = {"C-STORE-RQ": "store", "C-FIND-RQ": "find", "C-MOVE-RQ": "move", "C-GET-RQ": "get",
                     "C-ECHO-RQ": "echo"}
MWL_FIND = "1.2.840.10008.5.1.4.31"


def _service_of(entry: AssociationEntry) -> str:
    asked = [_REQUEST_SERVICES.get(m.name) for m in entry.messages if m.name in _REQUEST_SERVICES]
    services = list(dict.fromkeys(asked))
    if "find" in services and any(c.abstract_syntax == MWL_FIND and c.accepted for c in entry.contexts):
        services[services.index("find")] = "worklist"
    if not services:
        return "-"
    # A store that also echoed is a store; anything else that echoed first is named by its real work.
    meaningful = [s for s in services if s != "echo"] or services
    return "+".join(meaningful[:2])


class _NoRecorder:
    """What `begin` gives when nobody keeps a log: every call does nothing."""

    id = ""
    finished = True

    def propose(self, *args, **kwargs) -> None:
        pass

    answer = message = note = finish = propose


NO_RECORDER = _NoRecorder()


def begin(journal: Journal | None, *, outgoing: bool, service: str, calling_ae: str, called_ae: str, peer: str,
          origin: str | None = None) -> Recorder | _NoRecorder:
    if journal is None:
        return NO_RECORDER
    return Recorder(journal, outgoing=outgoing, service=service, calling_ae=calling_ae, called_ae=called_ae,
                    peer=peer, origin=origin)


def identifier_pairs(keys: dict[str, object]) -> list[tuple[str, str]]:
    """A request's keys as the log keeps them: keyword and value as text (empty: a return key)."""
    pairs = []
    for keyword, value in keys.items():
        if isinstance(value, (list, tuple)):
            value = "\\".join(str(v) for v in value)
        pairs.append((str(keyword), "" if value is None else str(value)))
    return pairs


def dataset_pairs(ds, prefix: str = "") -> list[tuple[str, str]]:
    """A pydicom Dataset's elements as (keyword, text), sequence items as Keyword[n].Inner."""
    pairs = []
    for element in ds:
        name = element.keyword or f"({element.tag.group:04X},{element.tag.element:04X})"
        if element.VR == "SQ":
            items = element.value or []
            if not items:
                pairs.append((prefix + name, ""))
            for number, item in enumerate(items):
                pairs += dataset_pairs(item, f"{prefix}{name}[{number}].")
            continue
        value = element.value
        if value is None:
            text = ""
        elif isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            text = "\\".join(str(v) for v in value)
        else:
            text = str(value)
        pairs.append((prefix + name, text))
    return pairs
