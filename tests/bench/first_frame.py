"""Time from start to the first frame of the Nodes screen, against a bare Textual app.

    python tests/bench/first_frame.py [--runs N]

Each run starts the command in a detached tmux session at 80x24 and polls the pane every
5 ms until the expected text is on screen. The bare app (one Static, nothing else) is the
floor set by Python and Textual; the ratio is what dicomtui adds. Needs tmux.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_APP = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("bare app ready")
Bare().run()
"""

CONFIG = "".join(
    f'[[nodes]]\nname = "node{i}"\nae_title = "NODE{i}"\nhost = "127.0.0.1"\nport = {10400 + i}\n\n'
    for i in range(20)
)


def first_frame(command: list[str], marker: str, env: dict[str, str]) -> float:
    session = f"firstframe{time.monotonic_ns()}"
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    shell = f"env {exports} " + " ".join(command)
    started = time.perf_counter()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", shell], check=True)
    try:
        while True:
            pane = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                  capture_output=True, text=True).stdout
            if marker in pane:
                return time.perf_counter() - started
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"{marker!r} never appeared:\n{pane}")
            time.sleep(0.005)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        config = tmp / "config.toml"
        config.write_text(CONFIG)
        bare = tmp / "bare.py"
        bare.write_text(BARE_APP)
        env = {"XDG_CONFIG_HOME": str(tmp / "c"), "XDG_DATA_HOME": str(tmp / "d"), "TERM": "xterm-256color"}
        python = sys.executable
        cases = {
            "bare Textual app": ([python, str(bare)], "bare app ready"),
            "dicomtui, 20 nodes": ([python, "-m", "dicomtui", "--config", str(config)], "Never echoed"),
        }
        results: dict[str, list[float]] = {name: [] for name in cases}
        # One idle session keeps the tmux server up between runs, so no run pays for its start.
        keep = f"firstframe-keep{time.monotonic_ns()}"
        subprocess.run(["tmux", "new-session", "-d", "-s", keep, "sleep 600"], check=True)
        try:
            for _ in range(args.runs):  # interleaved, so drift hits both alike
                for name, (command, marker) in cases.items():
                    results[name].append(first_frame(command, marker, env))
        finally:
            subprocess.run(["tmux", "kill-session", "-t", keep], capture_output=True)
    medians = {name: statistics.median(times) for name, times in results.items()}
    for name, times in results.items():
        print(f"{name:22} median {medians[name]:.3f} s  (min {min(times):.3f}, max {max(times):.3f}, "
              f"{len(times)} runs)")
    bare_median, app_median = medians.values()
    print(f"ratio dicomtui / bare app: {app_median / bare_median:.2f}")


if __name__ == "__main__":
    main()
