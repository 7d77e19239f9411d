"""What the Log screen shows of an association log entry: a row of the table, and the whole of it.

Plain data in, text out (the engine's AssociationEntry, read by attribute); patient-identifying
values in identifiers are masked unless `reveal` (dicom/phi.py).
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text

from ..dicom.phi import masked
from ..engine.association_log import HEAD_MESSAGES
from .widgets.result_table import printable

# (heading, width); None: what is left. The address column only from WIDE columns on.
COLUMNS = [("Time", 8), ("", 1), ("Service", 8), ("Peer AE", 16), ("Outcome", 10), ("Msgs", 5), ("Origin", None)]
WIDE_COLUMNS = [("Time", 8), ("", 1), ("Service", 8), ("Peer AE", 16), ("Address", 21), ("Outcome", 10),
                ("Msgs", 5), ("Origin", None)]
WIDE = 110

OUTCOME_SHORT = {"aborted by the peer": "peer abort", "connection closed by the peer": "closed",
                 "released by the peer": "released", "connection closed": "closed"}
OUTCOME_STATE = {"released": "ok", "rejected": "failed", "failed": "failed", "aborted": "failed",
                 "peer abort": "failed", "closed": "pending"}


def columns_for(width: int) -> list[tuple[str, int | None]]:
    return WIDE_COLUMNS if width >= WIDE else COLUMNS


def peer_ae(entry: Any) -> str:
    """The other side's AE title: the one we called, or the one that called us."""
    return entry.called_ae if entry.outgoing else entry.calling_ae


def outcome_text(entry: Any) -> str:
    return OUTCOME_SHORT.get(entry.outcome, entry.outcome or "open")


def cells(entry: Any, wide: bool) -> list[str]:
    when = time.strftime("%H:%M:%S", time.localtime(entry.started))
    row = [when, "→" if entry.outgoing else "←", entry.service or "?", peer_ae(entry)]
    if wide:
        row.append(entry.peer)
    row += [outcome_text(entry), str(entry.message_total), entry.origin]
    return [printable(str(c)) for c in row]


def haystack(entry: Any) -> str:
    return "\n".join((entry.service, entry.calling_ae, entry.called_ae, entry.peer, entry.outcome, entry.origin,
                      entry.reason)).casefold()


def _uid_name(uid: str) -> str:
    from pydicom.uid import UID  # the screen imports it when it shows an entry, not at start-up

    name = UID(uid).name if uid else ""
    return name if name and name != uid else uid


def _status(code: int | None) -> str:
    if code is None:
        return ""
    from ..dicom.status import describe_status

    return describe_status(code)


def detail(entry: Any, reveal: bool, colours: dict[str, str] | None = None) -> Text:
    """Everything the entry holds: who, when, how it ended and why, each context, each message."""
    colours = colours or {}
    out = Text()
    arrow = "→" if entry.outgoing else "←"
    who = (f"{entry.calling_ae} {arrow} {entry.called_ae}" if entry.outgoing
           else f"{entry.calling_ae} → {entry.called_ae} (us)")
    out.append(f"{arrow} {entry.service or 'association'}", style="bold")
    out.append(f"  {who}  at {entry.peer}\n")
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.started))
    ended = f"{entry.seconds * 1000:.0f} ms" if entry.ended else "still open"
    out.append(f"{started}, {ended}, ")
    state = OUTCOME_STATE.get(outcome_text(entry), "")
    out.append(entry.outcome or "open", style=colours.get(state, "bold"))
    out.append(f"   origin: {entry.origin}")
    if entry.peer_max_pdu:
        out.append(f"   peer's max PDU: {entry.peer_max_pdu}")
    out.append("\n")
    if entry.reason:
        out.append("Why: ", style="bold")
        out.append(printable(entry.reason) + "\n")
    if entry.contexts:
        out.append("Presentation contexts\n", style="bold")
        for cx in entry.contexts:
            result = cx.result_text()
            style = colours.get("ok" if cx.accepted else "failed", "")
            out.append(f"  {cx.context_id:>3} {_uid_name(cx.abstract_syntax)}: ")
            out.append(result, style=style)
            if cx.accepted and cx.transfer_syntax:
                out.append(f", {_uid_name(cx.transfer_syntax)}")
            elif cx.transfer_syntaxes:
                out.append(f" (proposed: {', '.join(_uid_name(ts) for ts in cx.transfer_syntaxes)})", style="dim")
            out.append("\n")
    total = entry.message_total
    out.append(f"Messages ({total})\n", style="bold")
    for number, message in enumerate(entry.messages):
        if entry.omitted and number == HEAD_MESSAGES:
            out.append(f"  … {entry.omitted} more messages, counted below …\n", style="dim")
        arrow = "→" if message.sent else "←"
        out.append(f"  {message.at:>8.3f}s {arrow} {message.name}")
        if message.message_id is not None:
            out.append(f" #{message.message_id}", style="dim")
        if message.status is not None:
            words = _status(message.status)
            good = message.status in (0x0000, 0xFF00, 0xFF01)
            out.append(f"  {words}", style=colours.get("ok" if good else "failed", ""))
        if message.detail:
            out.append(f"  {printable(message.detail)}", style="dim")
        out.append("\n")
        if message.identifier:
            keys = "  ".join(f"{k}={printable(v if reveal else masked(k, v))}" if v else k
                             for k, v in message.identifier)
            out.append(f"             {keys}\n", style="italic")
    if total > len(entry.messages):
        out.append("  All of them by kind and status:\n", style="dim")
        for kind, count in sorted(entry.counts.items()):
            out.append(f"    {kind}: {count}\n", style="dim")
    return out
