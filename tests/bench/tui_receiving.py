"""How quickly the app answers a key while its receiver takes in many small instances.

    python tests/bench/tui_receiving.py [--instances 2000]

The app runs for real in tmux at 80x24 on the Receiver screen, its receiver on a free port;
dcmtk storescu (TCP_NODELAY=1) sends N instances of about 20 KB. Meanwhile the benchmark
presses '?' and 'escape' over and over (tmux send-keys) and times, by polling the pane every
2 ms, how long the help screen takes to appear and to go. Prints the instance rate and the
key latency median and maximum, and the same latencies with nothing being received.
Needs dcmtk and tmux.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pane(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout


def wait(session: str, present: str, absent: bool = False, limit: float = 10.0) -> float:
    started = time.perf_counter()
    while (present in pane(session)) == absent:
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"screen did not change within {limit} s:\n{pane(session)}")
        time.sleep(0.002)
    return time.perf_counter() - started


def key_latency(session: str) -> float:
    subprocess.run(["tmux", "send-keys", "-t", session, "?"], check=True)
    shown = wait(session, "Help: Receiver")
    subprocess.run(["tmux", "send-keys", "-t", session, "Escape"], check=True)
    gone = wait(session, "Help: Receiver", absent=True)
    return (shown + gone) / 2


def main() -> None:
    from dicomtui.dicom.synthetic import make_instance_of_size

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dicomtui-bench-tui-") as folder:
        tmp = Path(folder)
        files = []
        (tmp / "source").mkdir()
        for i in range(args.instances):
            path = tmp / "source" / f"{i:05}.dcm"
            make_instance_of_size(20 * 1024, seed=3, index=i).save_as(path, enforce_file_format=True)
            files.append(path)
        port = free_port()
        config = tmp / "config.toml"
        config.write_text(f'[local]\nport = {port}\nbind = "127.0.0.1"\nstorage = "{tmp / "archive"}"\n\n'
                          "[receiver]\nmin_free_mb = 0\n")
        session = f"bench-tui-{os.getpid()}"
        command = (f"env XDG_CONFIG_HOME={tmp}/c XDG_DATA_HOME={tmp}/d {sys.executable} -m dicomtui "
                   f"--config {config}")
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", command], check=True)
        try:
            wait(session, "Receiver")
            time.sleep(1.0)  # the receiver starts just after the first frame
            subprocess.run(["tmux", "send-keys", "-t", session, "3"], check=True)
            wait(session, "listening")
            idle = [key_latency(session) for _ in range(10)]
            started = time.perf_counter()
            sender = subprocess.Popen(["/usr/bin/storescu", "-aec", "DICOMTUI", "127.0.0.1", str(port),
                                       *map(str, files)], env={**os.environ, "TCP_NODELAY": "1"},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            busy = []
            while sender.poll() is None:
                busy.append(key_latency(session))
                time.sleep(0.05)
            seconds = time.perf_counter() - started
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    rate = args.instances / seconds
    print(f"{args.instances} instances of 20 KB in {seconds:.1f} s ({rate:.0f} per second) into the app's receiver")
    print(f"key to screen change, idle:      median {statistics.median(idle) * 1000:.0f} ms, "
          f"max {max(idle) * 1000:.0f} ms ({len(idle)} presses)")
    print(f"key to screen change, receiving: median {statistics.median(busy) * 1000:.0f} ms, "
          f"max {max(busy) * 1000:.0f} ms ({len(busy)} presses)")


if __name__ == "__main__":
    main()
