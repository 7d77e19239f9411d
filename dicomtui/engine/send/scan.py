"""Finding the Part 10 files to send and reading only their file meta.

A send streams each data set from disk as it is, so all it needs from a file is what the
C-STORE-RQ and the presentation contexts name (SOP class, SOP instance, transfer syntax) and
where the data set starts. Those are in the group 0002 header, which is always Explicit VR
Little Endian: walking it is a few microseconds, where pydicom's dcmread decodes the whole
header of the data set as well. Anything we cannot read is skipped with a reason, never fatal.
A file cut off inside its data set is found by its element lengths (data_set_end.py) and marked
damaged: the send fails it with that reason instead of streaming half an instance.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .data_set_end import truncation

_FIRST_READ = 4096  # a file meta is usually 200-400 bytes
_MAX_META = 1 << 20  # a larger group 0002 is not a file meta we trust
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_ELEMENT = struct.Struct("<HH2s")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"  # DICOMDIR: an index of media, not an instance


@dataclass(frozen=True)
class DicomFile:
    """A Part 10 file ready to send: its file meta and where its data set starts."""

    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    data_offset: int
    size: int  # of the whole file
    damage: str = ""  # why its data set cannot be whole (data_set_end.py): failed, never sent

    @property
    def data_set_bytes(self) -> int:
        return self.size - self.data_offset


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


@dataclass
class Scan:
    files: list[DicomFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(f.data_set_bytes for f in self.files if not f.damage)


class _NotPart10(Exception):
    """The reason, in words, that a file is not one we can send."""


class _NeedMore(Exception):
    pass


def scan(paths: Iterable[str | os.PathLike], cancel: threading.Event | None = None) -> Scan:
    """Every file under `paths` (folders recursively, in name order), sorted into DICOM files and skipped ones."""
    result = Scan()
    seen: set[Path] = set()
    for given in paths:
        for path in _walk(Path(given), result):
            if cancel is not None and cancel.is_set():
                return result
            key = path.resolve()
            if key in seen:  # the same file named twice (a folder and a file in it, say) is sent once
                continue
            seen.add(key)
            found = read_file_meta(path)
            (result.files if isinstance(found, DicomFile) else result.skipped).append(found)
    return result


def _walk(path: Path, result: Scan) -> Iterable[Path]:
    if path.is_dir():
        # Errors inside the tree (a folder we may not read) are listed rather than ending the scan.
        def unreadable(exc: OSError) -> None:
            result.skipped.append(Skipped(Path(exc.filename or path), f"cannot read the folder ({exc.strerror})"))

        for folder, dirs, names in os.walk(path, onerror=unreadable):
            dirs.sort()
            for name in sorted(names):
                yield Path(folder) / name
    elif path.exists():
        yield path
    else:
        result.skipped.append(Skipped(path, "no such file or folder"))


def read_file_meta(path: Path) -> DicomFile | Skipped:
    """The file's meta (and whether its data set is whole), or the reason it is skipped."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(_FIRST_READ)
            while True:
                try:
                    found = _parse(path, head, size)
                except _NeedMore:
                    if len(head) >= min(size, _MAX_META):
                        raise _NotPart10("the file ends inside its file meta (truncated?)") from None
                    head += f.read(len(head))
                    continue
                damage = truncation(f.fileno(), found.data_offset, size, found.transfer_syntax, head)
                return dataclasses.replace(found, damage=damage) if damage else found
    except _NotPart10 as exc:
        return Skipped(path, str(exc))
    except OSError as exc:
        return Skipped(path, f"cannot read the file ({exc.strerror or exc})")


def _parse(path: Path, head: bytes, size: int) -> DicomFile:
    if size == 0:
        raise _NotPart10("an empty file")
    if len(head) < 132 or head[128:132] != b"DICM":
        raise _NotPart10("not a DICOM Part 10 file (no 'DICM' after the 128-byte preamble)")
    values: dict[int, bytes] = {}
    position = 132
    while True:
        if position + 8 > len(head):
            if position == size:
                break
            raise _NeedMore
        group, element, vr = _ELEMENT.unpack_from(head, position)
        if group != 0x0002:
            break
        if vr in _LONG_VRS:
            if position + 12 > len(head):
                raise _NeedMore
            length, start = _U32.unpack_from(head, position + 8)[0], position + 12
        elif vr.isalpha() and vr.isupper():
            length, start = _U16.unpack_from(head, position + 6)[0], position + 8
        else:
            raise _NotPart10("its file meta is not in Explicit VR Little Endian as Part 10 requires")
        if length == 0xFFFFFFFF or start + length > _MAX_META:
            raise _NotPart10("its file meta has an element we cannot read")
        if start + length > len(head):
            raise _NeedMore
        values[element] = head[start:start + length]
        position = start + length
    sop_class, sop_instance, syntax = (_uid(values.get(e, b"")) for e in (0x0002, 0x0003, 0x0010))
    missing = [name for name, value in (("Media Storage SOP Class UID (0002,0002)", sop_class),
                                        ("Media Storage SOP Instance UID (0002,0003)", sop_instance),
                                        ("Transfer Syntax UID (0002,0010)", syntax)) if not value]
    if missing:
        raise _NotPart10(f"its file meta has no valid {' and no valid '.join(missing)}")
    if sop_class == MEDIA_STORAGE_DIRECTORY:
        raise _NotPart10("a DICOMDIR (an index of the files on a medium), not an instance to send")
    if position >= size:
        raise _NotPart10("the file has a file meta but no data set")
    return DicomFile(path, sop_class, sop_instance, syntax, position, size)


def _uid(raw: bytes) -> str:
    text = raw.rstrip(b"\x00 ").decode("ascii", "replace")
    return text if text and all(c.isdigit() or c == "." for c in text) else ""
