"""Putting a received instance into the archive: safe names, duplicates, durability, recovery.

Durability with one fsync per instance. An instance streams into a temp file in '.incoming'
created with no permissions at all (mode 000: the file descriptor can still write). Once its
last byte is in, `complete` gives it its final permissions and fsyncs it: the data and that
mode change become durable together. Only then is it renamed into place and Success sent.
The rename itself is not fsynced (it costs a second journal commit, a sixth of a receiver's
time with 512 KB instances): after a power cut it may be undone, but then the complete temp
file is still in '.incoming', readable, and `recover` puts it in place at the next start.
A temp file still at mode 000 was never completed (a crash mid-transfer) and is removed.
So a Success is never lost, and no partial file ever reaches the archive.
"""

from __future__ import annotations

import filecmp
import hashlib
import itertools
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def safe_component(value: object) -> str:
    """A path component from a UID only if it is a well-formed UID of at most 64 characters;
    anything else (names, '../..', '/etc/passwd', overlong values) becomes a stable hash."""
    text = str(value or "").strip()
    if _UID.match(text) and len(text) <= 64:
        return text
    return "x" + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]


def relative_path(ds: Dataset, sop_instance_uid: str) -> Path:
    return path_for(ds.get("StudyInstanceUID"), ds.get("SeriesInstanceUID"), sop_instance_uid)


def path_for(study_uid: object, series_uid: object, sop_instance_uid: str) -> Path:
    return Path(safe_component(study_uid), safe_component(series_uid), safe_component(sop_instance_uid) + ".dcm")


@dataclass(frozen=True)
class Placed:
    path: Path  # relative to the storage folder
    duplicate: str  # "", "replaced", "identical", "kept-first"


def _umask() -> int:
    # Read, not set and reset: os.umask(0) would give files other threads create meanwhile the wrong mode.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


FINAL_MODE = (0o666 & ~_umask()) | 0o600  # what the archive's files get; owner-readable marks a complete temp file
_names = itertools.count(1)
_names_lock = threading.Lock()


def new_temp(incoming: Path, prefix: str) -> tuple[int, Path]:
    """A new, empty temp file in `incoming` at mode 000 (not complete), open for writing."""
    with _names_lock:
        number = next(_names)
    path = incoming / f"{prefix}-{os.getpid()}-{number}-{os.urandom(4).hex()}.part"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags, 0), path
    except FileNotFoundError:  # '.incoming' (or the storage folder) was removed under us: make it again
        incoming.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0), path


def complete(fd: int, fsync: bool) -> None:
    """Mark the temp file behind `fd` complete (its final mode) and, with `fsync`, make it durable."""
    os.fchmod(fd, FINAL_MODE)
    if fsync:
        os.fsync(fd)


def complete_path(temp: Path, fsync: bool) -> None:
    """`complete` for a temp file that is not open (its mode first: at 000 only root could open it)."""
    os.chmod(temp, FINAL_MODE)
    if fsync:
        fsync_path(temp)


def is_complete(temp: Path) -> bool:
    try:
        return bool(temp.stat().st_mode & 0o400)
    except OSError:
        return False


def place(temp: Path, storage: Path, relative: Path, duplicates: str, existing: Path | None = None) -> Placed:
    """Move the finished (complete) temp file to `relative`; the temp file is gone afterwards either way.

    `existing` is where the same SOP Instance is stored already (relative), if anywhere: a
    re-sent instance can arrive in another series, and the policy applies to that copy.
    """
    current = storage / (existing or relative)
    final = storage / relative
    duplicate = ""
    if current.exists():
        if current.stat().st_size == temp.stat().st_size and filecmp.cmp(temp, current, shallow=False):
            temp.unlink(missing_ok=True)
            return Placed(existing or relative, "identical")
        if duplicates == "keep-first":
            temp.unlink(missing_ok=True)
            return Placed(existing or relative, "kept-first")
        duplicate = "replaced"
    try:
        os.replace(temp, final)
    except FileNotFoundError:  # the first instance of its series: make the folder then
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
    if duplicate and current != final:
        current.unlink(missing_ok=True)  # the newer copy lives elsewhere now
    return Placed(relative, duplicate)


def fsync_path(folder: Path) -> None:
    """fsync a file or a folder by path (a folder: to make a rename in it durable)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_header(path: Path) -> Dataset:
    """The data set without its pixel data: cheap even for a 1 GiB instance."""
    return dcmread(path, stop_before_pixels=True)


@dataclass
class Recovery:
    recovered: int = 0  # complete instances put in place (their Success was sent; the rename had not lasted)
    removed: int = 0  # partial files of transfers that never ended
    problems: list[str] | None = None


def recover_incoming(storage: Path, incoming: Path, index, duplicates: str) -> Recovery:
    """What a crash or a power cut left in '.incoming': complete instances go into the archive (and its
    index), partial ones are removed. Run once, before anything receives into `storage`."""
    from ...store.archive_index import Received

    incoming.mkdir(parents=True, exist_ok=True)
    result = Recovery(problems=[])
    for leftover in sorted(incoming.iterdir()):
        if not leftover.is_file():
            continue
        if not is_complete(leftover):
            leftover.unlink(missing_ok=True)
            result.removed += 1
            continue
        try:
            ds = read_header(leftover)
            meta = ds.file_meta
            sop = str(meta.get("MediaStorageSOPInstanceUID", "") or ds.get("SOPInstanceUID", "")).strip()
            study, series = str(ds.get("StudyInstanceUID", "")).strip(), str(ds.get("SeriesInstanceUID", "")).strip()
            if not (sop and study and series):
                raise ValueError("it has no SOP Instance, Study or Series UID")
            existing = index.path_of(sop)
            placed = place(leftover, storage, path_for(study, series, sop), duplicates,
                           existing=existing.relative_to(storage) if existing is not None else None)
            if placed.duplicate != "kept-first":
                final = storage / placed.path
                index.add(ds, Received(path=placed.path, size=final.stat().st_size,
                                       transfer_syntax=str(meta.get("TransferSyntaxUID", "")),
                                       calling_ae=str(meta.get("SourceApplicationEntityTitle", "") or "").strip(),
                                       received_at=final.stat().st_mtime))
            result.recovered += 1
        except Exception as exc:  # noqa: BLE001 - left where it is, said, tried again at the next start
            result.problems.append(f"{leftover.name}: {exc}")
    return result


def recovery_report(recovery: Recovery, incoming: Path) -> list[str]:
    """What the receiver's log says of a recovery at start."""
    lines = []
    if recovery.recovered:
        lines.append(f"put {recovery.recovered} complete instance(s) left in {incoming} by an earlier run (a crash "
                     "or power cut before they were renamed into place) into the archive")
    if recovery.removed:
        lines.append(f"removed {recovery.removed} partial file(s) left by an earlier run in {incoming}")
    lines += [f"could not recover {problem}; left in {incoming}" for problem in recovery.problems or []]
    return lines
