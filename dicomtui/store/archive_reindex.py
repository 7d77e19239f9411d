"""Rebuild an archive index from the files in its storage folder.

The new index is built in a separate throw-away db file (no journal, no fsync: it is worthless until it is
complete), then swapped in with ONE transaction on the live db: a crash at any point leaves either the old
index or the new one, never half of one. Swapping rows inside SQLite rather than ``os.replace``-ing the db
file is deliberate: in WAL mode the live file has a -wal/-shm pair that other threads' connections may be
using, and a replaced main file next to a stale -wal is a corrupt database.

Instances the receiver indexed while the walk ran (received at or after its start) are kept from the live
index, and instances found on disk keep the calling AE, peer and receive time the live index knew.

pydicom reads a truncated file without complaint (the last value is just short), so every header is
checked against the file's size, and so is the pixel data element it stopped before.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .archive_index import ArchiveIndex, connect, record_from_dataset, records_received_since, upsert

if TYPE_CHECKING:  # pragma: no cover
    from pydicom import Dataset

REBUILD_PREFIX = ".dicomtui-index.rebuild-"
STALE_REBUILD_SECONDS = 3600
UNDEFINED_LENGTH = 0xFFFFFFFF
# Explicit VR elements whose length field is 4 bytes (after 2 reserved bytes); the others have 2.
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}


@dataclass(frozen=True)
class Skipped:
    path: Path  # relative to the storage folder
    reason: str


@dataclass(frozen=True)
class ReindexResult:
    files: int  # *.dcm files examined
    indexed: int
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False  # the live index was left as it was


class Unusable(Exception):
    """A file that cannot be indexed; str() says why."""


def reindex(
    index: ArchiveIndex, progress: Callable[[int], None] | None = None, cancel: threading.Event | None = None
) -> ReindexResult:
    """Walk ``*.dcm`` under the storage folder (folders and files whose name starts with '.' are skipped: the
    receiver's partial files live there), read each header, and replace the index in one transaction.

    ``progress(n)`` is called after each file with the number examined so far. Files that cannot be
    indexed are listed in the result, never raised.
    """
    started, t0 = time.time(), time.perf_counter()
    index.storage.mkdir(parents=True, exist_ok=True)
    for leftover in index.storage.glob(REBUILD_PREFIX + "*"):  # from a reindex that crashed; a live one
        with contextlib.suppress(OSError):                       # writes its file all the time
            if leftover.stat().st_mtime < started - STALE_REBUILD_SECONDS:
                leftover.unlink()
    fd, name = tempfile.mkstemp(prefix=REBUILD_PREFIX, suffix=".sqlite3", dir=index.storage)
    os.close(fd)
    rebuild = Path(name)
    try:
        files, indexed, skipped = _build(index.storage, rebuild, progress, cancel)
        if cancel is not None and cancel.is_set():
            return ReindexResult(files, 0, skipped, time.perf_counter() - t0, cancelled=True)
        _swap(index, rebuild, started)
    finally:
        rebuild.unlink(missing_ok=True)
    return ReindexResult(files, indexed, skipped, time.perf_counter() - t0)


def _walk(storage: Path, skipped: list[Skipped]) -> Iterator[Path]:
    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename or storage)
        skipped.append(Skipped(where.relative_to(storage) if where.is_relative_to(storage) else where,
                               f"cannot list the folder: {exc.strerror or exc}"))

    for folder, dirs, names in os.walk(storage, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.lower().endswith(".dcm") and not name.startswith("."):
                yield Path(folder, name)


def _build(
    storage: Path, rebuild: Path, progress: Callable[[int], None] | None, cancel: threading.Event | None
) -> tuple[int, int, list[Skipped]]:
    skipped: list[Skipped] = []
    files = indexed = 0
    with connect(rebuild, write=True, fast=True) as conn:
        for path in _walk(storage, skipped):
            if cancel is not None and cancel.is_set():
                break
            files += 1
            rel = path.relative_to(storage)
            try:
                ds, size, mtime = read_header(path)
                record = record_from_dataset(ds, rel.as_posix(), size, _transfer_syntax(ds), received_at=mtime)
            except (Unusable, ValueError) as exc:
                skipped.append(Skipped(rel, str(exc)))
            else:
                dup = conn.execute("SELECT path FROM instance WHERE sop_uid = ?",
                                   (record.instance["sop_uid"],)).fetchone()
                if dup:
                    skipped.append(Skipped(rel, f"same SOPInstanceUID as {dup[0]}, which is indexed"))
                else:
                    upsert(conn, record)
                    indexed += 1
            if progress is not None:
                progress(files)
    return files, indexed, skipped


def _swap(index: ArchiveIndex, rebuild: Path, started: float) -> None:
    with index.connection() as conn:
        conn.execute("ATTACH DATABASE ? AS new", (str(rebuild),))  # ATTACH cannot run inside a transaction
        conn.execute("BEGIN IMMEDIATE")
        late = records_received_since(conn, started)
        conn.execute(
            "UPDATE new.instance SET (calling_ae, peer, received_at) = (SELECT m.calling_ae, m.peer, m.received_at"
            " FROM main.instance m WHERE m.sop_uid = new.instance.sop_uid)"
            " WHERE sop_uid IN (SELECT sop_uid FROM main.instance)"
        )
        for table in ("instance", "series", "study", "patient"):
            conn.execute(f"DELETE FROM main.{table}")
        for table in ("patient", "study", "series", "instance"):
            conn.execute(f"INSERT INTO main.{table} SELECT * FROM new.{table}")
        for record in late:
            upsert(conn, record)
    # The connection is closed, which detaches the rebuild file before it is deleted.


# ---------------------------------------------------------------------------------------------------------
# Reading one file


def _transfer_syntax(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    return str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""


def read_header(path: Path) -> tuple[Dataset, int, float]:
    """(header without pixel data, file size, mtime); Unusable if it is not a complete DICOM Part 10 file."""
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    try:
        stat = path.stat()
        with open(path, "rb") as fp:
            ds = dcmread(fp, stop_before_pixels=True)
            problem = _truncation(fp, ds, stat.st_size)
    except InvalidDicomError:
        raise Unusable("not a DICOM Part 10 file (no 'DICM' prefix)") from None
    except OSError as exc:
        raise Unusable(f"cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # pydicom raises many kinds on damaged files; one bad file must not stop a reindex
        raise Unusable(f"cannot parse: {type(exc).__name__}: {exc}") from None
    if problem:
        raise Unusable(problem)
    return ds, stat.st_size, stat.st_mtime


def _truncation(fp: BinaryIO, ds: Dataset, size: int) -> str | None:
    """Why the file is incomplete, or None. ``fp`` is where dcmread stopped (before the pixel data, if any)."""
    stop = fp.tell()
    tags = list(ds.keys())
    if not tags:
        return "truncated: no data set after the file meta information"
    last = ds.get_item(tags[-1])
    tell, length = getattr(last, "value_tell", None), getattr(last, "length", None)
    if tell is not None and length not in (None, UNDEFINED_LENGTH) and tell + length > size:
        return f"truncated: the file ends inside {last.tag}"
    if stop >= size:  # no pixel data: fine for a report or a presentation state, not for an image
        from pydicom.uid import UID

        if "Rows" in ds or "Image Storage" in UID(str(ds.get("SOPClassUID", ""))).name:
            return "truncated: the file ends before the pixel data"
        return None
    implicit, little = ds.original_encoding
    endian = "<" if little else ">"
    header = fp.read(12)
    if len(header) < 8:
        return "truncated: the file ends inside the pixel data element's header"
    if implicit:
        (length,), start = struct.unpack(endian + "I", header[4:8]), stop + 8
    elif header[4:6] in LONG_VRS:
        if len(header) < 12:
            return "truncated: the file ends inside the pixel data element's header"
        (length,), start = struct.unpack(endian + "I", header[8:12]), stop + 12
    else:
        (length,), start = struct.unpack(endian + "H", header[6:8]), stop + 8
    if length == UNDEFINED_LENGTH:  # encapsulated: the file must end with the sequence delimiter
        fp.seek(size - 8)
        if fp.read(8) != struct.pack(endian + "HHI", 0xFFFE, 0xE0DD, 0):
            return "truncated: the encapsulated pixel data has no end"
    elif start + length > size:
        return f"truncated: the pixel data needs {length} bytes, the file has {max(0, size - start)}"
    return None
