"""The index of one storage folder: patient / study / series / instance rows in SQLite, for the
receiver's C-FIND, C-MOVE and C-GET SCPs and the archive screens.

The db file lives inside the folder it describes (``<storage>/.dicomtui-index.sqlite3``), so a folder can be
moved or copied with its index, and ``reindex`` can always rebuild it from the files. Like the state db
(store/db.py) it is opened in WAL mode with one short-lived connection per call, so every thread (one per
association) has its own; writes take the write lock up front (BEGIN IMMEDIATE) because a WAL read
transaction that tries to become a writer after another connection committed fails at once instead of
waiting. Text is stored as decoded Unicode (pydicom decodes with each dataset's SpecificCharacterSet), and
every instance keeps its own SpecificCharacterSet.

pydicom is only imported to read files (reindex), so the screens can show counts without loading it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .db import enable_wal, migrate

if TYPE_CHECKING:  # pragma: no cover
    from pydicom import Dataset

    from .archive_reindex import ReindexResult

INDEX_NAME = ".dicomtui-index.sqlite3"

# Each entry upgrades the schema by one version (PRAGMA user_version); never edit a released entry, append.
SCHEMA: list[str] = [
    """
    CREATE TABLE patient (
        pk          INTEGER PRIMARY KEY,
        patient_id  TEXT NOT NULL,
        issuer      TEXT NOT NULL,          -- IssuerOfPatientID: the same ID from two issuers is two patients
        name        TEXT NOT NULL,
        birth_date  TEXT NOT NULL,
        sex         TEXT NOT NULL,
        UNIQUE (patient_id, issuer)
    );
    CREATE TABLE study (
        pk          INTEGER PRIMARY KEY,
        patient_pk  INTEGER NOT NULL REFERENCES patient (pk),
        study_uid   TEXT NOT NULL UNIQUE,
        study_date  TEXT NOT NULL,          -- YYYYMMDD (ACR-NEMA dots removed), '' when absent
        study_time  TEXT NOT NULL,
        accession   TEXT NOT NULL,
        study_id    TEXT NOT NULL,
        description TEXT NOT NULL,
        referring   TEXT NOT NULL
    );
    CREATE INDEX study_patient ON study (patient_pk);
    CREATE INDEX study_date ON study (study_date);
    CREATE INDEX study_accession ON study (accession);
    CREATE TABLE series (
        pk            INTEGER PRIMARY KEY,
        study_pk      INTEGER NOT NULL REFERENCES study (pk),
        series_uid    TEXT NOT NULL UNIQUE,
        modality      TEXT NOT NULL,
        series_number INTEGER,
        description   TEXT NOT NULL,
        body_part     TEXT NOT NULL,
        series_date   TEXT NOT NULL
    );
    CREATE INDEX series_study ON series (study_pk);
    CREATE TABLE instance (
        pk              INTEGER PRIMARY KEY,
        series_pk       INTEGER NOT NULL REFERENCES series (pk),
        sop_uid         TEXT NOT NULL UNIQUE,
        sop_class       TEXT NOT NULL,
        instance_number INTEGER,
        charset         TEXT NOT NULL,      -- SpecificCharacterSet, values joined with a backslash
        path            TEXT NOT NULL,      -- POSIX path relative to the storage folder
        size            INTEGER NOT NULL,
        transfer_syntax TEXT NOT NULL,
        calling_ae      TEXT NOT NULL,
        peer            TEXT NOT NULL,
        received_at     REAL NOT NULL       -- seconds since the epoch
    );
    CREATE INDEX instance_series ON instance (series_pk);
    CREATE INDEX instance_received ON instance (received_at);
    """,
]

# Column -> keyword, per table; the order is the table's column order after its parent pk.
PATIENT_COLUMNS = {"patient_id": "PatientID", "issuer": "IssuerOfPatientID", "name": "PatientName",
                   "birth_date": "PatientBirthDate", "sex": "PatientSex"}
STUDY_COLUMNS = {"study_uid": "StudyInstanceUID", "study_date": "StudyDate", "study_time": "StudyTime",
                 "accession": "AccessionNumber", "study_id": "StudyID", "description": "StudyDescription",
                 "referring": "ReferringPhysicianName"}
SERIES_COLUMNS = {"series_uid": "SeriesInstanceUID", "modality": "Modality", "series_number": "SeriesNumber",
                  "description": "SeriesDescription", "body_part": "BodyPartExamined", "series_date": "SeriesDate"}
INSTANCE_COLUMNS = ("sop_uid", "sop_class", "instance_number", "charset", "path", "size", "transfer_syntax",
                    "calling_ae", "peer", "received_at")
_NUMBERS = {"series_number", "instance_number"}
_DATES = {"study_date", "series_date"}


@dataclass(frozen=True)
class Received:
    """What the receiver knows about an instance besides its dataset."""

    path: Path  # relative to the storage folder (an absolute path inside it is accepted)
    size: int
    transfer_syntax: str
    calling_ae: str = ""
    peer: str = ""
    received_at: float = 0.0  # 0: now


@dataclass(frozen=True)
class Counts:
    patients: int
    studies: int
    series: int
    instances: int
    bytes: int


@dataclass(frozen=True)
class RecentInstance:
    sop_instance_uid: str
    patient_name: str
    patient_id: str
    study_description: str
    study_date: str
    modality: str
    sop_class_uid: str
    size: int
    received_at: float
    calling_ae: str


@dataclass(frozen=True)
class Record:
    """One instance as rows of the four tables, keyed by column name (see the *_COLUMNS above)."""

    patient: dict[str, object]
    study: dict[str, object]
    series: dict[str, object]
    instance: dict[str, object]


class ArchiveIndex:
    """The index of ``storage``; cheap to construct, every call opens and closes its own connection."""

    def __init__(self, storage: Path) -> None:
        self.storage = Path(storage)
        self.db_path = self.storage / INDEX_NAME
        self._keeper: sqlite3.Connection | None = None
        self._lookup: sqlite3.Connection | None = None  # path_of's, opened on first use
        self._lock = threading.Lock()
        self._lookup_lock = threading.Lock()

    @contextmanager
    def connection(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction (engine.archive.query reads through this)."""
        with connect(self.db_path, write=write) as conn:
            self._keep_open()
            yield conn

    def _keep_open(self) -> None:
        # Closing the last connection to a WAL db checkpoints it and deletes the -wal file, with fsyncs: that
        # was half of every add() (1.9 ms -> 1.0 ms). One idle connection, held while this object lives and
        # never used for a statement again, keeps that from happening after every call.
        if self._keeper is None:
            with self._lock:
                if self._keeper is None:
                    keeper = sqlite3.connect(self.db_path, check_same_thread=False)
                    keeper.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # maps the WAL index
                    self._keeper = keeper

    def close(self) -> None:
        """Let go of the idle connection (optional: it also goes when this object is collected)."""
        with self._lock:
            if self._keeper is not None:
                self._keeper.close()
                self._keeper = None
        with self._lookup_lock:
            if self._lookup is not None:
                self._lookup.close()
                self._lookup = None

    def add(self, ds: Dataset, received: Received) -> None:
        """Index ``ds`` (a header is enough); a SOP Instance UID already indexed is replaced, and may move to
        another series, study or patient; parents left empty are removed."""
        record = record_from_dataset(ds, self._relative(received.path), received.size, received.transfer_syntax,
                                     received.calling_ae, received.peer, received.received_at or time.time())
        with self.connection(write=True) as conn:
            upsert(conn, record)

    def add_many(self, items: list[tuple[Dataset, Received]]) -> None:
        """`add` for several instances in one transaction (the receiver's writer batches them)."""
        records = [record_from_dataset(ds, self._relative(r.path), r.size, r.transfer_syntax, r.calling_ae, r.peer,
                                       r.received_at or time.time()) for ds, r in items]
        with self.connection(write=True) as conn:
            for record in records:
                upsert(conn, record)

    def remove(self, sop_instance_uid: str) -> None:
        """Forget an instance (the file is not touched); parents left empty are removed."""
        with self.connection(write=True) as conn:
            chain = _chain(conn, sop_instance_uid)
            conn.execute("DELETE FROM instance WHERE sop_uid = ?", (sop_instance_uid,))
            _prune(conn, [chain] if chain else [])

    def path_of(self, sop_instance_uid: str) -> Path | None:
        # The receiver asks this for every instance it stores (is it here already?): one connection kept
        # for it, instead of opening one per call, which cost 0.5 ms of every instance.
        if self._lookup is None:
            with self.connection():  # creates and migrates the database if needed
                pass
        with self._lookup_lock:
            if self._lookup is None:
                self._lookup = sqlite3.connect(self.db_path, timeout=10, check_same_thread=False)
            row = self._lookup.execute("SELECT path FROM instance WHERE sop_uid = ?", (sop_instance_uid,)).fetchone()
        return self.storage / row[0] if row else None

    def counts(self) -> Counts:
        with self.connection() as conn:
            n = [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("patient", "study", "series")]
            instances, size = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM instance").fetchone()
        return Counts(*n, instances, size)

    def recent(self, limit: int = 50) -> list[RecentInstance]:
        """The newest instances first."""
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT i.sop_uid, p.name, p.patient_id, st.description, st.study_date, se.modality, i.sop_class,"
                " i.size, i.received_at, i.calling_ae FROM instance i JOIN series se ON i.series_pk = se.pk"
                " JOIN study st ON se.study_pk = st.pk JOIN patient p ON st.patient_pk = p.pk"
                " ORDER BY i.received_at DESC, i.pk DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [RecentInstance(*row) for row in rows]

    def reindex(
        self, progress: Callable[[int], None] | None = None, cancel: threading.Event | None = None
    ) -> ReindexResult:
        """Rebuild the index from the ``*.dcm`` files under the folder; see store/archive_reindex.py."""
        from .archive_reindex import reindex

        return reindex(self, progress, cancel)

    def _relative(self, path: Path) -> str:
        # The index never points outside its folder: path_of() results are handed to C-MOVE/C-GET.
        path = Path(path)
        if path.is_absolute():
            try:
                path = path.resolve().relative_to(self.storage.resolve())
            except ValueError:
                raise ValueError(f"{path} is not inside the storage folder {self.storage}") from None
        if ".." in path.parts or not path.parts:
            raise ValueError(f"{path} is not a file path inside the storage folder")
        return path.as_posix()


# ---------------------------------------------------------------------------------------------------------
# Connections and schema


@contextmanager
def connect(path: Path, *, write: bool = False, fast: bool = False) -> Iterator[sqlite3.Connection]:
    """Committed on success, rolled back on error, always closed. ``fast``: no journal, no fsync (for a
    throw-away rebuild file only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10)
    try:
        if fast:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
        else:
            enable_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        _migrate(conn)
        with conn:
            if write:
                conn.execute("BEGIN IMMEDIATE")
            yield conn
    finally:
        conn.close()


def _migrate(conn: sqlite3.Connection) -> None:
    migrate(conn, SCHEMA, newer_ok=True)


# ---------------------------------------------------------------------------------------------------------
# Records


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # the usual case first: an ABC isinstance costs a microsecond per call
        return value.strip(" \0")
    if isinstance(value, Sequence) and not isinstance(value, bytes):  # MultiValue, list
        return "\\".join(_text(v) for v in value)
    return str(value).strip(" \0")


def _column(ds: Dataset, column: str, keyword: str) -> object:
    text = _text(ds.get(keyword))
    if column in _NUMBERS:
        try:
            return int(float(text)) if text else None
        except ValueError:
            return None
    return text.replace(".", "") if column in _DATES else text


def record_from_dataset(ds: Dataset, path: str, size: int, transfer_syntax: str, calling_ae: str = "",
                        peer: str = "", received_at: float = 0.0) -> Record:
    """The rows for one instance; ValueError if a UID that places it in the hierarchy is missing."""
    meta = getattr(ds, "file_meta", None)
    sop_class = _text(ds.get("SOPClassUID")) or _text(meta.get("MediaStorageSOPClassUID") if meta else None)
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        if not _text(ds.get(keyword)):
            raise ValueError(f"the data set has no {keyword}")
    if not sop_class:
        raise ValueError("the data set has no SOPClassUID")
    instance = {
        "sop_uid": _text(ds.get("SOPInstanceUID")), "sop_class": sop_class,
        "instance_number": _column(ds, "instance_number", "InstanceNumber"),
        "charset": _text(ds.get("SpecificCharacterSet")), "path": path, "size": size,
        "transfer_syntax": transfer_syntax, "calling_ae": calling_ae, "peer": peer, "received_at": received_at,
    }
    return Record(
        {c: _column(ds, c, k) for c, k in PATIENT_COLUMNS.items()},
        {c: _column(ds, c, k) for c, k in STUDY_COLUMNS.items()},
        {c: _column(ds, c, k) for c, k in SERIES_COLUMNS.items()},
        instance,
    )


def _upsert_row(conn: sqlite3.Connection, table: str, keys: tuple[str, ...], row: dict[str, object]) -> int:
    cols = list(row)
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in keys)
    sql = (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
           f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates} RETURNING pk")
    return conn.execute(sql, list(row.values())).fetchone()[0]


def _chain(conn: sqlite3.Connection, sop_uid: str) -> tuple[int, int, int] | None:
    """(series pk, study pk, patient pk) of an indexed instance."""
    return conn.execute(
        "SELECT se.pk, st.pk, st.patient_pk FROM instance i JOIN series se ON i.series_pk = se.pk"
        " JOIN study st ON se.study_pk = st.pk WHERE i.sop_uid = ?",
        (sop_uid,),
    ).fetchone()


def _prune(conn: sqlite3.Connection, chains: list[tuple[int | None, int | None, int | None]]) -> None:
    """Delete the series, studies and patients of ``chains`` that have nothing under them any more."""
    for position, (table, child, fk) in enumerate(
        (("series", "instance", "series_pk"), ("study", "series", "study_pk"), ("patient", "study", "patient_pk"))
    ):
        for pk in {chain[position] for chain in chains} - {None}:
            conn.execute(f"DELETE FROM {table} WHERE pk = ? AND NOT EXISTS "
                         f"(SELECT 1 FROM {child} WHERE {fk} = ?)", (pk, pk))


def upsert(conn: sqlite3.Connection, record: Record) -> None:
    """Insert or replace one instance and its parents (latest values win), inside the caller's transaction."""
    # Where the instance, its study and its series hung before: they may be left empty by a move.
    chains: list[tuple[int | None, int | None, int | None]] = []
    old = _chain(conn, str(record.instance["sop_uid"]))
    if old:
        chains.append(old)
    row = conn.execute("SELECT pk, patient_pk FROM study WHERE study_uid = ?",
                       (record.study["study_uid"],)).fetchone()
    if row:
        chains.append((None, None, row[1]))
    row = conn.execute("SELECT se.study_pk, st.patient_pk FROM series se JOIN study st ON se.study_pk = st.pk"
                       " WHERE se.series_uid = ?", (record.series["series_uid"],)).fetchone()
    if row:
        chains.append((None, row[0], row[1]))
    patient_pk = _upsert_row(conn, "patient", ("patient_id", "issuer"), record.patient)
    study_pk = _upsert_row(conn, "study", ("study_uid",), {"patient_pk": patient_pk, **record.study})
    series_pk = _upsert_row(conn, "series", ("series_uid",), {"study_pk": study_pk, **record.series})
    _upsert_row(conn, "instance", ("sop_uid",), {"series_pk": series_pk, **record.instance})
    _prune(conn, chains)


def records_received_since(conn: sqlite3.Connection, since: float, schema: str = "main") -> list[Record]:
    """Every instance received at or after ``since``, as records (reindex keeps these)."""
    tables = (("p", PATIENT_COLUMNS), ("st", STUDY_COLUMNS), ("se", SERIES_COLUMNS), ("i", INSTANCE_COLUMNS))
    select = ", ".join(f"{alias}.{c}" for alias, cols in tables for c in cols)
    rows = conn.execute(
        f"SELECT {select} FROM {schema}.instance i JOIN {schema}.series se ON i.series_pk = se.pk"
        f" JOIN {schema}.study st ON se.study_pk = st.pk JOIN {schema}.patient p ON st.patient_pk = p.pk"
        " WHERE i.received_at >= ? ORDER BY i.received_at, i.pk",
        (since,),
    ).fetchall()
    records = []
    for row in rows:
        parts, start = [], 0
        for _, cols in tables:
            parts.append(dict(zip(cols, row[start : start + len(cols)], strict=True)))
            start += len(cols)
        records.append(Record(*parts))
    return records
