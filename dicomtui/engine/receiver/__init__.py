"""The receiver: Storage SCP and local archive Q/R SCP (no textual here)."""

from .events import (
    AssociationClosed,
    AssociationOpened,
    InstanceRefused,
    InstanceStored,
    ReceiverEvent,
    ReceiverProblem,
)
from .service import Receiver, ReceiverStartError
from .settings import ReceiverSettings, settings_from_config

__all__ = [
    "AssociationClosed",
    "AssociationOpened",
    "InstanceRefused",
    "InstanceStored",
    "Receiver",
    "ReceiverEvent",
    "ReceiverProblem",
    "ReceiverSettings",
    "ReceiverStartError",
    "settings_from_config",
]
