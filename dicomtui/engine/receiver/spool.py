"""Where an incoming C-STORE data set is written while it arrives.

pynetdicom (with STORE_RECV_CHUNKED_DATASET) streams each data set into a
NamedTemporaryFile in the system temp folder. We hand it a Spool instead: a file in the
storage folder's '.incoming' (so the final rename never crosses file systems), that checks
the free-space floor when an instance starts and survives a full disk, so the handler
can answer 0xA700 "Out of resources" instead of pynetdicom aborting the association.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from pynetdicom import dimse_messages

from ...dicom.quick_header import HEAD_BYTES

INCOMING = ".incoming"
_system_factory = dimse_messages.NamedTemporaryFile


class Spool:
    def __init__(self, incoming: Path, min_free_bytes: int):
        self.file = self  # pynetdicom calls .file.flush() after each fragment
        self.error: str | None = None
        self.head = bytearray()  # the file's first bytes, for quick_header.scan
        self._handle = None
        # Raising here would make pynetdicom abort the association without a word to the sender;
        # a Spool that cannot write answers 0xA700 with the reason instead.
        self.name = str(incoming / "unwritable.part")  # never created; pynetdicom unlinks it harmlessly
        try:
            incoming.mkdir(parents=True, exist_ok=True)  # the folder may have been removed under us
            fd, self.name = tempfile.mkstemp(dir=incoming, prefix="rx-", suffix=".part")
            self._handle = os.fdopen(fd, "wb")
            free = shutil.disk_usage(incoming).free
        except OSError as exc:
            self.error = f"cannot write to the storage folder {incoming.parent}: {exc.strerror or exc}"
            return
        if free < min_free_bytes:
            self.error = (f"only {free // 2**20} MB free in the storage folder, under the configured "
                          f"floor of {min_free_bytes // 2**20} MB")

    def write(self, data: Any) -> int:
        if len(self.head) < HEAD_BYTES:
            self.head += data[:HEAD_BYTES - len(self.head)]
        if self.error is None:
            try:
                self._handle.write(data)
            except OSError as exc:
                self._fail(exc)
        return len(data)

    def flush(self) -> None:
        if self.error is None:
            try:
                self._handle.flush()
            except OSError as exc:
                self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        # Keep reading the rest of the data set (pynetdicom must stay in step with the
        # peer) but stop writing, and give the space back at once.
        self.error = f"cannot write to the storage folder: {exc.strerror or exc}"
        try:
            self._handle.truncate(0)
        except OSError:
            pass

    def sync(self) -> None:
        """Make the bytes durable before the instance is renamed into the archive."""
        assert self._handle is not None, "only a Spool without error is synced"
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def discard(self) -> None:
        """Close and remove the temp file if it is still there (it is gone once placed)."""
        self.close()
        try:
            os.unlink(self.name)
        except OSError:
            pass

    def close(self) -> None:
        if self._handle is None:
            return
        try:
            self._handle.close()
        except OSError:
            pass


def _factory(*args: Any, **kwargs: Any):
    """Replaces pynetdicom's NamedTemporaryFile: a Spool for our receivers' associations,
    the ordinary temp file for anything else in the process (a C-GET as SCU, say)."""
    dul = threading.current_thread()
    receiver = getattr(getattr(getattr(dul, "assoc", None), "ae", None), "dicomtui_receiver", None)
    if receiver is None:
        return _system_factory(*args, **kwargs)
    spool = Spool(receiver.incoming, receiver.settings.min_free_bytes)
    receiver.spool_started(dul.assoc, spool)
    return spool


def install() -> None:
    """Turn on chunked receiving through Spools (idempotent; affects this process)."""
    from pynetdicom import _config

    _config.STORE_RECV_CHUNKED_DATASET = True
    dimse_messages.NamedTemporaryFile = _factory
    _config.VALIDATORS["UI"] = _lenient_uid


_CONTROL_OR_BACKSLASH = re.compile(r"[\x00-\x1f\\]")


def _lenient_uid(value: str) -> tuple[bool, str]:
    """pynetdicom aborts the association on a UID over 64 characters in a request, and the
    sender never learns why. Such instances exist in the wild; we store them under a hashed
    name (storing.safe_component) instead of losing them. Text must still be plain ASCII."""
    if not isinstance(value, str) or not value:
        return False, "must be a non-empty str"
    if not value.isascii() or _CONTROL_OR_BACKSLASH.search(value):
        return False, "must be ASCII without control characters or backslashes"
    if len(value) > 256:
        return False, "must not exceed 256 characters"
    return True, ""


def sweep(incoming: Path) -> int:
    """Remove what a crash or an abort left in '.incoming'; the count, for the log."""
    incoming.mkdir(parents=True, exist_ok=True)
    removed = 0
    for leftover in incoming.iterdir():
        if leftover.is_file():
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed
