"""Putting files that are already on this machine into the local archive (no network).

Used by `dicomtui demo`; follows the same rules as the receiver: safe names from UIDs,
the duplicate policy, a rename from the storage folder's '.incoming' into place.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ...store.archive_index import ArchiveIndex, Received
from ..receiver.spool import INCOMING
from ..receiver.storing import complete, new_temp, place, read_header, relative_path


@dataclass
class Imported:
    stored: int = 0
    duplicates: int = 0
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def import_files(storage: Path, files: Iterable[Path], *, duplicates: str = "keep-newest",
                 source: str = "import") -> Imported:
    index = ArchiveIndex(storage)
    incoming = storage / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    outcome = Imported()
    for path in files:
        try:
            ds = read_header(path)
            sop_instance = str(ds.SOPInstanceUID)
        except Exception as exc:  # not DICOM, or no SOP Instance UID: listed, never fatal
            outcome.skipped.append((path, str(exc)))
            continue
        handle, temp = new_temp(incoming, "import")
        with open(handle, "wb") as target, open(path, "rb") as origin:
            shutil.copyfileobj(origin, target)
            target.flush()
            complete(target.fileno(), fsync=False)  # demo data: a crash costs nothing that cannot be made again
        placed = place(temp, storage, relative_path(ds, sop_instance), duplicates)
        if placed.duplicate in ("identical", "kept-first"):
            outcome.duplicates += 1
            continue
        final = storage / placed.path
        index.add(ds, Received(path=placed.path, size=final.stat().st_size,
                               transfer_syntax=str(ds.file_meta.TransferSyntaxUID), calling_ae=source,
                               received_at=time.time()))
        outcome.stored += 1
    return outcome
