"""Synthetic, deterministic DICOM Part 10 instances for tests, demos and benchmarks.

Patients -> studies -> series -> instances of several modalities (CT, MR, CR, DX, US, OT = Secondary Capture),
with plausible attributes, pixel data consistent with Rows/Columns/Bits*, UIDs derived from the seed under a
root, and optional international patient names in GB18030, UTF-8 (ISO_IR 192), Japanese ISO 2022 IR 87 and
Latin-1 (ISO_IR 100). Only pydicom and the standard library are used (no numpy); nothing here imports textual.

The same arguments always give byte-identical files. Tests sharing one archive should use distinct seeds:
the seed goes into every UID and ID, so two runs with the same seed produce the same instances.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import sys
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    PYDICOM_ROOT_UID,
    UID,
    ComputedRadiographyImageStorage,
    CTImageStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MRImageStorage,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    generate_uid,
)

__all__ = [
    "ASCII_PATIENTS",
    "DEFAULT_ROOT",
    "INTERNATIONAL_PATIENTS",
    "MODALITIES",
    "Modality",
    "Patient",
    "StudySpec",
    "encoded_size",
    "generate_studies",
    "get_modality",
    "iter_instances",
    "make_instance",
    "make_instance_of_size",
    "make_patient",
    "make_specs",
    "write_instances",
]

DEFAULT_ROOT = PYDICOM_ROOT_UID
IMPLEMENTATION_VERSION_NAME = "DICOMTUI_SYN"
SUPPORTED_TRANSFER_SYNTAXES = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


# ---------------------------------------------------------------------------------------------------------
# Modalities


@dataclass(frozen=True)
class Modality:
    code: str  # (0008,0060) value
    sop_class: UID
    rows: int  # default matrix: small, so default instances stay a few KB
    columns: int
    bits_allocated: int
    bits_stored: int
    samples: int = 1
    photometric: str = "MONOCHROME2"
    pixel_representation: int = 0
    body_part: str = "CHEST"
    study_descriptions: tuple[str, ...] = ("STUDY",)
    series_descriptions: tuple[str, ...] = ("SERIES",)
    image_type: tuple[str, ...] = ("ORIGINAL", "PRIMARY")

    @property
    def bytes_per_pixel(self) -> int:
        return self.samples * self.bits_allocated // 8


MODALITIES: dict[str, Modality] = {
    m.code: m
    for m in (
        Modality(
            "CT", CTImageStorage, 64, 64, 16, 12,
            study_descriptions=("CT CHEST W/O CONTRAST", "CT ABDOMEN PELVIS W CONTRAST", "CT HEAD"),
            series_descriptions=("AXIAL 5MM", "AXIAL 1.25MM", "CORONAL MPR", "SCOUT"),
            image_type=("ORIGINAL", "PRIMARY", "AXIAL"),
        ),
        Modality(
            "MR", MRImageStorage, 64, 64, 16, 12, body_part="BRAIN",
            study_descriptions=("MR BRAIN W/O CONTRAST", "MR KNEE LEFT", "MR LUMBAR SPINE"),
            series_descriptions=("T1 SAG", "T2 AX", "FLAIR AX", "DWI"),
        ),
        Modality(
            "CR", ComputedRadiographyImageStorage, 96, 80, 16, 12,
            study_descriptions=("CHEST 2 VIEWS", "HAND LEFT 3 VIEWS"),
            series_descriptions=("PA", "LAT", "OBLIQUE"),
        ),
        Modality(
            "DX", DigitalXRayImageStorageForPresentation, 96, 80, 16, 14,
            study_descriptions=("CHEST PA", "PELVIS AP"),
            series_descriptions=("PA", "AP", "LAT"),
        ),
        Modality(
            "US", UltrasoundImageStorage, 48, 64, 8, 8, samples=3, photometric="RGB", body_part="ABDOMEN",
            study_descriptions=("US ABDOMEN COMPLETE", "US THYROID"),
            series_descriptions=("B-MODE", "DOPPLER"),
        ),
        Modality(
            "OT", SecondaryCaptureImageStorage, 64, 64, 8, 8, body_part="",
            study_descriptions=("SCREEN CAPTURE", "REPORT SNAPSHOT"),
            series_descriptions=("SECONDARY CAPTURE",),
            image_type=("DERIVED", "SECONDARY"),
        ),
    )
}  # fmt: skip


def get_modality(code: str) -> Modality:
    try:
        return MODALITIES[code.upper()]
    except KeyError:
        raise ValueError(f"unsupported modality {code!r}; choose from {', '.join(MODALITIES)}") from None


# ---------------------------------------------------------------------------------------------------------
# Patients


@dataclass(frozen=True)
class Patient:
    """A patient; ``charset`` is the SpecificCharacterSet value (None: default repertoire, ASCII only)."""

    patient_id: str
    name: str
    birth_date: str  # YYYYMMDD
    sex: str  # M, F, O
    charset: str | tuple[str, ...] | None = None
    study_label: str | None = None  # optional text in the patient's language appended to StudyDescription


# Name, sex, charset, study label. The names are written exactly as given and must read back identically.
ASCII_PATIENTS: tuple[tuple[str, str, str | tuple[str, ...] | None, str | None], ...] = (
    ("DOE^JANE", "F", None, None),
    ("SMITH^JOHN^A", "M", None, None),
    ("GARCIA^MARIA", "F", None, None),
    ("NGUYEN^VAN", "M", None, None),
    ("OKAFOR^CHIDI", "M", None, None),
    ("KOWALSKI^ANNA", "F", None, None),
    ("TANAKA^YUKI", "F", None, None),
    ("BROWN^ROBERT", "M", None, None),
)

INTERNATIONAL_PATIENTS: tuple[tuple[str, str, str | tuple[str, ...] | None, str | None], ...] = (
    ("Müller^Jürgen", "M", "ISO_IR 100", "Thorax Übersicht"),
    ("王^小东", "M", "GB18030", "胸部平扫"),
    ("Wang^XiaoDong=王^小東", "M", "ISO_IR 192", "胸部 CT"),
    ("Yamada^Tarou=山田^太郎=やまだ^たろう", "M", ("", "ISO 2022 IR 87"), "胸部単純"),
    ("Łukasiewicz^Zoë=Лукасевич^Зоя", "F", "ISO_IR 192", "Рентген"),
    ("Ødegård^Åse", "F", "ISO_IR 100", "Røntgen thorax"),
)


def _digits(*parts: object, n: int = 6) -> int:
    h = hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()
    return int(h, 16) % (10**n)


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(["dicomtui-synthetic", *map(str, parts)]))


def make_patient(index: int, *, seed: int = 0, international: bool = False) -> Patient:
    """The ``index``-th synthetic patient for ``seed``. International patients cycle through the charsets."""
    table = INTERNATIONAL_PATIENTS if international else ASCII_PATIENTS
    name, sex, charset, label = table[index % len(table)]
    rng = _rng(seed, "patient", index)
    birth = f"{rng.randint(1930, 2015):04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    pid = f"SYN{seed % 1_000_000:06d}{'I' if international else 'P'}{index:04d}"
    return Patient(pid, name, birth, sex, charset, label)


# ---------------------------------------------------------------------------------------------------------
# Studies


@dataclass(frozen=True)
class StudySpec:
    """One study to generate. UIDs and IDs derive from (root, seed, patient ID, index)."""

    patient: Patient
    modality: str = "CT"
    series_count: int = 2
    instances_per_series: int = 3
    instance_bytes: int | None = None  # approximate file size of each instance; None: the modality default
    index: int = 0  # study number within the patient
    seed: int = 0
    root: str = DEFAULT_ROOT
    transfer_syntax: str = ExplicitVRLittleEndian
    extra: tuple[tuple[str, object], ...] = field(default=())  # (keyword, value) set on every instance

    def __post_init__(self) -> None:
        get_modality(self.modality)
        if self.series_count < 1 or self.instances_per_series < 1:
            raise ValueError("series_count and instances_per_series must be at least 1")
        if self.transfer_syntax not in SUPPORTED_TRANSFER_SYNTAXES:
            raise ValueError(f"unsupported transfer syntax {self.transfer_syntax}")

    # Identity -------------------------------------------------------------------------------------------
    def uid(self, *parts: object) -> UID:
        return generate_uid(
            prefix=self.root,
            entropy_srcs=[
                "dicomtui-synthetic",
                str(self.seed),
                self.patient.patient_id,
                str(self.index),
                *map(str, parts),
            ],
        )

    @property
    def study_uid(self) -> UID:
        return self.uid("study")

    def series_uid(self, series: int) -> UID:
        return self.uid("series", series)

    def sop_instance_uid(self, series: int, instance: int) -> UID:
        return self.uid("instance", series, instance)

    @property
    def frame_of_reference_uid(self) -> UID:
        return self.uid("for")

    @property
    def accession_number(self) -> str:
        return f"A{_digits(self.seed, self.patient.patient_id, n=8):08d}{self.index:03d}"

    @property
    def study_id(self) -> str:
        return str(self.index + 1)

    @property
    def study_date(self) -> str:
        rng = _rng(self.seed, self.patient.patient_id, self.index, "date")
        return f"{rng.randint(2015, 2024):04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"

    @property
    def study_time(self) -> str:
        rng = _rng(self.seed, self.patient.patient_id, self.index, "time")
        return f"{rng.randint(7, 19):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}"

    @property
    def study_description(self) -> str:
        m = get_modality(self.modality)
        text = m.study_descriptions[self.index % len(m.study_descriptions)]
        return f"{text} {self.patient.study_label}" if self.patient.study_label else text

    def series_description(self, series: int) -> str:
        m = get_modality(self.modality)
        return m.series_descriptions[series % len(m.series_descriptions)]

    @property
    def instance_count(self) -> int:
        return self.series_count * self.instances_per_series

    def relpath(self, series: int, instance: int, layout: str = "tree") -> Path:
        """Where ``write_instances`` puts an instance: only generated ASCII IDs and numbers, never values."""
        if layout == "tree":
            return Path(
                self.patient.patient_id,
                f"study{self.index + 1:02d}",
                f"series{series + 1:02d}",
                f"{instance + 1:04d}.dcm",
            )
        if layout == "flat":
            return Path(
                f"{self.patient.patient_id}_st{self.index + 1:02d}_se{series + 1:02d}_{instance + 1:04d}.dcm"
            )
        raise ValueError(f"unknown layout {layout!r} (tree or flat)")


# ---------------------------------------------------------------------------------------------------------
# Pixel data


def _pixel_bytes(m: Modality, rows: int, columns: int, variant: int) -> bytes:
    """Diagonal gradient pattern, different per ``variant``; built by slicing, so MBs are cheap."""
    n = rows + columns
    if m.bits_allocated == 16:
        mask = (1 << m.bits_stored) - 1
        step = max(1, mask // max(1, n))
        line = array("H", (((i * step) + variant * 97) & mask for i in range(n)))
        if sys.byteorder == "big":  # pragma: no cover - DICOM wants little endian
            line.byteswap()
    else:
        line = array("B", (((i * 3) + variant * 31) & 0xFF for i in range(n * m.samples)))
    buf = line.tobytes()
    stride = m.bytes_per_pixel
    width = columns * stride
    data = b"".join(buf[r * stride : r * stride + width] for r in range(rows))
    if len(data) % 2:
        data += b"\x00"
    return data


def _apply_image(ds: Dataset, m: Modality, rows: int, columns: int, variant: int) -> None:
    ds.SamplesPerPixel = m.samples
    ds.PhotometricInterpretation = m.photometric
    if m.samples > 1:
        ds.PlanarConfiguration = 0
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = m.bits_allocated
    ds.BitsStored = m.bits_stored
    ds.HighBit = m.bits_stored - 1
    ds.PixelRepresentation = m.pixel_representation
    ds.add_new(0x7FE00010, "OW" if m.bits_allocated > 8 else "OB", _pixel_bytes(m, rows, columns, variant))


def _matrix_for_pixels(pixels: int) -> tuple[int, int]:
    """Rows and columns (columns even) for about ``pixels`` pixels, roughly 4:5 portrait."""
    pixels = max(4, pixels)
    columns = max(2, int(math.sqrt(pixels * 4 / 5)) // 2 * 2)
    rows = max(1, round(pixels / columns))
    return rows, columns


# ---------------------------------------------------------------------------------------------------------
# Instances


def _set_text(ds: Dataset, keyword: str, value: str) -> None:
    if value:
        setattr(ds, keyword, value)


def make_instance(
    spec: StudySpec,
    series: int = 0,
    instance: int = 0,
    *,
    rows: int | None = None,
    columns: int | None = None,
) -> FileDataset:
    """One Part 10 instance of ``spec`` (0-based series and instance numbers), ready for ``save_as``.

    The matrix is ``rows`` x ``columns`` if given, else sized for ``spec.instance_bytes``, else the modality
    default.
    """
    m = get_modality(spec.modality)
    p = spec.patient
    sop_uid = spec.sop_instance_uid(series, instance)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = m.sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = UID(spec.transfer_syntax)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME

    ds = FileDataset("", {}, file_meta=meta, preamble=b"\x00" * 128)
    if p.charset is not None:
        ds.SpecificCharacterSet = list(p.charset) if isinstance(p.charset, tuple) else p.charset
    ds.ImageType = list(m.image_type)
    ds.SOPClassUID = m.sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = spec.study_date
    study_time = spec.study_time
    ds.StudyTime = study_time
    ds.SeriesTime = f"{study_time[:4]}{(int(study_time[4:6]) + series) % 60:02d}"
    ds.ContentTime = f"{study_time}.{instance % 1_000_000:06d}"
    ds.AccessionNumber = spec.accession_number
    ds.Modality = m.code
    if m.code == "OT":
        ds.ConversionType = "WSD"
    ds.Manufacturer = "dicomtui synthetic"
    ds.InstitutionName = "SYNTHETIC GENERAL HOSPITAL"
    ds.ReferringPhysicianName = "REFERRER^RITA"
    ds.StationName = f"SYN{m.code}01"
    ds.StudyDescription = spec.study_description
    ds.SeriesDescription = spec.series_description(series)
    ds.PatientName = p.name
    ds.PatientID = p.patient_id
    ds.PatientBirthDate = p.birth_date
    ds.PatientSex = p.sex
    _set_text(ds, "BodyPartExamined", m.body_part)
    ds.StudyInstanceUID = spec.study_uid
    ds.SeriesInstanceUID = spec.series_uid(series)
    ds.StudyID = spec.study_id
    ds.SeriesNumber = series + 1
    ds.InstanceNumber = instance + 1

    if m.code in ("CT", "MR"):
        z = -100.0 + 5.0 * instance
        ds.FrameOfReferenceUID = spec.frame_of_reference_uid
        ds.PositionReferenceIndicator = ""
        ds.PatientPosition = "HFS"
        ds.ImagePositionPatient = [-160.0, -160.0, z]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.SliceLocation = z
        ds.SliceThickness = 5.0
        ds.PixelSpacing = [0.7, 0.7]
    if m.code == "CT":
        ds.KVP = 120
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
        ds.RescaleType = "HU"
        ds.WindowCenter = 40
        ds.WindowWidth = 400
        ds.AcquisitionNumber = 1
    elif m.code == "MR":
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.RepetitionTime = 500.0
        ds.EchoTime = 15.0
        ds.EchoTrainLength = 1
        ds.MagneticFieldStrength = 1.5
        ds.WindowCenter = 600
        ds.WindowWidth = 1200
    elif m.code in ("CR", "DX"):
        ds.PatientOrientation = ["P", "F"]
        ds.KVP = 110
        ds.ViewPosition = "PA"
        ds.ImagerPixelSpacing = [0.15, 0.15]
        if m.code == "DX":
            ds.PresentationIntentType = "FOR PRESENTATION"
            ds.PresentationLUTShape = "IDENTITY"
            ds.DetectorType = "SCINTILLATOR"
            ds.BurnedInAnnotation = "NO"
            ds.RescaleIntercept = 0
            ds.RescaleSlope = 1
    elif m.code == "US":
        ds.PatientOrientation = ""
        ds.BurnedInAnnotation = "NO"
    elif m.code == "OT":
        ds.PatientOrientation = ""

    if rows is None or columns is None:
        if spec.instance_bytes is not None:
            rows, columns = _matrix_for_size(spec.instance_bytes, ds, m)
        else:
            rows, columns = m.rows, m.columns
    _apply_image(ds, m, rows, columns, variant=series * 1000 + instance)

    for keyword, value in spec.extra:
        setattr(ds, keyword, value)
    return ds


def encoded_size(ds: FileDataset) -> int:
    """Size in bytes of ``ds`` written as a Part 10 file."""
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.tell()


def _matrix_for_size(nbytes: int, ds: FileDataset, m: Modality) -> tuple[int, int]:
    probe = ds.copy()
    _apply_image(probe, m, 1, 2, 0)
    overhead = encoded_size(probe) - len(probe.PixelData)
    pixels = (nbytes - overhead) // m.bytes_per_pixel
    if pixels < 4:
        raise ValueError(
            f"{nbytes} bytes is too small for a {m.code} instance (header alone is {overhead} B)"
        )
    return _matrix_for_pixels(pixels)


def make_instance_of_size(
    nbytes: int,
    *,
    modality: str = "CT",
    seed: int = 0,
    patient: Patient | None = None,
    index: int = 0,
    transfer_syntax: str = ExplicitVRLittleEndian,
) -> FileDataset:
    """One instance whose Part 10 encoding is about ``nbytes`` bytes (within a fraction of a percent)."""
    spec = StudySpec(
        patient or make_patient(0, seed=seed),
        modality=modality,
        series_count=1,
        instances_per_series=1,
        instance_bytes=nbytes,
        seed=seed,
        index=index,
        transfer_syntax=transfer_syntax,
    )
    return make_instance(spec)


# ---------------------------------------------------------------------------------------------------------
# Collections


def make_specs(
    *,
    patients: int = 3,
    studies_per_patient: int = 1,
    series_per_study: int = 2,
    instances_per_series: int = 3,
    modalities: Sequence[str] = ("CT", "MR", "CR", "US", "OT"),
    international: bool = False,
    seed: int = 0,
    instance_bytes: int | None = None,
    transfer_syntax: str = ExplicitVRLittleEndian,
) -> list[StudySpec]:
    """Study specs for ``patients`` x ``studies_per_patient`` studies; modalities are used in turn."""
    if not modalities:
        raise ValueError("at least one modality is needed")
    specs = []
    k = 0
    for pi in range(patients):
        patient = make_patient(pi, seed=seed, international=international)
        for si in range(studies_per_patient):
            specs.append(
                StudySpec(
                    patient,
                    modality=modalities[k % len(modalities)].upper(),
                    series_count=series_per_study,
                    instances_per_series=instances_per_series,
                    instance_bytes=instance_bytes,
                    index=si,
                    seed=seed,
                    transfer_syntax=transfer_syntax,
                )
            )
            k += 1
    return specs


def iter_instances(specs: Sequence[StudySpec]) -> Iterator[tuple[StudySpec, int, int, FileDataset]]:
    """Yield (spec, series, instance, dataset) for every instance of every spec, in order."""
    for spec in specs:
        dims = None
        for series in range(spec.series_count):
            for instance in range(spec.instances_per_series):
                if dims is None:
                    ds = make_instance(spec, series, instance)
                    dims = (ds.Rows, ds.Columns)  # size once per study, not per instance
                else:
                    ds = make_instance(spec, series, instance, rows=dims[0], columns=dims[1])
                yield spec, series, instance, ds


def write_instances(out_dir: Path, specs: Sequence[StudySpec], *, layout: str = "tree") -> list[Path]:
    """Write every instance of ``specs`` under ``out_dir``; return the paths in generation order."""
    out_dir = Path(out_dir)
    paths = []
    for spec, series, instance, ds in iter_instances(specs):
        path = out_dir / spec.relpath(series, instance, layout)
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def generate_studies(
    out_dir: Path,
    *,
    patients: int = 3,
    studies_per_patient: int = 1,
    series_per_study: int = 2,
    instances_per_series: int = 3,
    modalities: Sequence[str] = ("CT", "MR", "CR", "US", "OT"),
    international: bool = False,
    seed: int = 0,
    instance_bytes: int | None = None,
    transfer_syntax: str = ExplicitVRLittleEndian,
    layout: str = "tree",
) -> list[Path]:
    """Generate and write a set of studies; files go to ``<out>/<patient>/<study>/<series>/<n>.dcm``
    (``layout="tree"``) or ``<out>/<patient>_st.._se.._n.dcm`` (``layout="flat"``)."""
    specs = make_specs(
        patients=patients,
        studies_per_patient=studies_per_patient,
        series_per_study=series_per_study,
        instances_per_series=instances_per_series,
        modalities=modalities,
        international=international,
        seed=seed,
        instance_bytes=instance_bytes,
        transfer_syntax=transfer_syntax,
    )
    return write_instances(Path(out_dir), specs, layout=layout)
