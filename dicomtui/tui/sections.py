"""The app's top-level screens, in the order of their number keys.

A later screen (Query, Transfers, Worklist, Receiver) plugs in by adding a Section here;
the app builds its modes, its number-key bindings and the section bar from this list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.screen import Screen


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    key: str
    screen: Callable[[], Screen]


def sections() -> list[Section]:
    from .screens.associations import AssociationsScreen
    from .screens.nodes import NodesScreen
    from .screens.query import QueryScreen
    from .screens.receiver import ReceiverScreen
    from .screens.transfers import TransfersScreen
    from .screens.worklist import WorklistScreen

    return [
        Section("nodes", "Nodes", "1", NodesScreen),
        Section("query", "Query", "2", QueryScreen),
        Section("receiver", "Receiver", "3", ReceiverScreen),
        Section("transfers", "Transfers", "4", TransfersScreen),
        Section("worklist", "Worklist", "5", WorklistScreen),
        Section("log", "Log", "6", AssociationsScreen),
    ]
