"""How quickly the app answers a key while one of its jobs sends a thousand instances a second and more.

    python tests/bench/tui_sending.py [--instances 12000] [--parallel 4]

The app runs for real in a pseudo-terminal of 80x24 on the Transfers screen (tests/bench/pty_app.py).
A send job of N small instances (about 4 KB) to dcmtk `storescp --fork` (run at the lowest CPU
priority, standing for a PACS on another machine) is queued before the app
starts; the screen offers to resume it, and once the idle latencies are taken 'u' resumes it, so
the job runs from the app (in the app's job process), its progress on screen. Meanwhile the
benchmark presses '?' (help opens) and '?' (it closes) over and over and times each from writing
the key to reading the frame that shows the change. Prints the job's instance rate while keys
were pressed (from the job store) and the key latency median, 90th percentile and maximum, idle
and while sending. Not escape to close: a terminal sends other keys as sequences that start with
ESC, so a lone ESC is only known as such after Textual's ESCDELAY (100 ms), whatever the app does.
Needs dcmtk.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_processes import ENV, STORESCP, free_port, stop, wait_port  # noqa: E402 - next to this script
from pty_app import PtyApp  # noqa: E402


def key_latencies(app: PtyApp) -> list[float]:
    """The help screen opened with '?' and closed with '?': two latencies."""
    opened = app.press("?", "Help: Transfers")
    closed = app.press("?", "Done/Fail/N")
    return [opened, closed]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return (f"median {statistics.median(ordered) * 1000:.0f} ms, 90th percentile {p90 * 1000:.0f} ms, "
            f"max {ordered[-1] * 1000:.0f} ms ({len(ordered)} presses)")


def main() -> None:
    from dicomtui.config.model import Node
    from dicomtui.dicom.synthetic import make_instance_of_size
    from dicomtui.engine.jobs import queue_send
    from dicomtui.store.jobs import JobStore

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=12000)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dicomtui-bench-tx-") as folder:
        tmp = Path(folder)
        source = tmp / "source"
        source.mkdir()
        for i in range(args.instances):
            make_instance_of_size(4 * 1024, seed=5, index=i).save_as(source / f"{i:05}.dcm", enforce_file_format=True)
        port = free_port()
        (tmp / "received").mkdir()
        # At the lowest priority: the peer stands for a PACS on another machine, not for a process that
        # takes the app's CPU away (on two cores storescp's children would otherwise get a third of it).
        scp = subprocess.Popen(["nice", "-n", "19", STORESCP, "--fork", "--aetitle", "BENCH", "-od",
                                str(tmp / "received"), str(port)],
                               env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port, scp)
        env = {"XDG_CONFIG_HOME": str(tmp / "c"), "XDG_DATA_HOME": str(tmp / "d")}
        config = tmp / "config.toml"
        config.write_text(f'[local]\nport = {free_port()}\nbind = "127.0.0.1"\nstorage = "{tmp / "archive"}"\n\n'
                          f'[[nodes]]\nname = "bench"\nae_title = "BENCH"\nhost = "127.0.0.1"\nport = {port}\n')
        store = JobStore(Path(env["XDG_DATA_HOME"]) / "dicomtui" / "jobs.sqlite3")
        job = queue_send(store, "bench", Node("bench", "BENCH", "127.0.0.1", port), "DICOMTUI", [str(source)],
                         parallel=args.parallel)
        app = PtyApp([sys.executable, "-m", "dicomtui", "--config", str(config)], {**ENV, **env})
        try:
            app.wait_for("Nodes")
            app.press("4", "Resume them now?")
            app.press("n", "Done/Fail/N")  # not yet: first the idle latencies
            time.sleep(1.0)
            idle = [t for _ in range(10) for t in key_latencies(app)]
            app.press("u", "Resuming")  # the job runs from the app now
            while store.get(job.id).counts.sent < 200:  # scanned and going
                time.sleep(0.01)
            first = (time.perf_counter(), store.get(job.id).counts.sent)
            cpu_before = cpu_seconds(app.process.pid)
            busy = []
            while store.get(job.id).state == "running" and store.get(job.id).counts.sent < args.instances - 500:
                busy += key_latencies(app)
                time.sleep(0.05)
            last = (time.perf_counter(), store.get(job.id).counts.sent)
            app_cpu = (cpu_seconds(app.process.pid) - cpu_before) / (last[0] - first[0])
            while store.get(job.id).state == "running":
                time.sleep(0.1)
            final = store.get(job.id)
        finally:
            app.stop()
            stop(scp)
    rate = (last[1] - first[1]) / (last[0] - first[0])
    print(f"job {final.state}: {final.counts.sent} of {args.instances} instances of 4 KB sent, "
          f"{rate:.0f} per second while keys were pressed (parallel {args.parallel}, to storescp --fork)")
    print(f"the app's own process used {app_cpu:.0%} of a CPU meanwhile (the job runs in a process of its own)")
    print(f"key to screen change, idle:    {summary(idle)}")
    print(f"key to screen change, sending: {summary(busy)}")
    if final.state != "done":
        print(f"the job ended {final.state}: {final.message}", file=sys.stderr)


if __name__ == "__main__":
    main()
