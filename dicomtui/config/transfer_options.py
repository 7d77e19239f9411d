"""Reading the [transfers] table."""

from __future__ import annotations

from typing import Any

from .model import TransferOptions
from .problems import LineFinder, Problem
from .receiver_options import whole
from .tables import check_table


def check_transfers(raw: Any, lines: LineFinder, problems: list[Problem], notes: list[Problem]) -> TransferOptions:
    options = TransferOptions()
    checks = {
        "max_associations": lambda v: whole(v, 1, 64, "simultaneous associations"),
        "max_associations_per_node": lambda v: whole(v, 1, 64, "simultaneous associations"),
    }
    check_table(raw, "transfers", options, checks, lines, problems, notes)
    return options
