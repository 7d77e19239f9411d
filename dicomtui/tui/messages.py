"""Messages that engine work posts to the UI thread (post_message is thread-safe)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from ..store.echo_log import EchoRecord

if TYPE_CHECKING:
    from ..engine.echo import EchoResult


class EchoFinished(Message):
    """A C-ECHO to a node ended, successfully or not, and was recorded."""

    def __init__(self, node: str, result: EchoResult, record: EchoRecord) -> None:
        super().__init__()
        self.node = node
        self.result = result
        self.record = record
