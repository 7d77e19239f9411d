"""Fixtures and helpers for tests of dicomtui's own receiver against real senders.

``receiver_factory(**settings)`` starts an in-process ``Receiver`` on 127.0.0.1 with a free port and
records every event it emits; ``serve_factory(...)`` runs ``python -m dicomtui serve`` as a subprocess in the
``home`` sandbox. dcmtk tools are always run from /usr/bin with TCP_NODELAY=1, and every process any of
these start is stopped by its PID (or process group) when the test ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydicom import uid

from dicomtui.engine.receiver import Receiver, ReceiverSettings, fast_store

from ..cli_runner import Home
from .harness import HOST, Process, dcmtk, dcmtk_env, free_port, wait_for_echo

RECEIVER_AE = "DICOMTUI"

# dcmtk storescu proposes only uncompressed transfer syntaxes unless told otherwise; these options make it
# propose the file's own syntax in a presentation context of its own, so nothing needs converting.
STORESCU_PROPOSE = {
    uid.ExplicitVRLittleEndian: "-xe",
    uid.ImplicitVRLittleEndian: "-xi",
    uid.ExplicitVRBigEndian: "-xb",
    uid.DeflatedExplicitVRLittleEndian: "-xd",
    uid.JPEGBaseline8Bit: "-xy",
    uid.JPEGExtended12Bit: "-xx",
    uid.JPEGLosslessSV1: "-xs",
    uid.JPEGLSLossless: "-xt",
    uid.JPEGLSNearLossless: "-xu",
    uid.JPEG2000Lossless: "-xv",
    uid.JPEG2000: "-xw",
    uid.RLELossless: "-xr",
}


class Events:
    """Everything a receiver emitted, in order; a listener safe to call from pynetdicom's threads."""

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._changed = threading.Condition()

    def __call__(self, event: Any) -> None:
        with self._changed:
            self._items.append(event)
            self._changed.notify_all()

    @property
    def all(self) -> list[Any]:
        with self._changed:
            return list(self._items)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.all if isinstance(e, kind)]

    def wait_for(self, predicate: Callable[[list[Any]], bool], timeout: float = 10.0, what: str = "") -> list[Any]:
        """Wait until ``predicate(all events)`` holds; fail the test with the events seen so far if not."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self._items):
                left = deadline - time.monotonic()
                if left <= 0:
                    shown = "\n  ".join(repr(e) for e in self._items[-30:])
                    pytest.fail(f"receiver never reported {what or 'the expected events'} within {timeout} s; "
                                f"events:\n  {shown}", pytrace=False)
                self._changed.wait(left)
            return list(self._items)

    def wait_for_kind(self, kind: type, count: int = 1, timeout: float = 10.0) -> list[Any]:
        self.wait_for(lambda items: sum(isinstance(e, kind) for e in items) >= count, timeout,
                      f"{count} {kind.__name__} event(s)")
        return self.of(kind)


@dataclass
class RunningReceiver:
    receiver: Receiver
    events: Events
    settings: ReceiverSettings

    @property
    def port(self) -> int:
        return self.settings.port

    @property
    def storage(self) -> Path:
        return self.settings.storage

    @property
    def incoming(self) -> Path:
        return self.receiver.incoming

    def stored_files(self) -> list[Path]:
        return sorted(self.storage.rglob("*.dcm"))

    def incoming_files(self) -> list[Path]:
        return sorted(p for p in self.incoming.iterdir()) if self.incoming.exists() else []


@pytest.fixture
def receiver_factory(tmp_path: Path) -> Iterator[Callable[..., RunningReceiver]]:
    """``receiver_factory(journal=None, **settings)``: a started in-process Receiver (AE DICOMTUI, 127.0.0.1, free port,
    storage in tmp_path, no free-space floor) whose events are recorded; stopped at the end of the test."""
    started: list[Receiver] = []

    def make(*, start: bool = True, journal: Any = None, **overrides: Any) -> RunningReceiver:
        n = len(started) + 1
        values: dict[str, Any] = dict(ae_title=RECEIVER_AE, port=free_port(), bind=HOST,
                                      storage=tmp_path / f"storage{n}", min_free_bytes=0)
        values.update(overrides)
        settings = ReceiverSettings(**values)
        receiver = Receiver(settings, journal)
        events = Events()
        receiver.subscribe(events)
        running = RunningReceiver(receiver, events, settings)
        if start:
            receiver.start()
            started.append(receiver)
        return running

    yield make
    for receiver in reversed(started):
        receiver.stop(grace=2.0)


# ---------------------------------------------------------------------------------------------------------
# dcmtk storescu


def storescu_argv(port: int, files: Sequence[Path | str], *, propose: str = "-xe", called: str = RECEIVER_AE,
                  calling: str = "STORESCU", extra: Sequence[str] = ()) -> list[str]:
    return [dcmtk("storescu"), "-v", "--required", propose, "-aet", calling, "-aec", called,
            "-to", "10", "-ta", "10", "-td", "60", *extra, HOST, str(port), *map(str, files)]


def run_storescu(port: int, files: Sequence[Path | str], *, timeout: float = 60, **kwargs: Any
                 ) -> subprocess.CompletedProcess[str]:
    """Run storescu to the end (killed by PID if it overruns); output is stdout + stderr."""
    with subprocess.Popen(storescu_argv(port, files, **kwargs), env=dcmtk_env(), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          start_new_session=True) as proc:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            pytest.fail(f"storescu did not finish within {timeout} s:\n{out[-3000:]}", pytrace=False)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


@dataclass
class Senders:
    """storescu processes started in the background, each with a log file; all killed by PID at the end."""

    log_dir: Path
    procs: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start(self, port: int, files: Sequence[Path | str], **kwargs: Any) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"storescu-{len(self.procs)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(storescu_argv(port, files, **kwargs), env=dcmtk_env(),
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.procs.append(proc)
        self.logs.append(log)
        return proc

    def wait(self, timeout: float = 60) -> list[tuple[int, str]]:
        """Return code and output of every sender, in start order."""
        deadline = time.monotonic() + timeout
        results = []
        for proc, log in zip(self.procs, self.logs, strict=True):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"storescu pid {proc.pid} still running after {timeout} s:\n"
                            f"{log.read_text(errors='replace')[-2000:]}", pytrace=False)
            results.append((proc.returncode, log.read_text(errors="replace")))
        return results

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


@pytest.fixture
def senders(tmp_path: Path) -> Iterator[Senders]:
    group = Senders(tmp_path / "senders")
    try:
        yield group
    finally:
        group.kill_all()


# ---------------------------------------------------------------------------------------------------------
# `dicomtui serve` as a subprocess


@dataclass
class Served:
    process: Process
    port: int
    storage: Path
    ae_title: str = RECEIVER_AE

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        """Everything serve wrote so far (stdout and stderr)."""
        return self.process.log_text(limit=1 << 30)


def write_config(home: Home, text: str) -> None:
    home.config.parent.mkdir(parents=True, exist_ok=True)
    home.config.write_text(text, encoding="utf-8")


@pytest.fixture
def serve_factory(home: Home) -> Iterator[Callable[..., Served]]:
    """``serve_factory(storage=None, config="[receiver]\\nmin_free_mb = 0\\n", workers=None, port=None)``:
    `dicomtui serve` (``--workers N`` when given) on 127.0.0.1 and a free port in the ``home`` sandbox, up and
    answering C-ECHO; stopped by PID at the end (its workers stop with it)."""
    started: list[Process] = []

    def make(storage: Path | None = None, config: str = "[receiver]\nmin_free_mb = 0\n",
             workers: int | None = None, port: int | None = None) -> Served:
        write_config(home, config)
        port = port or free_port()
        storage = storage or home.root / f"archive{len(started) + 1}"
        argv = [sys.executable, "-m", "dicomtui", "serve", "--ae", RECEIVER_AE, "--port", str(port),
                "--bind", HOST, "--storage", str(storage)]
        if workers is not None:
            argv += ["--workers", str(workers)]
        proc = Process(argv, name="dicomtui-serve", env=home.env | {"PYTHONUNBUFFERED": "1"}, cwd=home.root,
                       log_dir=home.root / "serve-logs")
        started.append(proc)
        wait_for_echo(HOST, port, RECEIVER_AE, timeout=20, process=proc)
        return Served(proc, port, storage)

    yield make
    for proc in reversed(started):
        proc.stop(grace=5.0)


def flood_with_huge_pdu(sock, pdu_type: int, limit_mib: int = 512, seconds: float = 20) -> tuple[int, str]:
    """Announce a PDU of almost 4 GiB and keep sending zeros: (bytes sent, "closed"|"stalled"|"limit").
    A receiver that bounds PDU lengths closes the connection long before the limit."""
    sock.sendall(bytes([pdu_type, 0]) + (0xFFFFFF00).to_bytes(4, "big"))
    chunk = bytes(1 << 20)
    sent, started = 0, time.monotonic()
    try:
        while sent < limit_mib << 20 and time.monotonic() - started < seconds:
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        return sent, "closed"
    except TimeoutError:
        return sent, "stalled"
    return sent, "limit"


# Instances pydicom ships (uncompressed and compressed); the ones only available by download are skipped.
SHIPPED = (
    "CT_small.dcm",
    "MR_small.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_deflate.dcm",
    "JPEG2000.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_RLE.dcm",
    "SC_rgb_rle.dcm",
    "JPEG-lossy.dcm",
    "JPEG-LL.dcm",
    "emri_small_jpeg_ls_lossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "JPEGLSNearLossless_08.dcm",
    "SC_rgb_jpeg_gdcm.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
)


def copy_shipped(names, out: Path, storable) -> list[Path]:
    """pydicom's test files among `names` for which `storable(ds)` holds, each with its own SOP Instance UID
    (pydicom reuses a few UIDs across files, e.g. MR_small.dcm and MR_small_RLE.dcm: those get a copy in
    `out` with a fresh UID; the pixel data and transfer syntax stay as shipped)."""
    from pydicom import dcmread
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid

    chosen: list[Path] = []
    seen: set[str] = set()
    for name in names:
        found = get_testdata_file(name, download=False)
        if found is None:
            continue
        ds = dcmread(found)
        if not storable(ds):
            continue
        path = Path(found)
        if ds.SOPInstanceUID in seen:
            fresh = generate_uid(entropy_srcs=["dicomtui-test-shipped", name])
            ds.SOPInstanceUID = fresh
            ds.file_meta.MediaStorageSOPInstanceUID = fresh
            path = out / name
            ds.save_as(path, enforce_file_format=True)
            assert dcmread(path).PixelData == dcmread(found).PixelData
        seen.add(str(ds.SOPInstanceUID))
        chosen.append(path)
    return chosen


def tree_hwm_kib(pid: int) -> int:
    """The largest peak RSS among a process and its children (serve's workers receive the data)."""
    return max(vm_hwm_kib(p) for p in [pid, *child_pids(pid)])


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set size of a process (VmHWM in /proc/PID/status), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for pid {pid}")


# ---------------------------------------------------------------------------------------------------------
# `dicomtui serve --workers N`


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (serve's workers), from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return sorted(found)


def served_by_fast_path(monkeypatch) -> list[str]:
    """Record the calling AE title of every association the storage fast path serves."""
    served: list[str] = []
    original = fast_store.StorageAssociation.run

    def run(self):
        served.append(self.calling_ae)
        original(self)

    monkeypatch.setattr(fast_store.StorageAssociation, "run", run)
    return served
