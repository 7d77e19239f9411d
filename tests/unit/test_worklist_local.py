"""The local worklist's matching (engine/archive/worklist.py) on generated `.wl` files, without a network."""

from __future__ import annotations

import datetime
from io import BytesIO
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset

from dicomtui.dicom.synthetic_worklist import make_worklist_item, make_worklist_specs, write_worklist
from dicomtui.engine.archive.worklist import find_worklist, match_item, worklist_files
from dicomtui.engine.worklist import WorklistRequest
from dicomtui.engine.worklist_decode import decode_response
from dicomtui.engine.worklist_identifier import build_identifier, encode
from dicomtui.engine.worklist_result import rows_from_tree

DAY = "20240105"
SPECS = make_worklist_specs(DAY, seed=11, items=12) + make_worklist_specs("20240107", seed=12, items=4)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("worklist")
    write_worklist(out, SPECS)
    (out / "notes.txt").write_text("not a worklist file")
    return out


def _rows(folder: Path, **filters):
    answer = find_worklist(folder, build_identifier(WorklistRequest(**filters)))
    assert answer.problems == []
    rows = []
    for index, response in enumerate(answer.matches):  # through the wire encoding, as an SCU sees it
        wire = encode(response, False, True)
        rows += rows_from_tree(decode_response(read_dataset(BytesIO(wire), False, True), None), index)
    return rows


def _steps(specs, keep=lambda spec, step: True):
    return {(s.accession_number, step.step_id) for s in specs for step in s.steps if keep(s, step)}


def test_everything_with_universal_keys(folder):
    rows = _rows(folder)
    assert {(r.accession_number, r.step_id) for r in rows} == _steps(SPECS)
    assert len({r.item for r in rows}) == len(SPECS)
    assert len(worklist_files(folder)) == len(SPECS)  # notes.txt is not a worklist file


@pytest.mark.parametrize("filters,keep", [
    ({"station": "CT01"}, lambda s, st: st.station == "CT01"),
    ({"modality": "MR"}, lambda s, st: st.modality == "MR"),
    ({"modality": "M?"}, lambda s, st: st.modality == "MR"),
    ({"station": "CT01", "modality": "MR"}, lambda s, st: False),
    ({"date": "20240107"}, lambda s, st: st.date == "20240107"),
    ({"date": "20240101-20240106"}, lambda s, st: st.date == DAY),
    ({"date": "20240106-"}, lambda s, st: st.date == "20240107"),
    ({"time": "0800-0930"}, lambda s, st: "080000" <= st.time <= "093059"),
    ({"time": "-09"}, lambda s, st: st.time < "100000"),  # a partial time covers its hour
    ({"date": DAY, "station": "DX01"}, lambda s, st: st.date == DAY and st.station == "DX01"),
    ({"performing_physician": "tech*"}, lambda s, st: True),  # PN: case-insensitive
    ({"patient_name": "SMITH*"}, lambda s, st: s.patient.name.startswith("SMITH")),
    ({"patient_name": "王*"}, lambda s, st: "王" in s.patient.name),  # either component group
    ({"patient_name": "*^Tarou"}, lambda s, st: "Tarou" in s.patient.name),
    ({"accession_number": SPECS[3].accession_number}, lambda s, st: s is SPECS[3]),
])
def test_filters_match_the_standard_way(folder, filters, keep):
    rows = _rows(folder, **filters)
    assert {(r.accession_number, r.step_id) for r in rows} == _steps(SPECS, keep)


def test_only_matching_steps_come_back_with_the_asked_attributes(folder):
    two = next(s for s in SPECS if len(s.steps) == 2)
    second = two.steps[1]
    rows = _rows(folder, station=second.station, accession_number=two.accession_number)
    assert [(r.step_id, r.station_ae_title, r.modality) for r in rows] == [
        (second.step_id, second.station, second.modality)]
    row = rows[0]
    assert row.protocol[0].value == second.protocol[0][0]  # asked as an empty sequence: returned whole
    assert row.start_date == second.date and row.status == "SCHEDULED" and row.location == second.location
    assert (row.patient_name, row.requested_procedure_description) == (
        two.patient.name, two.requested_procedure_description)
    assert set(row.attributes) == {"PatientName", "PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber",
                                   "ReferringPhysicianName", "StudyInstanceUID", "RequestedProcedureID",
                                   "RequestedProcedureDescription", "RequestedProcedurePriority", "AdmissionID",
                                   "ScheduledProcedureStepSequence"}


def test_international_names_come_back_as_utf8(folder):
    rows = _rows(folder, date=DAY)
    names = {r.patient_name for r in rows}
    for expected in ("王^小东", "Yamada^Tarou=山田^太郎=やまだ^たろう", "Müller^Jürgen", "Wang^XiaoDong=王^小東"):
        assert expected in names
    answer = find_worklist(folder, build_identifier(WorklistRequest(patient_name="王^小东")))
    assert len(answer.matches) == sum(s.patient.name == "王^小东" for s in SPECS) == 2
    assert {m.SpecificCharacterSet for m in answer.matches} == {"ISO_IR 192"}
    ascii_only = find_worklist(folder, build_identifier(WorklistRequest(patient_name="DOE^JANE")))
    assert ascii_only.matches and all("SpecificCharacterSet" not in m for m in ascii_only.matches)


def test_absent_attribute_matches_only_universally():
    spec = make_worklist_specs(DAY, seed=13, items=1)[0]
    stored = make_worklist_item(spec)
    del stored.ScheduledProcedureStepSequence[0].ScheduledStationAETitle
    identifier = build_identifier(WorklistRequest())
    assert match_item(identifier, stored) is not None
    assert match_item(build_identifier(WorklistRequest(station="CT01")), stored) is None
    del stored.ScheduledProcedureStepSequence
    assert match_item(identifier, stored).ScheduledProcedureStepSequence == []
    assert match_item(build_identifier(WorklistRequest(modality="CT")), stored) is None


def test_a_key_sequence_without_items_asks_for_the_whole_sequence():
    stored = make_worklist_item(make_worklist_specs(DAY, seed=14, items=4)[3])  # two steps
    identifier = Dataset()
    identifier.PatientName = None
    identifier.ScheduledProcedureStepSequence = []
    response = match_item(identifier, stored)
    assert len(response.ScheduledProcedureStepSequence) == 2
    assert response.ScheduledProcedureStepSequence[1].ScheduledStationName == stored.ScheduledProcedureStepSequence[
        1].ScheduledStationName


def test_unreadable_files_are_reported_and_skipped(tmp_path):
    write_worklist(tmp_path, make_worklist_specs(DAY, seed=15, items=2))
    (tmp_path / "broken.wl").write_bytes(b"\x00" * 10)
    answer = find_worklist(tmp_path, build_identifier(WorklistRequest()))
    assert len(answer.matches) == 2
    assert len(answer.problems) == 1 and answer.problems[0].startswith("broken.wl: ")
    assert find_worklist(tmp_path / "missing", build_identifier(WorklistRequest())).matches == []


def test_demo_specs_are_today_with_international_names():
    today = datetime.date.today()
    specs = make_worklist_specs(today, seed=2026, items=12)
    assert {step.date for s in specs for step in s.steps} == {f"{today:%Y%m%d}"}
    charsets = {s.patient.charset if not isinstance(s.patient.charset, tuple) else s.patient.charset[1]
                for s in specs}
    assert {"GB18030", "ISO_IR 192", "ISO 2022 IR 87", "ISO_IR 100"} <= charsets
    assert len({step.station for s in specs for step in s.steps}) >= 4
