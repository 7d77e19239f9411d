"""What the benchmarks share: dcmtk by path, free ports, starting and stopping the processes they time."""

from __future__ import annotations

import os
import socket
import subprocess
import time

STORESCP = "/usr/bin/storescp"
STORESCU = "/usr/bin/storescu"  # by path: pynetdicom installs a 'storescu' of its own
ENV = {**os.environ, "TCP_NODELAY": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen) -> None:
    """Until `process` listens on `port` (RuntimeError if it exits or takes over 20 s)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{process.args[0]} did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
