"""Running `python -m dicomtui ...` as a subprocess in a sandbox of its own, as scripts and cron do."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TIMEOUT = 60


@dataclass
class Home:
    """A sandbox: XDG folders and the environment that points at them."""

    root: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DICOMTUI_CONFIG"}
        env["XDG_CONFIG_HOME"] = str(self.root / "config")
        env["XDG_DATA_HOME"] = str(self.root / "data")
        env["PYTHONIOENCODING"] = "utf-8"
        return env

    @property
    def config(self) -> Path:
        return self.root / "config" / "dicomtui" / "config.toml"

    @property
    def state(self) -> Path:
        return self.root / "data" / "dicomtui" / "state.sqlite3"


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def __str__(self) -> str:  # shown by pytest when an assertion fails
        return f"dicomtui {' '.join(self.args)} -> {self.code}\n--- stdout\n{self.out}--- stderr\n{self.err}"


def start(home: Home, args, extra_env: dict[str, str] | None = None) -> tuple[tuple[str, ...], subprocess.Popen]:
    env = home.env | (extra_env or {})
    proc = subprocess.Popen([sys.executable, "-m", "dicomtui", *args], env=env, cwd=home.root,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8")
    return tuple(args), proc


def finish(started) -> Run:
    args, proc = started
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return Run(args, proc.returncode, out, err)


def run(home: Home, *args: str, env: dict[str, str] | None = None) -> Run:
    return finish(start(home, args, env))


def run_all(home: Home, cases: dict[str, tuple], env: dict[str, str] | None = None) -> dict[str, Run]:
    """Start every case at once, then collect: for runs that do not change anything."""
    started = {key: start(home, args, env) for key, args in cases.items()}
    return {key: finish(s) for key, s in started.items()}


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path)


def interrupted_while_connecting(home: Home, args: tuple[str, ...], peer) -> tuple[Run, float]:
    """Start `dicomtui ARGS` against `peer` (a silent listener), send SIGINT once its association request is
    on the way, and return the run and how many seconds it took to end after the signal."""
    import signal
    import time

    args, proc = start(home, args)
    deadline = time.monotonic() + 10
    while peer.accepted == 0:  # the association request is on its way
        assert time.monotonic() < deadline, "dicomtui never connected"
        time.sleep(0.02)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    return Run(args, proc.returncode, out, err), time.monotonic() - sent
