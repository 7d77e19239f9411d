"""The Receiver screen with a real receiver and a real sender (dcmtk storescu)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from textual.widgets import Static

from dicomtui.dicom.synthetic import generate_studies
from dicomtui.tui.widgets.result_table import ResultTable

from ..peers.harness import dcmtk, free_port
from .test_nodes_flow import wait_for

pytestmark = pytest.mark.peers


def _config(port: int, storage) -> str:
    return f'[local]\nport = {port}\nbind = "127.0.0.1"\nstorage = "{storage}"\n\n[receiver]\nmin_free_mb = 0\n'


async def test_receiver_screen_shows_what_arrives(make_app, tmp_path):
    port = free_port()
    files = generate_studies(tmp_path / "source", patients=2, seed=11)
    app = make_app(_config(port, tmp_path / "archive"))
    app._autostart_receiver = True
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.receiver is not None and app.receiver.running)
        await pilot.press("3")
        status = app.screen.query_one("#rx-status", Static)
        await wait_for(pilot, lambda: "listening" in str(status.render()))
        assert f"DICOMTUI@127.0.0.1:{port}" in str(status.render())
        sender = subprocess.Popen([dcmtk("storescu"), "-aec", "DICOMTUI", "-aet", "CT01", "127.0.0.1", str(port),
                                   *map(str, files)], env={**os.environ, "TCP_NODELAY": "1"},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while sender.poll() is None:  # the UI keeps running while instances arrive
            await pilot.pause(0.05)
        assert sender.returncode == 0, sender.stderr.read()
        recent = app.screen.query_one("#rx-recent", ResultTable)
        await wait_for(pilot, lambda: recent.row_count == len(files))
        assert str(recent.get_row_at(0)[5]) == "CT01"
        await wait_for(pilot, lambda: f"{len(files)} instance(s)" in str(status.render()))
        # Stop and start again from the keyboard.
        await pilot.press("s")
        await wait_for(pilot, lambda: "not listening" in str(status.render()))
        await pilot.press("s")
        await wait_for(pilot, lambda: "listening " in str(status.render()) and app.receiver.running)
    app.receiver.stop()


async def test_port_in_use_is_explained(make_app, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        app = make_app(_config(port, tmp_path / "archive"))
        app._autostart_receiver = True
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3")
            status = app.screen.query_one("#rx-status", Static)
            await wait_for(pilot, lambda: "already in use" in str(status.render()))
            assert "not listening" in str(status.render())


def test_receiver_screen_snapshot(snap_compare, make_app, tmp_path):
    started = time.monotonic()
    assert snap_compare(make_app(_config(11112, "archive")), terminal_size=(80, 24), press=["3"])
    assert time.monotonic() - started < 30
