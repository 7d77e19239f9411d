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


_SGR = __import__("re").compile(r"\x1b\[([0-9;]*)m")


def _colours(ansi: str) -> list[tuple[str, ...]]:
    """Every colour an SGR sequence in `ansi` sets, as ("38", "5", "245") or ("38", "2", r, g, b) or ("31",)."""
    found = []
    for params in _SGR.findall(ansi):
        parts = [p for p in params.split(";") if p != ""]
        i = 0
        while i < len(parts):
            code = parts[i]
            if code in ("38", "48") and i + 1 < len(parts):
                width = 3 if parts[i + 1] == "5" else 5
                found.append(tuple(parts[i:i + width]))
                i += width
                continue
            if 30 <= int(code) <= 37 or 40 <= int(code) <= 47 or 90 <= int(code) <= 97 or 100 <= int(code) <= 107:
                found.append((code,))
            i += 1
    return found


def _grey(colour: tuple[str, ...]) -> bool:
    if len(colour) == 5:  # 38;2;r;g;b
        return colour[2] == colour[3] == colour[4]
    if len(colour) == 3:  # 38;5;n: the grey ramp, black and white, or a grey of the 6x6x6 cube
        n = int(colour[2])
        if n >= 232 or n in (0, 7, 8, 15):
            return True
        if 16 <= n <= 231:
            r, g, b = (n - 16) // 36, (n - 16) // 6 % 6, (n - 16) % 6
            return r == g == b
        return False
    return colour[0] in ("30", "37", "90", "97", "40", "47", "100", "107")


@pytest.mark.parametrize("variable", ["NO_COLOR=1", "TEXTUAL_COLOR_SYSTEM=standard"])
def test_readable_without_colour_and_with_sixteen(tmp_path, variable):
    """NO_COLOR: only greys, and the highlighted row still stands out; standard: the 16 ANSI colours only."""
    config = tmp_path / "config.toml"
    config.write_text('[[nodes]]\nname = "archive"\nae_title = "ARCHIVE"\nhost = "127.0.0.1"\nport = 104\n'
                      '[[nodes]]\nname = "ct"\nae_title = "CT01"\nhost = "127.0.0.1"\nport = 105\n')
    session = f"dicomtui-colour-{uuid.uuid4().hex[:8]}"
    command = (f"env {variable} XDG_CONFIG_HOME={tmp_path}/c XDG_DATA_HOME={tmp_path}/d "
               f"{sys.executable} -m dicomtui --config {config}")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", command], check=True)
    try:
        _wait_for(session, "6 Log", timeout=15)
        _wait_for(session, "ct ", timeout=5)
        ansi = subprocess.run(["tmux", "capture-pane", "-e", "-p", "-t", session], capture_output=True,
                              text=True).stdout
        lines = ansi.splitlines()
        colours = _colours(ansi)
        assert colours, "no colours at all: the capture did not keep them"
        if variable.startswith("NO_COLOR"):
            assert all(_grey(c) for c in colours), sorted({c for c in colours if not _grey(c)})
        else:
            assert all(len(c) == 1 for c in colours), sorted({c for c in colours if len(c) != 1})
        archive = next(line for line in lines if " archive " in _SGR.sub("", line))
        ct = next(line for line in lines if " ct " in _SGR.sub("", line))
        backgrounds = [[c for c in _colours(line) if c[0] in ("48", "40", "47", "100", "104", "107")
                        or c[0].startswith(("4", "10"))] for line in (archive, ct)]
        assert backgrounds[0] != backgrounds[1], "the highlighted row looks like the others"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
