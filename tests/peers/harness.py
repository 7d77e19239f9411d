"""Process plumbing for tests that talk to real DICOM peers (dcmtk, Orthanc).

Everything runs on 127.0.0.1 with free ports. Every process is started in its own session (so in its own
process group) and is stopped by PID / process group, never by name. Processes that are still registered
when the interpreter exits are killed by an ``atexit`` hook, so an interrupted test run leaves nothing behind.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
DCMTK_BIN = Path("/usr/bin")
ORTHANC_BIN = Path("/usr/sbin/Orthanc")
SETPRIV = Path("/usr/bin/setpriv")  # util-linux; optional

# dcmtk tools are slow on loopback with Nagle's algorithm on; every dcmtk tool we run gets this.
DCMTK_ENV = {"TCP_NODELAY": "1"}


class PeerError(RuntimeError):
    """A peer process could not be started or did not come up."""


def dcmtk(name: str) -> str:
    """Absolute path of a dcmtk tool in /usr/bin.

    pynetdicom installs console scripts with the same names (storescp, echoscu, ...) that shadow dcmtk on
    PATH, so dcmtk is always run by absolute path.
    """
    path = DCMTK_BIN / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise PeerError(
            f"dcmtk tool {path} is missing or not executable: install dcmtk (apt-get install dcmtk); "
            "real-peer tests cannot run without it"
        )
    return str(path)


def require_file(path: str | Path, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise PeerError(f"{what} not found at {p}; real-peer tests cannot run without it")
    return p


def dcmtk_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DCMTK_ENV)
    if extra:
        env.update(extra)
    return env


def free_port(host: str = HOST) -> int:
    """A TCP port that is free right now (the kernel picks it; there is a small race until it is bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------------------
# Process wrapper

_live: set[Process] = set()
_live_lock = threading.Lock()


class Process:
    """A child process in its own process group, with stdout+stderr in a log file.

    ``stop()`` sends SIGTERM to the whole group, waits ``grace`` seconds, then SIGKILLs the group, which
    also takes care of children forked by the peer (``storescp --fork``, ``dcmqrscp``, ``wlmscpfs``).

    With ``die_with_parent`` (default) the command runs under ``setpriv --pdeathsig KILL`` (same PID, setpriv
    execs it), so the peer dies even if pytest itself is SIGKILLed and no finalizer or atexit hook runs.
    The kernel sends that signal when the *thread* that started the process exits: start long-lived peers
    from the main thread (fixtures do), or pass ``die_with_parent=False``.
    """

    def __init__(
        self,
        argv: Sequence[str | os.PathLike[str]],
        *,
        name: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.argv = [str(a) for a in argv]
        self.name = name or Path(self.argv[0]).name
        launch = list(self.argv)
        if die_with_parent and SETPRIV.exists():
            launch = [str(SETPRIV), "--pdeathsig", "KILL", "--", *launch]
        if log_dir is None:
            log_dir = tempfile.mkdtemp(prefix=f"peer-{self.name}-")
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        fd, log_path = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".log", dir=log_dir)
        os.close(fd)
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        try:
            self.popen = subprocess.Popen(
                launch,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,  # own session => own process group, pgid == pid
            )
        except OSError as exc:
            self._log.close()
            raise PeerError(f"cannot start {self.argv[0]}: {exc}") from exc
        self.pid = self.popen.pid
        self.pgid = self.pid
        self.started_at = time.monotonic()
        with _live_lock:
            _live.add(self)

    def __repr__(self) -> str:
        return f"<Process {self.name} pid={self.pid} rc={self.popen.returncode}>"

    def poll(self) -> int | None:
        return self.popen.poll()

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def log_text(self, limit: int = 20_000) -> str:
        """The tail of the process log (stdout and stderr), for failure messages."""
        try:
            self._log.flush()
        except (ValueError, OSError):
            pass
        try:
            data = self.log_path.read_bytes()
        except OSError as exc:
            return f"<log unreadable: {exc}>"
        text = data[-limit:].decode("utf-8", "replace")
        return ("...\n" if len(data) > limit else "") + text

    def describe(self) -> str:
        rc = self.popen.poll()
        state = "running" if rc is None else f"exited with {rc}"
        return (
            f"{self.name} (pid {self.pid}, {state})\n  argv: {' '.join(self.argv)}\n"
            f"  log {self.log_path}:\n{self.log_text()}"
        )

    def _signal_group(self, sig: int) -> bool:
        try:
            os.killpg(self.pgid, sig)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return False

    def stop(self, grace: float = 3.0) -> int | None:
        """SIGTERM the process group, wait up to ``grace`` s, then SIGKILL the group. Idempotent."""
        if self.popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # Kill whatever is left in the group (the leader if it ignored SIGTERM, forked children), and wait
        # until it is really gone: SIGKILL is asynchronous.
        if self._signal_group(signal.SIGKILL):
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover - a process that survives SIGKILL
                pass
            deadline = time.monotonic() + 5
            while group_alive(self.pgid) and time.monotonic() < deadline:
                time.sleep(0.01)
        with contextlib.suppress(ValueError, OSError):
            self._log.close()
        with _live_lock:
            _live.discard(self)
        return self.popen.returncode


def _stop_all_at_exit() -> None:
    with _live_lock:
        procs = list(_live)
    for p in procs:
        with contextlib.suppress(Exception):
            p.stop(grace=1.0)


atexit.register(_stop_all_at_exit)


def group_alive(pgid: int) -> bool:
    """True if any process of the process group still exists (zombies excluded as far as we can tell)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg succeeds for zombies too: look for a live member in /proc.
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


# ---------------------------------------------------------------------------------------------------------
# Waiting for a peer to come up


def wait_for_port(host: str, port: int, timeout: float = 10.0, *, process: Process | None = None) -> None:
    """Wait until a TCP connect to host:port succeeds; fail early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    last: OSError | None = None
    while True:
        if process is not None and process.poll() is not None:
            raise PeerError(f"{process.name} exited before listening on {host}:{port}\n{process.describe()}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as exc:
            last = exc
        if time.monotonic() >= deadline:
            msg = f"nothing listens on {host}:{port} after {timeout:.1f} s ({last})"
            if process is not None:
                msg += "\n" + process.describe()
            raise PeerError(msg)
        time.sleep(0.02)


@dataclass(frozen=True)
class EchoResult:
    """Outcome of one dcmtk echoscu run.

    ``ok`` needs both exit code 0 and a success response: echoscu 3.6.7 exits 0 even when the association
    was accepted and then aborted by the peer instead of answering the C-ECHO.
    """

    ok: bool
    returncode: int
    output: str
    rejected: bool  # the peer sent an A-ASSOCIATE-RJ
    reject_result: str | None = None  # e.g. "Rejected Permanent"
    reject_source: str | None = None  # e.g. "Service User"
    reject_reason: str | None = None  # e.g. "Called AE Title Not Recognized"


def echo(
    host: str,
    port: int,
    called_ae: str,
    calling_ae: str = "TESTSCU",
    *,
    timeout: float = 2.0,
    extra_args: Sequence[str] = (),
) -> EchoResult:
    """Run /usr/bin/echoscu once (verbose) and report what happened; never raises on a DICOM failure."""
    t = str(max(1, int(round(timeout))))
    argv = [
        dcmtk("echoscu"),
        "-v",
        "-to",
        t,
        "-ta",
        t,
        "-td",
        t,
        "-aet",
        calling_ae,
        "-aec",
        called_ae,
        *extra_args,
        host,
        str(port),
    ]
    res = subprocess.run(
        argv, env=dcmtk_env(), capture_output=True, text=True, timeout=timeout + 5, stdin=subprocess.DEVNULL
    )
    out = res.stdout + res.stderr
    rejected = "Association Rejected" in out
    result = source = reason = None
    m = re.search(r"Result: (.+?), Source: (.+)", out)
    if m:
        result, source = m.group(1).strip(), m.group(2).strip()
    m = re.search(r"Reason: (.+)", out)
    if m:
        reason = m.group(1).strip()
    ok = res.returncode == 0 and "Received Echo Response (Success)" in out
    return EchoResult(ok, res.returncode, out, rejected, result, source, reason)


def wait_for_echo(
    host: str,
    port: int,
    called_ae: str,
    calling_ae: str = "TESTSCU",
    *,
    timeout: float = 10.0,
    process: Process | None = None,
) -> float:
    """Retry C-ECHO (dcmtk echoscu) until it succeeds; return the seconds it took.

    Raises PeerError with the peer's log if it never answers or its process dies.
    """
    # No bare TCP probe first: dcmtk servers log an error for a connection that sends no PDU.
    start = time.monotonic()
    deadline = start + timeout
    last: EchoResult | None = None
    while True:
        if process is not None and process.poll() is not None:
            raise PeerError(f"{process.name} exited before answering C-ECHO\n{process.describe()}")
        last = echo(host, port, called_ae, calling_ae, timeout=1.0)
        if last.ok:
            return time.monotonic() - start
        if last.rejected:  # it is up but refuses us: waiting longer will not help
            msg = (
                f"{called_ae}@{host}:{port} rejected the C-ECHO association from {calling_ae}: "
                f"{last.reject_result}, {last.reject_source}, {last.reject_reason}"
            )
            if process is not None:
                msg += "\n" + process.describe()
            raise PeerError(msg)
        if time.monotonic() >= deadline:
            msg = (
                f"no C-ECHO answer from {called_ae}@{host}:{port} within {timeout:.1f} s; "
                f"last echoscu rc={last.returncode}: {last.output.strip()}"
            )
            if process is not None:
                msg += "\n" + process.describe()
            raise PeerError(msg)
        time.sleep(0.05)
