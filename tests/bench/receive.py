"""Receiving: dcmtk storescu into `dicomtui serve` versus into dcmtk storescp, same run.

    python tests/bench/receive.py [--runs 3] [--no-big] [--layout series|studies]

200 instances of 512 KB, sent by dcmtk storescu with TCP_NODELAY=1, by one sender and by
four at once; each receiver gets a fresh folder per run. By default they are the slices of
one CT series (512x512x16 bit: what 512 KB instances are); `--layout studies` makes each its
own study, as earlier versions of this benchmark did, which costs a receiver that files by
study and series two new folders per instance (storescp writes every file into one folder).
Then the peak RSS of `dicomtui serve` while it receives one 1 GiB instance. Medians of wall time; needs dcmtk.
Extra [receiver] settings for `dicomtui serve` come from the environment, for example
BENCH_RECEIVER='fsync = false' to compare at storescp's durability.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_processes import ENV, STORESCP, STORESCU, free_port, stop, wait_port  # noqa: E402 - next to this script


def start(kind: str, folder: Path, port: int, tmp: Path) -> subprocess.Popen:
    if kind == "storescp":
        argv = [STORESCP, "--fork", "--aetitle", "BENCH", "-od", str(folder), str(port)]
    else:
        config = tmp / "bench.toml"
        config.write_text("[receiver]\nmax_associations = 16\nmin_free_mb = 0\n" + os.environ.get("BENCH_RECEIVER", ""))
        argv = [sys.executable, "-m", "dicomtui", "--config", str(config), "serve", "--ae", "BENCH",
                "--port", str(port), "--bind", "127.0.0.1", "--storage", str(folder)]
    env = {**ENV, "XDG_CONFIG_HOME": str(tmp / "c"), "XDG_DATA_HOME": str(tmp / "d")}
    if kind == "storescp":
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port, process)
        return process
    # serve listens at once and queues connections until its worker processes have started (they import the
    # DICOM stack): timing from the open port would count that start-up. Its "listening as" line says ready.
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready = threading.Event()

    def drain() -> None:  # serve logs a line per instance: read them all, or it would block
        for line in process.stdout:
            if "listening as" in line:
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(30) or process.poll() is not None:
        raise RuntimeError("dicomtui serve did not start")
    return process




def send(port: int, groups: list[list[Path]], nodelay: bool = True) -> float:
    started = time.perf_counter()
    env = ENV if nodelay else {k: v for k, v in ENV.items() if k != "TCP_NODELAY"}
    senders = [subprocess.Popen([STORESCU, "-aec", "BENCH", "127.0.0.1", str(port), *map(str, files)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for files in groups]
    for sender in senders:
        _, err = sender.communicate()
        if sender.returncode != 0:
            raise RuntimeError(f"storescu failed: {err.decode()[-500:]}")
    return time.perf_counter() - started


def count_dcm(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
               and ".incoming" not in p.parts and not p.name.endswith(".sqlite3")
               and not p.name.endswith((".sqlite3-wal", ".sqlite3-shm")))


def rss_peak_kib(pid: int) -> int:
    """The largest peak RSS of serve and its worker processes (the workers receive the data)."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(child) for child in (task / "children").read_text().split()]
    peaks = []
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    return max(peaks, default=0)


def main() -> None:
    from dicomtui.dicom.synthetic import make_instance_of_size

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-big", action="store_true", help="skip the 1 GiB instance")
    parser.add_argument("--layout", choices=("series", "studies"), default="series",
                        help="one CT series of 200 slices (default), or 200 one-instance studies")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dicomtui-bench-") as folder:
        tmp = Path(folder)
        source = tmp / "source"
        source.mkdir()
        files = []
        from pydicom.uid import generate_uid

        study, series = generate_uid(), generate_uid()
        for i in range(200):
            path = source / f"{i:03}.dcm"
            ds = make_instance_of_size(512 * 1024, seed=7, index=i)
            if args.layout == "series":
                ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.InstanceNumber = study, series, i + 1
            ds.save_as(path, enforce_file_format=True)
            files.append(path)
        total_mb = sum(p.stat().st_size for p in files) / 1e6
        results: dict[tuple[str, int], list[float]] = {}
        for _ in range(args.runs):
            for senders in (1, 4):
                groups = [files[i::senders] for i in range(senders)]
                for kind in ("storescp", "dicomtui serve"):
                    target = tmp / "received"
                    shutil.rmtree(target, ignore_errors=True)
                    target.mkdir()
                    port = free_port()
                    process = start(kind, target, port, tmp)
                    try:
                        seconds = send(port, groups)
                    finally:
                        stop(process)
                    got = count_dcm(target)
                    if got != len(files):
                        raise RuntimeError(f"{kind} holds {got} of {len(files)} instances")
                    results.setdefault((kind, senders), []).append(seconds)
        layout = "one series" if args.layout == "series" else "200 studies"
        print(f"200 instances of 512 KB ({total_mb:.0f} MB, {layout}), dcmtk storescu with TCP_NODELAY=1, "
              f"median of {args.runs} runs:")
        for senders in (1, 4):
            dcmtk = statistics.median(results[("storescp", senders)])
            ours = statistics.median(results[("dicomtui serve", senders)])
            print(f"  {senders} sender(s): storescp {total_mb / dcmtk:6.1f} MB/s, dicomtui serve "
                  f"{total_mb / ours:6.1f} MB/s, ratio {dcmtk / ours:.2f}x of storescp's rate")
        # Most senders (dcmtk with its defaults, many modalities) leave Nagle on: then the receiver's
        # delayed acknowledgements decide the pace.
        small = []
        (tmp / "small").mkdir()
        for i in range(1000):
            path = tmp / "small" / f"{i:04}.dcm"
            make_instance_of_size(20 * 1024, seed=8, index=i).save_as(path, enforce_file_format=True)
            small.append(path)
        for kind in ("storescp", "dicomtui serve"):
            target = tmp / f"received-small-{kind.replace(' ', '-')}"
            target.mkdir()
            port = free_port()
            process = start(kind, target, port, tmp)
            try:
                seconds = send(port, [small], nodelay=False)
            finally:
                stop(process)
            print(f"  1,000 instances of 20 KB, storescu without TCP_NODELAY, into {kind}: {seconds:.1f} s "
                  f"({1000 / seconds:.0f} per second)")
        if not args.no_big:
            big = tmp / "big.dcm"
            make_instance_of_size(1 << 30, seed=9).save_as(big, enforce_file_format=True)
            target = tmp / "received-big"
            target.mkdir()
            port = free_port()
            process = start("dicomtui serve", target, port, tmp)
            try:
                seconds = send(port, [[big]])
                peak = rss_peak_kib(process.pid)
            finally:
                stop(process)
            print(f"  one 1 GiB instance: {seconds:.1f} s, peak RSS of a dicomtui serve process {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
