"""The screens' layout, frozen: a change shows up as a diff in the snapshot report."""

from __future__ import annotations

import pytest

from .conftest import FIXED_TIME, SAMPLE_CONFIG
from .test_nodes_flow import wait_for

CONFIG = SAMPLE_CONFIG.format(archive_port=4242, ct_port=104) + """
[[nodes]]
name = "worklist"
ae_title = "RIS_MWL"
host = "ris.example.org"
port = 11112
description = "RIS modality worklist"
timeout = 5
"""

RECORDS = [
    dict(node="archive", ok=True, rtt_ms=3.81, error=None, at=FIXED_TIME),
    dict(node="ct-scanner", ok=False, rtt_ms=None, failure="rejected", at=FIXED_TIME - 60,
         error="association rejected: called AE title not recognised: the node expects a different "
               "AE title (we called 'CT01'); check the node's AE title (A-ASSOCIATE-RJ result 1 "
               "permanent, source 1, reason 7)"),
]


async def history_shown(pilot) -> None:
    """The echo history loads in a worker; a fixed pause raced it when the machine was busy (the column widths
    then came out otherwise)."""
    nodes = {record["node"] for record in RECORDS}
    await wait_for(pilot, lambda: set(getattr(pilot.app.screen, "_records", {})) >= nodes)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_nodes_screen(snap_compare, make_app, size):
    assert snap_compare(make_app(CONFIG, RECORDS), terminal_size=size, run_before=history_shown)


def test_nodes_screen_with_failed_node_selected(snap_compare, make_app):
    async def select(pilot):
        await history_shown(pilot)
        await pilot.press("down")

    assert snap_compare(make_app(CONFIG, RECORDS), terminal_size=(80, 24), run_before=select)


def test_node_form_with_errors(snap_compare, make_app):
    async def open_form(pilot):
        await history_shown(pilot)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"pacs", "tab", *"TOO_LONG_AE_TITLE_X", "tab", *"pacs.example.org", "tab", *"0")

    assert snap_compare(make_app(CONFIG, RECORDS), terminal_size=(80, 24), run_before=open_form)


def test_help_screen(snap_compare, make_app):
    async def open_help(pilot):
        await history_shown(pilot)  # the screen behind must be complete too
        await pilot.press("question_mark")

    assert snap_compare(make_app(CONFIG, RECORDS), terminal_size=(80, 24), run_before=open_help)


def test_config_problems_screen(snap_compare, make_app):
    broken = CONFIG.replace("port = 104", "port = 70000").replace('host = "ris.example.org"', "")
    assert snap_compare(make_app(broken), terminal_size=(80, 24))


def test_copy_command_modal(snap_compare, make_app):
    async def open_modal(pilot):
        await history_shown(pilot)
        await pilot.press("down", "down", "y")  # the worklist node: its timeout shows in the echoscu line
        await pilot.pause()

    assert snap_compare(make_app(CONFIG, RECORDS), terminal_size=(80, 24), run_before=open_modal)


def test_copy_command_modal_with_long_lines(snap_compare, make_app):
    """Lines longer than the screen wrap, and more of them than fit scroll (what the worklist's lines need)."""
    from dicomtui.command_lines import find_lines, worklist_lines
    from dicomtui.config.model import Node
    from dicomtui.engine.query_request import QueryRequest
    from dicomtui.engine.worklist_request import WorklistRequest
    from dicomtui.tui.screens.command_lines import CommandLinesScreen

    node = Node("main pacs", "PACS", "pacs.example.org", 104)
    entries = [find_lines(node, "DICOMTUI", QueryRequest(keys={"PatientName": "O'Brien*"}, limit=100)),
               worklist_lines(node, "DICOMTUI", WorklistRequest(modality="CT", station="CT01"))]

    async def open_modal(pilot):
        await history_shown(pilot)
        pilot.app.push_screen(CommandLinesScreen(entries))
        await pilot.pause()
        await pilot.press("down")

    assert snap_compare(make_app(CONFIG, RECORDS), terminal_size=(80, 24), run_before=open_modal)


@pytest.mark.parametrize("section", ["2", "3", "4", "5", "6"])
def test_every_screen_at_120x36(snap_compare, make_app, section):
    """Each section screen grows with the window (the 80x24 pictures, with data, are in each screen's tests)."""

    async def run_before(pilot) -> None:
        await history_shown(pilot)
        await pilot.press(section)
        await pilot.pause(0.3)

    assert snap_compare(make_app(CONFIG, RECORDS), terminal_size=(120, 36), run_before=run_before)
