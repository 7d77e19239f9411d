"""The Nodes screen driven the way a user drives it: keys, forms, real peers."""

from __future__ import annotations

import time

import pytest
from textual.widgets import DataTable, Input, Static

from dicomtui.tui.screens.config_problems import ConfigProblemsScreen
from dicomtui.tui.screens.confirm import ConfirmScreen
from dicomtui.tui.screens.help import HelpScreen
from dicomtui.tui.screens.node_form import NodeFormScreen

from ..peers.harness import free_port
from .conftest import SAMPLE_CONFIG


def sample(archive_port: int = 104, ct_port: int = 105) -> str:
    return SAMPLE_CONFIG.format(archive_port=archive_port, ct_port=ct_port)


async def fill(pilot, **fields: str) -> None:
    for field, value in fields.items():
        widget = pilot.app.screen.query_one(f"#field-{field}", Input)
        widget.focus()
        widget.value = ""
        await pilot.press(*value) if value else None
        await pilot.pause()


def cell(app, row: str, column: str) -> str:
    return str(app.screen.query_one(DataTable).get_cell(row, column))


async def wait_for(pilot, condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the screen did not reach the expected state in time")
        await pilot.pause(0.05)


async def test_add_node_with_the_form(make_app, tmp_path):
    app = make_app(sample())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        assert isinstance(app.screen, NodeFormScreen)
        await fill(pilot, name="mr", ae_title="MR01", host="mr.example.org", port="4006",
                   description="MR scanner")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, NodeFormScreen)
        assert cell(app, "mr", "ae_title") == "MR01"
    text = (tmp_path / "config.toml").read_text()
    assert 'name = "mr"' in text and "port = 4006" in text
    # Everything the user wrote is still there.
    assert "# Radiology nodes, maintained by the PACS team." in text
    assert 'site = "basement"   # unknown key, kept' in text
    assert "[keymap]   # keys by binding id; must survive saves" in text


async def test_form_opens_with_the_cursor_in_the_first_field(make_app):
    app = make_app(sample())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"pacs", "tab", *"PACS")
        assert app.screen.query_one("#field-name", Input).value == "pacs"
        assert app.screen.query_one("#field-ae_title", Input).value == "PACS"


async def test_invalid_input_is_refused_inline_and_nothing_is_saved(make_app, tmp_path):
    app = make_app(sample())
    before = (tmp_path / "config.toml").read_bytes()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await fill(pilot, name="archive", ae_title="WAY_TOO_LONG_AE_TITLE", host="bad..host", port="70000")
        screen = app.screen
        assert "already exists" in str(screen.query_one("#error-name", Static).render())
        assert "at most 16" in str(screen.query_one("#error-ae_title", Static).render())
        assert "not a valid host name" in str(screen.query_one("#error-host", Static).render())
        assert "1 to 65535" in str(screen.query_one("#error-port", Static).render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen, "the form must stay open with the user's input"
        assert "Not saved" in str(screen.query_one("#form-message", Static).render())
        assert screen.query_one("#field-host", Input).value == "bad..host"
    assert (tmp_path / "config.toml").read_bytes() == before


async def test_edit_node_keeps_comments_and_renames(make_app, tmp_path):
    app = make_app(sample())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")  # the cursor starts on 'archive'
        assert isinstance(app.screen, NodeFormScreen)
        await fill(pilot, name="archive-2", port="4343")
        await pilot.press("ctrl+s")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert "archive" not in table.rows and cell(app, "archive-2", "port") == "4343"
    text = (tmp_path / "config.toml").read_text()
    assert 'name = "archive-2"' in text and "port = 4343" in text
    assert 'site = "basement"   # unknown key, kept' in text
    assert 'ae_title = "DICOMTUI"   # our calling AE' in text


async def test_delete_asks_first(make_app, tmp_path):
    app = make_app(sample())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert "ct-scanner" in app.screen.query_one(DataTable).rows
        await pilot.press("d", "y")
        await pilot.pause()
        assert "ct-scanner" not in app.screen.query_one(DataTable).rows
    text = (tmp_path / "config.toml").read_text()
    assert "ct-scanner" not in text and 'name = "archive"' in text


@pytest.mark.peers
async def test_echo_selected_and_all_against_real_peers(make_app, storescp, silent_peer, tmp_path):
    closed = free_port()
    config = sample(archive_port=storescp.port, ct_port=closed).replace('"ARCHIVE"', f'"{storescp.ae_title}"')
    config += (f'\n[[nodes]]\nname = "hung"\nae_title = "HUNG"\nhost = "127.0.0.1"\n'
               f"port = {silent_peer.port}\ntimeout = 3\n")
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        await wait_for(pilot, lambda: "ok" in cell(app, "archive", "echo"))
        assert "ms" in cell(app, "archive", "echo")

        started = time.monotonic()
        await pilot.press("R")
        await pilot.pause(0.2)
        assert "echoing" in cell(app, "hung", "echo")
        # The UI answers while a node hangs: help opens and closes at once.
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert time.monotonic() - started < 2.0
        await wait_for(pilot, lambda: "refused" in cell(app, "ct-scanner", "echo"))
        await wait_for(pilot, lambda: "no answer" in cell(app, "hung", "echo"), timeout=8)
        assert time.monotonic() - started < 6.0, "the hung node must fail within its 3 s timeout"
    # Recorded for the next start and for `dicomtui nodes show`.
    latest = app.echo_log.latest()
    assert latest["archive"].ok and not latest["ct-scanner"].ok
    assert latest["ct-scanner"].failure == "refused"
    assert "3 s" in latest["hung"].error


@pytest.mark.peers
async def test_echo_from_the_command_palette(make_app, storescp):
    config = sample(archive_port=storescp.port).replace('"ARCHIVE"', f'"{storescp.ae_title}"')
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"echo node archive")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "ok" in cell(app, "archive", "echo"))


async def test_broken_config_is_shown_and_never_overwritten(make_app, tmp_path):
    broken = sample().replace("port = 105", 'port = "105"').replace('ae_title = "CT01"', 'ae_title = ""')
    app = make_app(broken)
    path = tmp_path / "config.toml"
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ConfigProblemsScreen)
        listing = str(app.screen.query_one("#problems-list", Static).render())
        assert "line 19" in listing and "line 21" in listing
        assert "16 characters" in listing and "without quotes" in listing
        await pilot.press("escape")
        await pilot.press("a")  # adding is disabled while the file is broken
        assert not isinstance(app.screen, NodeFormScreen)
        assert path.read_text() == broken
        # The user fixes the file in an editor and reloads.
        path.write_text(sample())
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "ct-scanner" in app.screen.query_one(DataTable).rows
        await pilot.press("a")
        assert isinstance(app.screen, NodeFormScreen)


async def test_empty_config_explains_what_to_do(make_app, tmp_path):
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        detail = str(app.screen.query_one("#node-detail", Static).render())
        assert "No nodes yet" in detail and "Press a" in detail
    assert not (tmp_path / "config.toml").exists(), "starting the app must not create files"
