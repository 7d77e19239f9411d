"""Putting a received instance into the archive: safe names, duplicates, durable rename."""

from __future__ import annotations

import filecmp
import hashlib
import os
import re
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


def place(temp: Path, storage: Path, relative: Path, duplicates: str, fsync: bool,
          existing: Path | None = None) -> Placed:
    """Move the finished temp file to `relative`; the temp file is gone afterwards either way.

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
    if fsync:
        fsync_path(final.parent)
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
