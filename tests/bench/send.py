"""Sending: `dicomtui send --json` versus dcmtk storescu (TCP_NODELAY=1), both into dcmtk storescp --fork, same run.

    python tests/bench/send.py [--runs 3] [--rss-only]

200 instances of 512 KB with --parallel 1 and 4 (storescu: 1 and 4 processes with a share of
the files each), then 2,000 instances of 20 KB with --parallel 1 and 4; then the peak RSS of
`dicomtui send` sending one 1 GiB instance (target: under 150 MB), alone with --rss-only. Each sender gets a
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


def peak_rss_of_send(tmp: Path) -> tuple[int, int, float]:
    """Peak RSS (KiB) of `dicomtui send` sending one 1 GiB instance into storescp --fork: VmHWM sampled from
    /proc/PID/status while it runs, and ru_maxrss from os.wait4 once it exits; plus the wall time.

    ru_maxrss also counts the memory the child had between fork and exec (Linux keeps that high-water mark
    across exec), so the 1 GiB instance is made in a process of its own: this one must stay small."""
    folder, home, target = tmp / "huge", tmp / "rss-home", tmp / "rss-received"
    for path in (folder, home, target):
        path.mkdir()
    subprocess.run([sys.executable, "-c", "import sys; from dicomtui.dicom.synthetic import make_instance_of_size; "
                    "make_instance_of_size(1 << 30, seed=9).save_as(sys.argv[1], enforce_file_format=True)",
                    str(folder / "huge.dcm")], check=True)
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "c"), "XDG_DATA_HOME": str(home / "d")}
    port = free_port()
    storescp = start_storescp(target, port)
    try:
        with open(home / "out", "w+b") as out, open(home / "err", "w+b") as err:
            started = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "dicomtui", "send", f"BENCH@127.0.0.1:{port}",
                                     str(folder), "--json"], env=env, stdout=out, stderr=err)
            hwm, status = 0, Path(f"/proc/{proc.pid}/status")
            while True:  # os.wait4, not proc.poll(), reaps it: its rusage is the one we want
                pid, code, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                for line in status.read_text().splitlines():  # a zombie has no VmHWM: read only while running
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
                time.sleep(0.01)
            seconds = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(code)
            out.seek(0)
            err.seek(0)
            if proc.returncode != 0:
                raise RuntimeError(f"dicomtui send exited {proc.returncode}: {err.read().decode()[-500:]}")
            result = json.loads(out.read())
            if result["sent"] != 1:
                raise RuntimeError(f"dicomtui send: {result}")
    finally:
        stop(storescp)
    stored = [p for p in target.rglob("*") if p.is_file()]
    if len(stored) != 1 or stored[0].stat().st_size < 1 << 30:
        raise RuntimeError(f"storescp did not store the 1 GiB instance: {[p.stat().st_size for p in stored]}")
    return hwm, usage.ru_maxrss, seconds


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
    parser.add_argument("--rss-only", action="store_true", help="only the peak RSS sending a 1 GiB instance")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dicomtui-bench-send-") as tmp_name:
        tmp = Path(tmp_name)
        if not args.rss_only:
            rates(tmp, args.runs)
        hwm, maxrss, seconds = peak_rss_of_send(tmp)
        print(f"1 GiB instance into storescp --fork: peak RSS of dicomtui send {max(hwm, maxrss) / 1024:.1f} MiB "
              f"(VmHWM while running {hwm / 1024:.1f} MiB, ru_maxrss {maxrss / 1024:.1f} MiB; target < 150 MB), "
              f"{seconds:.1f} s", flush=True)


def rates(tmp: Path, runs: int) -> None:
    sets = [("200 x 512 KB", make_files(tmp / "large", 200, 512 * 1024, seed=7)),
            ("2,000 x 20 KB", make_files(tmp / "small", 2000, 20 * 1024, seed=8))]
    for label, files in sets:
        total_mb = sum(p.stat().st_size for p in files) / 1e6
        times: dict[tuple[str, int], list[float]] = {}
        for _ in range(runs):
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
        print(f"{label} ({total_mb:.0f} MB) into storescp --fork, median of {runs} runs:")
        for parallel in (1, 4):
            dcmtk = statistics.median(times[("storescu", parallel)])
            ours = statistics.median(times[("dicomtui send", parallel)])
            print(f"  parallel {parallel}: storescu {total_mb / dcmtk:6.1f} MB/s ({dcmtk:.2f} s), dicomtui send "
                  f"{total_mb / ours:6.1f} MB/s ({ours:.2f} s), ratio {dcmtk / ours:.2f}x of storescu's rate",
                  flush=True)


if __name__ == "__main__":
    main()
