"""The progress line of `dicomtui move` and `dicomtui get` on a terminal: what it says, and that it fits."""

from __future__ import annotations

from dicomtui.cli.retrieve_cmd import _Bar
from dicomtui.engine.retrieve import RetrieveProgress


def test_known_total_fills_the_bar():
    bar = _Bar("C-GET", enabled=True)
    assert bar.line(RetrieveProgress(6, 3, 0, 0), 80) == f"C-GET [{'#' * 10}{'.' * 20}] 3/9"
    assert bar.line(RetrieveProgress(0, 8, 1, 0), 80) == f"C-GET [{'#' * 30}] 9/9 (1 failed)"


def test_unknown_total_is_not_shown_as_full():
    # An archive may leave out the number of remaining sub-operations: 5 of an unknown total is not 5/5.
    assert _Bar("C-MOVE to X", enabled=True).line(RetrieveProgress(None, 5, 0, 0), 80) == "C-MOVE to X 5 done"


def test_the_line_never_wraps():
    bar = _Bar("C-MOVE to A_LONG_AE_TITLE", enabled=True)
    for columns in (80, 50, 40, 30, 20):
        line = bar.line(RetrieveProgress(700, 300, 2, 0), columns)
        assert len(line) < columns, (columns, line)
    assert "[" not in bar.line(RetrieveProgress(700, 300, 2, 0), 40)  # no room for a bar: the counts alone
