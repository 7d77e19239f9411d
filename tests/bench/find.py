"""C-FIND at STUDY level returning 5,000 matches: `dicomtui find --json` versus dcmtk findscu, same run.

    python tests/bench/find.py [--studies 5000] [--runs 3] [--data DIR]

5,000 one-instance studies are written and loaded into an Orthanc once (files and Orthanc's storage are
kept in --data for the next run) and queried by both clients with the same return keys. Not dcmqrscp:
dcmtk 3.6.7 caps a storage area at 500 studies whatever its config says ("maxStudiesPerStorageArea too
large, setting to 500") and its storing child crashed (double free) at the 501st study.
Prints the medians of wall time, the ratio, and the time to the first row
(dicomtui: the first JSON object on stdout; findscu -v: its first "Find Response" line). No assertions.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dicomtui.dicom.synthetic import make_specs, write_instances  # noqa: E402
from tests.peers.harness import HOST, dcmtk_env  # noqa: E402
from tests.peers.orthanc import OrthancPeer, start_orthanc  # noqa: E402

FINDSCU = "/usr/bin/findscu"  # by path: pynetdicom installs a 'findscu' of its own
KEYS = ["PatientName", "PatientID", "StudyDate", "StudyTime", "AccessionNumber", "StudyDescription",
        "ModalitiesInStudy", "StudyInstanceUID", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances"]


def make_data(folder: Path, studies: int) -> list[Path]:
    marker = folder / f"done-{studies}"
    if marker.exists():
        return sorted(folder.rglob("*.dcm"))
    t0 = time.monotonic()
    specs = make_specs(patients=studies, series_per_study=1, instances_per_series=1, modalities=("OT",), seed=777)
    files = write_instances(folder / "files", specs, layout="flat")
    marker.touch()
    print(f"wrote {len(files)} instances in {time.monotonic() - t0:.1f} s")
    return files


def start_archive(data: Path, base: Path, files: list[Path]) -> OrthancPeer:
    """Orthanc with its storage in `data`, so the slow ingest happens once and later runs reuse it."""
    storage = data / "orthanc-storage"
    storage.mkdir(parents=True, exist_ok=True)
    peer = start_orthanc(base, ae_title="BENCH", modalities={"DICOMTUI": (HOST, 1)},
                         extra={"StorageDirectory": str(storage), "IndexDirectory": str(storage)})
    try:
        have = peer.rest("/statistics")["CountStudies"]
        if have < len(files):
            t0 = time.monotonic()
            with ThreadPoolExecutor(8) as pool:  # REST upload, 8 at once: faster than one storescu association
                list(pool.map(lambda f: peer.rest("/instances", method="POST", body=f.read_bytes()), files))
            print(f"loaded {len(files)} instances into Orthanc in {time.monotonic() - t0:.1f} s")
    except BaseException:
        peer.stop(grace=0)
        raise
    return peer


def timed(argv: list[str], env: dict[str, str], first: bytes) -> tuple[float, float | None, bytes]:
    """(wall seconds, seconds to the first occurrence of `first` in the output, output)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0,
                            start_new_session=True)
    chunks, first_at, seen = [], None, b""
    try:
        while True:
            chunk = proc.stdout.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if first_at is None:
                seen = (seen + chunk)[-4096:]
                if first in seen:
                    first_at = time.perf_counter() - t0
        proc.wait(timeout=300)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return time.perf_counter() - t0, first_at, b"".join(chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "dicomtui-bench-find")
    args = parser.parse_args()
    files = make_data(args.data, args.studies)
    with tempfile.TemporaryDirectory(prefix="bench-find-") as tmp:
        base = Path(tmp)
        peer = start_archive(args.data, base, files)
        port = peer.port
        env = {**dcmtk_env(), "XDG_CONFIG_HOME": str(base / "c"), "XDG_DATA_HOME": str(base / "d")}
        ours = [sys.executable, "-m", "dicomtui", "find", f"BENCH@{HOST}:{port}", "--json"]
        theirs = [FINDSCU, "-v", "-S", "-aet", "DICOMTUI", "-aec", "BENCH", "-k", "QueryRetrieveLevel=STUDY",
                  *[arg for key in KEYS for arg in ("-k", key)], HOST, str(port)]
        results: dict[str, list[tuple[float, float | None]]] = {"dicomtui": [], "findscu": []}
        try:
            for run in range(args.runs):
                wall, first, out = timed(ours, env, b"{")
                rows = out.count(b'"StudyInstanceUID"')
                results["dicomtui"].append((wall, first))
                wall2, first2, out2 = timed(theirs, env, b"Find Response")
                responses = out2.count(b"Find Response:")
                results["findscu"].append((wall2, first2))
                print(f"run {run + 1}: dicomtui {wall:.2f} s ({rows} rows, first after {first or 0:.2f} s); "
                      f"findscu {wall2:.2f} s ({responses} responses, first after {first2 or 0:.2f} s)")
        finally:
            peer.stop(grace=0)
    ours_med = statistics.median(w for w, _ in results["dicomtui"])
    theirs_med = statistics.median(w for w, _ in results["findscu"])
    first_ours = statistics.median(f or 0 for _, f in results["dicomtui"])
    first_theirs = statistics.median(f or 0 for _, f in results["findscu"])
    print(f"\nC-FIND STUDY level, {args.studies} matches from Orthanc, medians of {args.runs}:")
    print(f"  dicomtui find --json  {ours_med:6.2f} s   first row after {first_ours:.2f} s")
    print(f"  dcmtk findscu -v      {theirs_med:6.2f} s   first row after {first_theirs:.2f} s")
    print(f"  ratio dicomtui/findscu {ours_med / theirs_med:.2f}x")


if __name__ == "__main__":
    main()
