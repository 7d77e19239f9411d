"""`dicomtui move` and `dicomtui get` in a real terminal (a pseudo-terminal) against Orthanc: the progress bar
is drawn on one line that is redrawn in place, fits the terminal, and gives way to the right summary."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from ..cli_runner import Home
from .test_retrieve import study_files, study_uid_of

pytestmark = pytest.mark.peers

TIMEOUT = 60
INSTANCES = 24


def run_in_terminal(home: Home, *args: str, columns: int = 80,
                    interrupt_at: str | None = None) -> tuple[int, str]:
    """Run `python -m dicomtui ARGS` with stdin, stdout and stderr on a new terminal `columns` wide; returns
    the exit code and every byte it wrote there. With `interrupt_at`, Ctrl-C (SIGINT) once that text shows."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "dicomtui", *args], env=home.env, cwd=home.root,
                            stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                proc.kill()
                raise AssertionError(f"dicomtui {' '.join(args)} did not end within {TIMEOUT} s:\n{out.decode()}")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not data:
                break
            out += data
            if interrupt_at is not None and interrupt_at.encode() in out:
                proc.send_signal(signal.SIGINT)
                interrupt_at = None
    finally:
        os.close(master)
    return proc.wait(timeout=10), out.decode("utf-8", "replace")


def screen_lines(output: str) -> list[str]:
    """What the terminal shows at the end: a carriage return starts the line again, ESC [K clears its rest."""
    lines = []
    for line in output.replace("\r\n", "\n").split("\n"):
        lines.append(line.split("\r")[-1].replace("\x1b[K", ""))
    return lines


def bar_lines(output: str, label: str) -> list[str]:
    """Every drawing of the bar, in order."""
    parts = output.replace("\r\n", "\n").split("\r")
    return [part.split("\n")[0].replace("\x1b[K", "") for part in parts if part.startswith(label + " [")]


@pytest.fixture
def study(orthanc, tmp_path) -> str:
    files = study_files(tmp_path / "src", seed=5140, series=2, instances=INSTANCES // 2)
    orthanc.upload(files)
    return study_uid_of(files)


def test_move_shows_a_progress_bar_then_the_summary(orthanc, study, storescp_factory, scu_ports, home):
    peer = storescp_factory(ae_title="TESTSCU", port=scu_ports["TESTSCU"])
    target = f"{orthanc.ae_title}@{orthanc.host}:{orthanc.port}"
    code, output = run_in_terminal(home, "move", target, "--dest", "TESTSCU", "--study", study)
    assert code == 0, output
    bars = bar_lines(output, "C-MOVE to TESTSCU")
    assert bars, output
    assert bars[-1] == f"C-MOVE to TESTSCU [{'#' * 30}] {INSTANCES}/{INSTANCES}", output
    shown = screen_lines(output)
    # The bar ends its line: the summary is a line of its own, and the bar stays as it was last drawn.
    at = shown.index(f"move: {INSTANCES} completed, 0 failed, 0 warning (final status 0x0000)")
    assert shown[at - 1] == bars[-1]
    assert "Traceback" not in output
    assert len(peer.received()) == INSTANCES


def test_get_bar_fits_a_narrow_terminal(orthanc, study, home):
    target = f"{orthanc.ae_title}@{orthanc.host}:{orthanc.port}"
    code, output = run_in_terminal(home, "get", target, "--study", study, columns=40)
    assert code == 0, output
    bars = bar_lines(output, "C-GET")
    assert bars and all(len(b) < 40 for b in bars), output  # a wrapped line could not be redrawn in place
    assert bars[-1].endswith(f"] {INSTANCES}/{INSTANCES}") and "#" * 10 in bars[-1], output
    assert f"get: {INSTANCES} completed, 0 failed, 0 warning (final status 0x0000)" in screen_lines(output)
    # --json prints no bar, even on a terminal.
    code, output = run_in_terminal(home, "get", target, "--study", study, "--json")
    assert code == 0 and "C-GET [" not in output and '"completed": 24' in output, output


def test_ctrl_c_ends_the_bar_line_first(orthanc, study, storescp_factory, scu_ports, home):
    # A destination that takes a second per instance: the move is still running when Ctrl-C comes.
    storescp_factory(ae_title="TESTSCU", port=scu_ports["TESTSCU"], extra_args=["--sleep-during", "1"])
    target = f"{orthanc.ae_title}@{orthanc.host}:{orthanc.port}"
    code, output = run_in_terminal(home, "move", target, "--dest", "TESTSCU", "--study", study,
                                   interrupt_at="C-MOVE to TESTSCU [")
    assert code == 130, output
    shown = screen_lines(output)
    assert "dicomtui: interrupted" in shown, output  # on a line of its own, not after the bar
    assert shown[shown.index("dicomtui: interrupted") - 1].startswith("C-MOVE to TESTSCU ["), output
    assert "Traceback" not in output
