"""The app in a real terminal (tmux at 80x24), for what a pilot cannot show: the process itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = pytest.mark.peers


def _pane(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout


def _wait_for(session: str, text: str, timeout: float) -> float:
    started = time.monotonic()
    while text not in _pane(session):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{text!r} did not appear within {timeout} s:\n{_pane(session)}")
        time.sleep(0.05)
    return time.monotonic() - started


def test_quit_does_not_wait_for_a_hung_node(tmp_path, silent_peer):
    assert shutil.which("tmux"), "tmux is needed (the README's test command installs it)"
    config = tmp_path / "config.toml"
    config.write_text(f'[[nodes]]\nname = "hung"\nae_title = "HUNG"\nhost = "127.0.0.1"\n'
                      f"port = {silent_peer.port}\ntimeout = 30\n")
    session = f"dicomtui-test-{uuid.uuid4().hex[:8]}"
    command = (f"env XDG_CONFIG_HOME={tmp_path}/c XDG_DATA_HOME={tmp_path}/d "
               f"{sys.executable} -m dicomtui --config {config}; echo EXITED-$?; sleep 30")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", command], check=True)
    try:
        _wait_for(session, "Never echoed", timeout=15)
        subprocess.run(["tmux", "send-keys", "-t", session, "R"], check=True)
        _wait_for(session, "echoing", timeout=5)
        deadline = time.monotonic() + 5
        while silent_peer.accepted == 0:  # the association request is waiting for its answer
            assert time.monotonic() < deadline, "the app never connected to the node:\n" + _pane(session)
            time.sleep(0.05)
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        took = _wait_for(session, "EXITED-0", timeout=10)
        assert took < 2.0, f"quitting took {took:.1f} s while the node's timeout is 30 s"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
