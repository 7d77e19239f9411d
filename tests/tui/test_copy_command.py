"""Copy as command on the Nodes screen: y shows the node's echo as a dicomtui line and an echoscu line, the arrows
pick one, enter copies it (and the copied echoscu line really echoes a real storescp), esc copies nothing."""

from __future__ import annotations

import shlex
import subprocess

from textual.widgets import OptionList

from dicomtui.tui.screens.command_lines import CommandLinesScreen
from dicomtui.tui.screens.nodes import NodesScreen

from ..peers.harness import dcmtk, dcmtk_env
from .test_nodes_flow import sample


def shown(app) -> list[str]:
    """The text of every entry of the modal's list, labels and notes included."""
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_y_offers_both_echo_lines_and_enter_copies_the_highlighted_one(make_app, storescp):
    app = make_app(sample(archive_port=storescp.port).replace('ae_title = "ARCHIVE"', 'ae_title = "STORESCP"'))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("y")
        assert isinstance(app.screen, CommandLinesScreen)
        dcmtk_line = f"echoscu -aet DICOMTUI -aec STORESCP 127.0.0.1 {storescp.port}"
        assert shown(app) == ["Echo archive", "dicomtui echo archive", dcmtk_line]
        assert app.screen.highlighted == "dicomtui echo archive"  # the first line, not the label
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, NodesScreen)
        assert app.clipboard == dcmtk_line
        assert [n.message for n in app.sent_notifications if n.title == "Copy as command"] == [f"Copied: {dcmtk_line}"]
    # What was copied is a working command: dcmtk's echoscu reaches the node with it.
    argv = shlex.split(app.clipboard)
    ran = subprocess.run([dcmtk(argv[0]), *argv[1:]], env=dcmtk_env(), capture_output=True, text=True, timeout=30)
    assert ran.returncode == 0, ran.stderr


async def test_up_and_down_stay_on_lines_and_esc_copies_nothing(make_app):
    app = make_app(sample())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "y")  # the second node
        assert app.screen.highlighted == "dicomtui echo ct-scanner"
        await pilot.press("down", "down", "down")  # no further than the last line
        assert app.screen.highlighted == "echoscu -aet DICOMTUI -aec CT01 127.0.0.1 105"
        await pilot.press("up", "up", "up")  # nor onto the label
        assert app.screen.highlighted == "dicomtui echo ct-scanner"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, NodesScreen)
        assert app.clipboard == ""
        assert not [n for n in app.sent_notifications if n.title == "Copy as command"]


async def test_the_palette_copies_any_nodes_echo(make_app):
    app = make_app(sample())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Copy echo command for ct")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CommandLinesScreen)
        assert shown(app)[0] == "Echo ct-scanner"
        await pilot.press("enter")
        await pilot.pause()
        assert app.clipboard == "dicomtui echo ct-scanner"


async def test_no_node_no_copy(make_app):
    app = make_app("")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, NodesScreen)
        assert app.clipboard == ""
