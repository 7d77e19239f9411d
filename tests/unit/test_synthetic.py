"""Tests for the synthetic DICOM generator (dicomtui.dicom.synthetic)."""

from __future__ import annotations

import ast
import contextlib
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from dicomtui.dicom import synthetic
from dicomtui.dicom.synthetic import (
    INTERNATIONAL_PATIENTS,
    MODALITIES,
    StudySpec,
    encoded_size,
    generate_studies,
    make_instance,
    make_instance_of_size,
    make_patient,
)

ALL_MODALITIES = ("CT", "MR", "CR", "DX", "US", "OT")
EXPECTED_SOP_CLASSES = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "CR": "1.2.840.10008.5.1.4.1.1.1",
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",
    "US": "1.2.840.10008.5.1.4.1.1.6.1",
    "OT": "1.2.840.10008.5.1.4.1.1.7",
}


@contextlib.contextmanager
def _no_warnings() -> Iterator[None]:
    """Fail on any warning (pydicom warns, then writes '?', for characters its charset cannot encode)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _read_all(paths: list[Path]) -> list[pydicom.FileDataset]:
    return [pydicom.dcmread(p) for p in paths]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("synthetic")
    paths = generate_studies(
        out,
        patients=3,
        studies_per_patient=2,
        series_per_study=2,
        instances_per_series=3,
        modalities=ALL_MODALITIES,
    )
    return out, paths


def test_hierarchy_and_layout(tree: tuple[Path, list[Path]]) -> None:
    out, paths = tree
    assert len(paths) == 3 * 2 * 2 * 3
    assert all(p.is_file() for p in paths)
    for p in paths:
        rel = p.relative_to(out)
        assert len(rel.parts) == 4 and rel.suffix == ".dcm"
    datasets = _read_all(paths)
    assert len({ds.PatientID for ds in datasets}) == 3
    assert len({ds.StudyInstanceUID for ds in datasets}) == 6
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 12
    # Modalities are used in turn, one per study.
    assert {ds.Modality for ds in datasets} == set(ALL_MODALITIES)
    for ds in datasets:
        same_series = [d for d in datasets if d.SeriesInstanceUID == ds.SeriesInstanceUID]
        assert sorted(d.InstanceNumber for d in same_series) == [1, 2, 3]
        assert {d.StudyInstanceUID for d in same_series} == {ds.StudyInstanceUID}


def test_every_file_is_valid_part10(tree: tuple[Path, list[Path]]) -> None:
    _, paths = tree
    for p in paths:
        raw = p.read_bytes()
        assert raw[128:132] == b"DICM", p
        ds = pydicom.dcmread(p)  # strict enough: raises on a broken file
        meta = ds.file_meta
        assert meta.MediaStorageSOPClassUID == ds.SOPClassUID
        assert meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert meta.ImplementationClassUID == PYDICOM_IMPLEMENTATION_UID
        assert not ds.is_implicit_VR and ds.is_little_endian
        assert ds.SOPClassUID == EXPECTED_SOP_CLASSES[ds.Modality]
        for keyword in (
            "PatientName",
            "PatientID",
            "PatientBirthDate",
            "PatientSex",
            "StudyDate",
            "StudyTime",
            "AccessionNumber",
            "StudyDescription",
            "SeriesDescription",
            "SeriesNumber",
            "InstanceNumber",
            "ReferringPhysicianName",
            "InstitutionName",
            "StudyID",
        ):
            assert keyword in ds, (p, keyword)
        expected = ds.Rows * ds.Columns * ds.SamplesPerPixel * ds.BitsAllocated // 8
        assert len(ds.PixelData) in (expected, expected + 1)
        assert ds.HighBit == ds.BitsStored - 1
        assert ds.PhotometricInterpretation == ("RGB" if ds.SamplesPerPixel == 3 else "MONOCHROME2")
        assert len(set(ds.PixelData[:4096])) > 1  # not a blank image


def test_uids_valid_and_unique(tree: tuple[Path, list[Path]]) -> None:
    _, paths = tree
    datasets = _read_all(paths)
    sop_uids = [ds.SOPInstanceUID for ds in datasets]
    assert len(set(sop_uids)) == len(sop_uids)
    all_uids = (
        set(sop_uids) | {ds.SeriesInstanceUID for ds in datasets} | {ds.StudyInstanceUID for ds in datasets}
    )
    assert len(all_uids) == len(sop_uids) + 12 + 6  # no UID is reused across levels
    for ds in datasets:
        for uid in (ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID):
            assert UID(uid).is_valid, uid
            assert len(uid) <= 64 and uid.startswith(synthetic.DEFAULT_ROOT)
        if ds.Modality in ("CT", "MR"):
            assert UID(ds.FrameOfReferenceUID).is_valid


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    a = generate_studies(tmp_path / "a", patients=2, seed=7, international=True, modalities=ALL_MODALITIES)
    b = generate_studies(tmp_path / "b", patients=2, seed=7, international=True, modalities=ALL_MODALITIES)
    c = generate_studies(tmp_path / "c", patients=2, seed=8, international=True, modalities=ALL_MODALITIES)
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
    assert all(pa.read_bytes() == pb.read_bytes() for pa, pb in zip(a, b, strict=True))
    uids_a = {pydicom.dcmread(p).SOPInstanceUID for p in a}
    uids_c = {pydicom.dcmread(p).SOPInstanceUID for p in c}
    assert not uids_a & uids_c
    assert {pydicom.dcmread(p).PatientID for p in a}.isdisjoint({pydicom.dcmread(p).PatientID for p in c})


def test_determinism_across_processes(tmp_path: Path) -> None:
    """Same seed in a fresh interpreter (different hash seed) gives the same bytes."""
    code = (
        "import sys; from pathlib import Path;"
        "from dicomtui.dicom.synthetic import make_instance_of_size as m;"
        "m(20000, modality='MR', seed=3).save_as(Path(sys.argv[1]), enforce_file_format=True)"
    )
    outs = []
    for i, hashseed in enumerate(("1", "2")):
        out = tmp_path / f"{i}.dcm"
        subprocess.run(
            [sys.executable, "-c", code, str(out)], check=True, env={**os.environ, "PYTHONHASHSEED": hashseed}
        )
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


@pytest.mark.parametrize("modality", ALL_MODALITIES)
@pytest.mark.parametrize("nbytes", [4_000, 50_000, 1_000_000, 6_000_000])
def test_instance_of_size(modality: str, nbytes: int, tmp_path: Path) -> None:
    ds = make_instance_of_size(nbytes, modality=modality, seed=1)
    path = tmp_path / "x.dcm"
    ds.save_as(path, enforce_file_format=True)
    size = path.stat().st_size
    assert size == encoded_size(ds)
    assert abs(size - nbytes) <= 0.10 * nbytes, (modality, nbytes, size)
    back = pydicom.dcmread(path)
    assert back.Modality == modality
    assert len(back.PixelData) >= back.Rows * back.Columns * back.SamplesPerPixel * back.BitsAllocated // 8


def test_instance_of_size_too_small() -> None:
    with pytest.raises(ValueError, match="too small"):
        make_instance_of_size(500)


def test_generate_with_instance_bytes(tmp_path: Path) -> None:
    paths = generate_studies(
        tmp_path,
        patients=2,
        series_per_study=1,
        instances_per_series=2,
        modalities=("CT", "US"),
        instance_bytes=200_000,
    )
    for p in paths:
        assert abs(p.stat().st_size - 200_000) <= 20_000, p


def test_default_instances_are_small(tree: tuple[Path, list[Path]]) -> None:
    _, paths = tree
    assert all(p.stat().st_size < 40_000 for p in paths)


@pytest.mark.parametrize("index", range(len(INTERNATIONAL_PATIENTS)))
def test_international_names_round_trip(index: int, tmp_path: Path) -> None:
    name, _sex, charset, label = INTERNATIONAL_PATIENTS[index]
    patient = make_patient(index, international=True)
    assert patient.name == name
    ds = make_instance(StudySpec(patient, modality="CT", series_count=1, instances_per_series=1))
    path = tmp_path / "i.dcm"
    ds.save_as(path, enforce_file_format=True)
    with _no_warnings():
        back = pydicom.dcmread(path)
        assert str(back.PatientName) == name
        assert back.StudyDescription.endswith(label)
    expected = list(charset) if isinstance(charset, tuple) else charset
    assert back.SpecificCharacterSet == expected


@pytest.mark.parametrize(
    ("index", "raw"),
    [
        (0, "Müller".encode("latin-1")),  # ISO_IR 100
        (1, "王".encode("gb18030")),  # GB18030
        (2, "王".encode()),  # ISO_IR 192 (UTF-8)
        (3, b"\x1b$B"),  # ISO 2022 IR 87: escape into JIS X 0208
    ],
)
def test_names_are_encoded_in_their_charset(index: int, raw: bytes, tmp_path: Path) -> None:
    spec = StudySpec(make_patient(index, international=True), series_count=1, instances_per_series=1)
    path = tmp_path / "c.dcm"
    with _no_warnings():
        make_instance(spec).save_as(path, enforce_file_format=True)
    assert raw in path.read_bytes()


def test_ascii_patients_have_no_charset(tree: tuple[Path, list[Path]]) -> None:
    _, paths = tree
    for ds in _read_all(paths):
        assert "SpecificCharacterSet" not in ds
        str(ds.PatientName).encode("ascii")


def test_implicit_vr_option(tmp_path: Path) -> None:
    paths = generate_studies(
        tmp_path,
        patients=1,
        series_per_study=1,
        instances_per_series=1,
        international=True,
        transfer_syntax=ImplicitVRLittleEndian,
    )
    ds = pydicom.dcmread(paths[0])
    assert ds.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
    assert ds.is_implicit_VR
    assert str(ds.PatientName) == INTERNATIONAL_PATIENTS[0][0]


def test_flat_layout(tmp_path: Path) -> None:
    paths = generate_studies(tmp_path, patients=2, layout="flat")
    assert all(p.parent == tmp_path for p in paths)
    assert len(set(paths)) == len(paths) == 2 * 2 * 3


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="modality"):
        StudySpec(make_patient(0), modality="XX")
    with pytest.raises(ValueError):
        StudySpec(make_patient(0), series_count=0)
    assert set(ALL_MODALITIES) <= set(MODALITIES)


def test_module_imports_only_stdlib_and_pydicom() -> None:
    tree = ast.parse(Path(synthetic.__file__).read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    assert roots - {"__future__"} <= set(sys.stdlib_module_names) | {"pydicom"}
    code = "import sys, dicomtui.dicom.synthetic; assert 'textual' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
