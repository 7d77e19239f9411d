"""Where an incoming C-STORE data set is written while it arrives.

pynetdicom (with STORE_RECV_CHUNKED_DATASET) streams each data set into a
NamedTemporaryFile in the system temp folder. We hand it a Spool instead: a file in the
storage folder's '.incoming' (so the final rename never crosses file systems), that checks
the free-space floor when an instance starts and survives a full disk, so the handler
can answer 0xA700 "Out of resources" instead of pynetdicom aborting the association.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

from pynetdicom import dimse_messages

from ...dicom.quick_header import HEAD_BYTES
from .storing import complete, new_temp

INCOMING = ".incoming"
_system_factory = dimse_messages.NamedTemporaryFile
WRITEBACK_EVERY = 256 * 1024


def _writeback_starter():
    """Linux's sync_file_range(..., SYNC_FILE_RANGE_WRITE): start writing a range to disk without waiting.
    Kicked while an instance is still arriving, the final fsync finds most of it written already
    (measured: its share of a 512 KB instance went from 0.5 to about 0.25 ms). None elsewhere."""
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    return function


_sync_file_range = _writeback_starter()


class Spool:
    def __init__(self, incoming: Path, min_free_bytes: int, fsync: bool = True):
        self.file = self  # pynetdicom calls .file.flush() after each fragment
        self.error: str | None = None
        self.head = bytearray()  # the file's first bytes, for quick_header.scan
        self._handle = None
        self._fsync = fsync
        self._written = 0
        self._kicked = 0  # bytes whose writeback was started
        # Raising here would make pynetdicom abort the association without a word to the sender;
        # a Spool that cannot write answers 0xA700 with the reason instead.
        self.name = str(incoming / "unwritable.part")  # never created; pynetdicom unlinks it harmlessly
        try:
            fd, path = new_temp(incoming, "rx")
            self.name = str(path)
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
                self._written += len(data)
                if self._fsync and _sync_file_range is not None and self._written - self._kicked >= WRITEBACK_EVERY:
                    self._handle.flush()
                    _sync_file_range(self._handle.fileno(), self._kicked, self._written - self._kicked, 2)
                    self._kicked = self._written
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

    def complete(self) -> None:
        """Every byte is in: mark the temp file complete and make it durable (storing.complete) before it is
        renamed into the archive."""
        assert self._handle is not None, "only a Spool without error is completed"
        self._handle.flush()
        complete(self._handle.fileno(), self._fsync)

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
    spool = Spool(receiver.incoming, receiver.settings.min_free_bytes, receiver.settings.fsync)
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
