"""Receiver events gathered from pynetdicom's threads, for the UI to take in batches.

Hundreds of instances a second must not become hundreds of messages a second: the
receiver's threads only append here (deque appends are thread-safe), and the Receiver
screen drains the feed on a timer, a few times a second.
"""

from __future__ import annotations

from collections import deque


class ReceiverFeed:
    def __init__(self, keep: int = 5000) -> None:
        self._events: deque = deque(maxlen=keep)

    def __call__(self, event) -> None:
        self._events.append(event)

    def drain(self) -> list:
        taken = []
        while True:
            try:
                taken.append(self._events.popleft())
            except IndexError:
                return taken
