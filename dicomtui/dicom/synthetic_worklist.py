"""Synthetic worklist items as `.wl` files (the format of dcmtk wlmscpfs and Orthanc), for tests and demos.

Each item is one requested procedure of a synthetic patient (synthetic.py's, international names in
their own character sets included) with one or more scheduled procedure steps on named stations.
The same arguments always give the same files; nothing here imports textual.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

from .synthetic import DEFAULT_ROOT, Patient, make_patient

MWL_FIND = "1.2.840.10008.5.1.4.31"  # what dcmtk's dump2dcm files leave empty; Orthanc and wlmscpfs ignore it

# (Scheduled Station AE Title, modality, station name, location, what it does)
STATIONS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("CT01", "CT", "CT SCANNER 1", "ROOM 101", ("CT CHEST W/O CONTRAST", "CT HEAD", "CT ABDOMEN")),
    ("MR01", "MR", "MR 1.5T", "ROOM 205", ("MR BRAIN", "MR KNEE LEFT", "MR LUMBAR SPINE")),
    ("CR01", "CR", "CR ROOM A", "ROOM 012", ("CHEST 2 VIEWS", "HAND LEFT")),
    ("US01", "US", "US SUITE", "ROOM 030", ("US ABDOMEN", "US THYROID")),
    ("DX01", "DX", "DX ROOM B", "ROOM 014", ("CHEST PA", "PELVIS AP")),
)


@dataclass(frozen=True)
class ScheduledStep:
    station: str  # Scheduled Station AE Title
    modality: str
    date: str  # YYYYMMDD
    time: str  # HHMMSS
    description: str
    step_id: str
    station_name: str = ""
    location: str = ""
    status: str = "SCHEDULED"
    performing_physician: str = ""
    protocol: tuple[tuple[str, str, str], ...] = ()  # (Code Value, Coding Scheme Designator, Code Meaning)


@dataclass(frozen=True)
class WorklistItemSpec:
    patient: Patient
    accession_number: str  # also the file name: generated ASCII, never a value from outside
    requested_procedure_id: str
    requested_procedure_description: str
    study_uid: str
    steps: tuple[ScheduledStep, ...]
    referring_physician: str = "REFERRER^RITA"
    admission_id: str = ""
    priority: str = "ROUTINE"


def make_worklist_specs(date: str | datetime.date, *, seed: int = 0, items: int = 8, international: bool = True,
                        root: str = DEFAULT_ROOT) -> list[WorklistItemSpec]:
    """`items` worklist items on `date`, every half hour from 08:00, cycling through STATIONS; every fourth
    item has a second step on the next station. International names alternate with ASCII ones."""
    day = date if isinstance(date, str) else f"{date:%Y%m%d}"
    specs = []
    for index in range(items):
        patient = make_patient(index // 2, seed=seed, international=international and index % 2 == 0)
        accession = f"W{seed % 100_000:05d}{index:04d}"
        count = 2 if index % 4 == 3 else 1
        steps = []
        for number in range(count):
            station, modality, station_name, location, what = STATIONS[(index + number) % len(STATIONS)]
            minutes = 8 * 60 + 30 * index + 20 * number
            description = what[index % len(what)]
            steps.append(ScheduledStep(
                station=station, modality=modality, date=day, time=f"{minutes // 60:02d}{minutes % 60:02d}00",
                description=description, step_id=f"{accession}S{number + 1}", station_name=station_name,
                location=location, performing_physician="TECH^TOM",
                protocol=((f"P{modality}{index % 3 + 1}", "99DICOMTUI", f"{description} protocol"),)))
        label = f" {patient.study_label}" if patient.study_label else ""
        specs.append(WorklistItemSpec(
            patient=patient, accession_number=accession, requested_procedure_id=f"RP{seed % 100_000:05d}{index:04d}",
            requested_procedure_description=f"{steps[0].description}{label}",
            study_uid=generate_uid(prefix=root, entropy_srcs=["dicomtui-worklist", str(seed), accession]),
            steps=tuple(steps), admission_id=f"ADM{index:04d}", priority=("ROUTINE", "HIGH")[index % 5 == 4]))
    return specs


def make_worklist_item(spec: WorklistItemSpec) -> FileDataset:
    """One worklist item, ready for `save_as`."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MWL_FIND
    meta.MediaStorageSOPInstanceUID = spec.study_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\x00" * 128)
    p = spec.patient
    if p.charset is not None:
        ds.SpecificCharacterSet = list(p.charset) if isinstance(p.charset, tuple) else p.charset
    _set(ds, AccessionNumber=spec.accession_number, ReferringPhysicianName=spec.referring_physician,
         PatientName=p.name, PatientID=p.patient_id, PatientBirthDate=p.birth_date, PatientSex=p.sex,
         StudyInstanceUID=spec.study_uid, RequestedProcedureDescription=spec.requested_procedure_description,
         RequestedProcedureID=spec.requested_procedure_id, RequestedProcedurePriority=spec.priority,
         AdmissionID=spec.admission_id)
    items = []
    for step in spec.steps:
        item = _set(Dataset(), Modality=step.modality, ScheduledStationAETitle=step.station,
                    ScheduledProcedureStepStartDate=step.date, ScheduledProcedureStepStartTime=step.time,
                    ScheduledPerformingPhysicianName=step.performing_physician,
                    ScheduledProcedureStepDescription=step.description, ScheduledProcedureStepID=step.step_id,
                    ScheduledStationName=step.station_name, ScheduledProcedureStepLocation=step.location,
                    ScheduledProcedureStepStatus=step.status)
        codes = []
        for value, scheme, meaning in step.protocol:
            code = Dataset()
            code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, scheme, meaning
            codes.append(code)
        item.ScheduledProtocolCodeSequence = codes
        items.append(item)
    ds.ScheduledProcedureStepSequence = items
    return ds


def _set(ds: Dataset, **values: str) -> Dataset:
    """Set attributes by keyword (pydicom orders them by tag whatever the order here)."""
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def write_worklist(folder: Path, specs: Sequence[WorklistItemSpec]) -> list[Path]:
    """One `<accession>.wl` file per item in `folder` (created); written whole, then renamed, so an SCP
    reading the folder at that moment never sees half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in specs:
        path = folder / f"{spec.accession_number}.wl"
        partial = folder / f".{spec.accession_number}.wl.part"
        make_worklist_item(spec).save_as(partial, enforce_file_format=True)
        partial.replace(path)
        paths.append(path)
    return paths
