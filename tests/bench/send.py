"""Sending: `dicomtui send --json` versus dcmtk storescu (TCP_NODELAY=1), both into dcmtk storescp --fork, same run.

    python tests/bench/send.py [--runs 3]

200 instances of 512 KB with --parallel 1 and 4 (storescu: 1 and 4 processes with a share of
the files each), then 2,000 instances of 20 KB with --parallel 1 and 4. Each sender gets a
fresh storescp and a fresh folder per run, and the receiving folder is counted afterwards.
dicomtui runs as users run it: the CLI in a process of its own, with an empty data folder
(its job store included) per run. Medians of wall time, MB/s and the ratio to storescu's
rate. Needs dcmtk. No assertions: a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_processes import ENV, STORESCP, STORESCU, free_port, stop, wait_port  # noqa: E402 - next to this script


def start_storescp(folder: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen([STORESCP, "--fork", "--aetitle", "BENCH", "-od", str(folder), str(port)],
                               env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, process)
    return process




def send_storescu(port: int, files: list[Path], senders: int) -> float:
    started = time.perf_counter()
    procs = [subprocess.Popen([STORESCU, "-aec", "BENCH", "127.0.0.1", str(port), *map(str, files[i::senders])],
                              env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i in range(senders)]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"storescu failed: {err.decode()[-500:]}")
    return time.perf_counter() - started


def send_dicomtui(port: int, folder: Path, parallel: int, home: Path) -> float:
    """Wall time of the whole command, start-up and job store included: what a user waits for."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "c"), "XDG_DATA_HOME": str(home / "d")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dicomtui", "send", f"BENCH@127.0.0.1:{port}", str(folder),
                           "--parallel", str(parallel), "--json"], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"dicomtui send exited {done.returncode}: {done.stderr[-500:]}")
    result = json.loads(done.stdout)
    if result["failed"]:
        raise RuntimeError(f"dicomtui send: {result}")
    return seconds


def count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def make_files(folder: Path, count: int, size: int, seed: int) -> list[Path]:
    from dicomtui.dicom.synthetic import make_instance_of_size

    folder.mkdir()
    files = []
    for i in range(count):
        path = folder / f"{i:05}.dcm"
        make_instance_of_size(size, seed=seed, index=i).save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dicomtui-bench-send-") as tmp_name:
        tmp = Path(tmp_name)
        sets = [("200 x 512 KB", make_files(tmp / "large", 200, 512 * 1024, seed=7)),
                ("2,000 x 20 KB", make_files(tmp / "small", 2000, 20 * 1024, seed=8))]
        for label, files in sets:
            total_mb = sum(p.stat().st_size for p in files) / 1e6
            times: dict[tuple[str, int], list[float]] = {}
            for _ in range(args.runs):
                for parallel in (1, 4):
                    for sender in ("storescu", "dicomtui send"):
                        target = tmp / "received"
                        shutil.rmtree(target, ignore_errors=True)
                        target.mkdir()
                        port = free_port()
                        process = start_storescp(target, port)
                        try:
                            if sender == "storescu":
                                seconds = send_storescu(port, files, parallel)
                            else:
                                seconds = send_dicomtui(port, files[0].parent, parallel, tmp / "home")
                        finally:
                            stop(process)
                        got = count_files(target)
                        if got != len(files):
                            raise RuntimeError(f"{sender}: storescp holds {got} of {len(files)} instances")
                        times.setdefault((sender, parallel), []).append(seconds)
            print(f"{label} ({total_mb:.0f} MB) into storescp --fork, median of {args.runs} runs:")
            for parallel in (1, 4):
                dcmtk = statistics.median(times[("storescu", parallel)])
                ours = statistics.median(times[("dicomtui send", parallel)])
                print(f"  parallel {parallel}: storescu {total_mb / dcmtk:6.1f} MB/s ({dcmtk:.2f} s), dicomtui send "
                      f"{total_mb / ours:6.1f} MB/s ({ours:.2f} s), ratio {dcmtk / ours:.2f}x of storescu's rate",
                      flush=True)


if __name__ == "__main__":
    main()
