"""Starters for dcmtk 3.6.7 peers: storescp, dcmqrscp, wlmscpfs; plus worklist file preparation.

dcmtk 3.6.7 cannot bind to a single address, so the servers listen on all interfaces on a high free port;
tests always talk to them on 127.0.0.1. Every tool is run from /usr/bin (see ``harness.dcmtk``).
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .harness import HOST, PeerError, Process, dcmtk, dcmtk_env, free_port, wait_for_echo, wait_for_port

DCMTK_WORKLIST_EXAMPLES = Path("/usr/share/doc/dcmtk/examples/wlistdb/OFFIS")


@dataclass
class DcmtkPeer:
    """A running dcmtk server. ``stop()`` is idempotent."""

    ae_title: str
    host: str
    port: int
    process: Process
    startup_seconds: float = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def log_text(self) -> str:
        return self.process.log_text()

    def stop(self) -> None:
        self.process.stop()


@dataclass
class StoreSCP(DcmtkPeer):
    output_dir: Path = field(default_factory=Path)

    def received(self) -> list[Path]:
        """Files storescp has written so far (sorted), ignoring its temporary partial files."""
        return sorted(p for p in self.output_dir.rglob("*") if p.is_file() and not p.name.startswith("."))


@dataclass
class QRSCP(DcmtkPeer):
    """dcmqrscp: a Q/R archive (C-FIND, C-MOVE, C-GET, C-STORE) with one storage area."""

    storage_dir: Path = field(default_factory=Path)
    config_path: Path = field(default_factory=Path)
    known_peers: dict[str, tuple[str, int]] = field(default_factory=dict)

    def store(self, files: Iterable[Path], calling_ae: str = "TESTSCU") -> None:
        """Send files to this archive with dcmtk storescu."""
        store_files(self.host, self.port, self.ae_title, files, calling_ae=calling_ae)


@dataclass
class WorklistSCP(DcmtkPeer):
    """wlmscpfs: answers Modality Worklist C-FIND from ``.wl`` files in ``ae_dir`` (read on each query)."""

    database_dir: Path = field(default_factory=Path)
    ae_dir: Path = field(default_factory=Path)


# ---------------------------------------------------------------------------------------------------------


def _start(
    name: str,
    argv: Sequence[str],
    *,
    ae_title: str,
    port: int,
    log_dir: Path,
    cwd: Path | None = None,
    wait: bool = True,
    timeout: float = 10.0,
) -> tuple[Process, float]:
    proc = Process(argv, name=name, env=dcmtk_env(), cwd=cwd, log_dir=log_dir)
    seconds = 0.0
    try:
        if wait:
            seconds = wait_for_echo(HOST, port, ae_title, timeout=timeout, process=proc)
        else:
            wait_for_port(HOST, port, timeout, process=proc)
    except BaseException:
        proc.stop()
        raise
    return proc, seconds


def start_storescp(
    tmp_path: Path,
    ae_title: str = "STORESCP",
    *,
    port: int | None = None,
    fork: bool = False,
    accept_all: bool = True,
    extra_args: Sequence[str] = (),
    wait: bool = True,
) -> StoreSCP:
    """``storescp -aet AE -od DIR [--fork] [+xa] EXTRA PORT``.

    ``accept_all`` adds ``+xa`` (accept every supported transfer syntax, compressed ones included).
    Pass ``wait=False`` for configurations that cannot answer C-ECHO (``--refuse``); the port is still
    waited for.
    """
    port = port or free_port()
    base = Path(tmp_path) / f"storescp-{ae_title}-{port}"
    out = base / "received"
    out.mkdir(parents=True, exist_ok=True)
    argv = [dcmtk("storescp"), "-aet", ae_title, "-od", str(out)]
    if fork:
        argv.append("--fork")
    if accept_all:
        argv.append("+xa")
    argv += [*extra_args, str(port)]
    proc, seconds = _start("storescp", argv, ae_title=ae_title, port=port, log_dir=base, wait=wait)
    return StoreSCP(ae_title, HOST, port, proc, seconds, output_dir=out)


def _symbol(ae: str, i: int) -> str:
    clean = "".join(c.lower() if c.isalnum() else "_" for c in ae)
    return f"peer{i}_{clean}"


def write_dcmqrscp_config(
    path: Path,
    *,
    ae_title: str,
    port: int,
    storage_dir: Path,
    known_peers: Mapping[str, tuple[str, int]],
    restrict_peers: bool = False,
    max_studies: int = 500,
) -> Path:
    """Write a dcmqrscp config: one AETable entry (storage area), a HostTable with the known peers.

    The HostTable is what dcmqrscp uses to resolve C-MOVE destinations. With ``restrict_peers`` the AE only
    accepts associations from the known peers (otherwise ``ANY``).
    """
    lines = [
        f"NetworkTCPPort  = {port}",
        "MaxPDUSize      = 16384",
        "MaxAssociations = 16",
        "",
        "HostTable BEGIN",
    ]
    symbols = []
    for i, (ae, (host, peer_port)) in enumerate(known_peers.items()):
        sym = _symbol(ae, i)
        symbols.append(sym)
        lines.append(f"{sym} = ({ae}, {host}, {peer_port})")
    if symbols:
        lines.append("knownpeers = " + ", ".join(symbols))
    lines += ["HostTable END", "", "VendorTable BEGIN", "VendorTable END", "", "AETable BEGIN"]
    peers = "knownpeers" if (restrict_peers and symbols) else "ANY"
    lines.append(f"{ae_title} {storage_dir} RW ({max_studies}, 1024mb) {peers}")
    lines += ["AETable END", ""]
    path.write_text("\n".join(lines))
    return path


def start_dcmqrscp(
    tmp_path: Path,
    ae_title: str = "DCMQRSCP",
    *,
    known_peers: Mapping[str, tuple[str, int]] | None = None,
    port: int | None = None,
    restrict_peers: bool = False,
    preload: Iterable[Path] = (),
    single_process: bool = False,
    extra_args: Sequence[str] = (),
) -> QRSCP:
    """Start ``dcmqrscp -c CONFIG PORT`` with a fresh storage area.

    ``known_peers`` maps AE title -> (host, port) for C-MOVE destinations. ``preload`` files are copied into
    the storage area and indexed with ``dcmqridx`` before the server starts.
    """
    port = port or free_port()
    known = dict(known_peers or {})
    base = Path(tmp_path) / f"dcmqrscp-{ae_title}-{port}"
    storage = base / "db" / ae_title
    storage.mkdir(parents=True, exist_ok=True)
    config = write_dcmqrscp_config(
        base / "dcmqrscp.cfg",
        ae_title=ae_title,
        port=port,
        storage_dir=storage,
        known_peers=known,
        restrict_peers=restrict_peers,
    )
    preload = list(preload)
    if preload:
        copies = []
        for i, src in enumerate(preload):
            dst = storage / f"pre{i:06d}.dcm"
            shutil.copyfile(src, dst)
            copies.append(str(dst))
        for chunk in range(0, len(copies), 500):
            _run_checked([dcmtk("dcmqridx"), str(storage), *copies[chunk : chunk + 500]], "dcmqridx")
    # -dhl: no reverse lookup, so the HostTable can name peers by IP address (127.0.0.1), which both the
    # access check (restrict_peers) and the C-MOVE destination lookup then match.
    argv = [dcmtk("dcmqrscp"), "-c", str(config), "-dhl"]
    if single_process:
        argv.append("--single-process")
    argv += [*extra_args, str(port)]
    proc, seconds = _start("dcmqrscp", argv, ae_title=ae_title, port=port, log_dir=base, cwd=base)
    return QRSCP(
        ae_title, HOST, port, proc, seconds, storage_dir=storage, config_path=config, known_peers=known
    )


def _run_checked(argv: Sequence[str], what: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        list(argv), env=dcmtk_env(), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if res.returncode != 0:
        raise PeerError(
            f"{what} failed (rc={res.returncode}): {' '.join(argv[:4])} ...\n{res.stdout}{res.stderr}"
        )
    return res


def store_files(
    host: str,
    port: int,
    called_ae: str,
    files: Iterable[Path],
    *,
    calling_ae: str = "TESTSCU",
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Send files with dcmtk ``storescu`` over one association; raise PeerError on failure."""
    paths = [str(f) for f in files]
    if not paths:
        raise ValueError("no files to send")
    argv = [
        dcmtk("storescu"),
        "-aet",
        calling_ae,
        "-aec",
        called_ae,
        "-to",
        "10",
        "-ta",
        "10",
        "-td",
        "30",
        "--required",
        host,
        str(port),
        *paths,
    ]
    return _run_checked(argv, "storescu", timeout=timeout)


def worklist_sources(src_dir: Path = DCMTK_WORKLIST_EXAMPLES) -> list[Path]:
    """The example worklist dumps shipped with dcmtk (``*.dump`` or ``*.dump.gz``)."""
    if not src_dir.is_dir():
        raise PeerError(
            f"dcmtk example worklists not found in {src_dir} (they ship with the dcmtk package's "
            "documentation; make sure /usr/share/doc/dcmtk is not excluded by dpkg path-exclude)"
        )
    sources = sorted(src_dir.glob("*.dump")) + sorted(src_dir.glob("*.dump.gz"))
    if not sources:
        raise PeerError(f"no *.dump or *.dump.gz worklist examples in {src_dir}")
    return sources


def make_worklist_files(out_dir: Path, src_dir: Path = DCMTK_WORKLIST_EXAMPLES) -> list[Path]:
    """Turn dcmtk's example worklist dumps into ``.wl`` files with /usr/bin/dump2dcm."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = []
    for src in worklist_sources(src_dir):
        stem = src.name.removesuffix(".gz").removesuffix(".dump")
        dump = src
        if src.name.endswith(".gz"):
            dump = out_dir / f"{stem}.dump"
            dump.write_bytes(gzip.decompress(src.read_bytes()))
        wl = out_dir / f"{stem}.wl"
        _run_checked([dcmtk("dump2dcm"), "--write-xfer-little", str(dump), str(wl)], "dump2dcm")
        if dump is not src:
            dump.unlink()
        result.append(wl)
    return result


def start_wlmscpfs(
    tmp_path: Path,
    worklist_dir: Path,
    ae_title: str = "WLMSCPFS",
    *,
    port: int | None = None,
    extra_args: Sequence[str] = (),
) -> WorklistSCP:
    """Start ``wlmscpfs -dfp DB PORT``; the ``.wl`` files of ``worklist_dir`` are copied to ``DB/<AE>/``.

    wlmscpfs serves one directory per called AE title and rejects other called AE titles.
    """
    port = port or free_port()
    base = Path(tmp_path) / f"wlmscpfs-{ae_title}-{port}"
    ae_dir = base / "db" / ae_title
    ae_dir.mkdir(parents=True, exist_ok=True)
    for wl in sorted(Path(worklist_dir).glob("*.wl")):
        shutil.copyfile(wl, ae_dir / wl.name)
    (ae_dir / "lockfile").touch()
    argv = [dcmtk("wlmscpfs"), "-dfp", str(base / "db"), *extra_args, str(port)]
    proc, seconds = _start("wlmscpfs", argv, ae_title=ae_title, port=port, log_dir=base, cwd=base)
    return WorklistSCP(ae_title, HOST, port, proc, seconds, database_dir=base / "db", ae_dir=ae_dir)
