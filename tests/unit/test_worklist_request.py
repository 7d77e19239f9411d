"""Worklist filters, date presets and the MWL identifier: what goes to the SCP, before any network."""

from __future__ import annotations

import datetime
from io import BytesIO

import pytest
from pydicom.filereader import read_dataset

from dicomtui.dicom.validation import InvalidValue
from dicomtui.engine.worklist import WorklistRequest, WorklistRow, diff_rows, resolve_date, row_key
from dicomtui.engine.worklist_decode import decode_response
from dicomtui.engine.worklist_identifier import STEP_KEYS, TOP_KEYS, build_identifier, encode
from dicomtui.engine.worklist_result import rows_from_tree

WEDNESDAY = datetime.date(2024, 1, 3)


# Dates ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("today", "20240103"),
    ("TODAY", "20240103"),
    ("tomorrow", "20240104"),
    ("yesterday", "20240102"),
    ("week", "20240101-20240107"),  # Monday to Sunday
    ("this-week", "20240101-20240107"),
    ("this week", "20240101-20240107"),
    ("20240229", "20240229"),
    ("2024-02-29", "20240229"),
    ("20240101-20240131", "20240101-20240131"),
    ("2024-01-01-2024-01-31", "20240101-20240131"),
    ("20240101-", "20240101-"),
    ("-20240131", "-20240131"),
    ("", ""),
    ("any", ""),
])
def test_dates_and_presets(text, expected):
    assert resolve_date(text, WEDNESDAY) == expected


def test_week_across_a_year_end():
    assert resolve_date("week", datetime.date(2025, 1, 1)) == "20241230-20250105"
    assert resolve_date("tomorrow", datetime.date(2024, 12, 31)) == "20250101"


@pytest.mark.parametrize("text,words", [
    ("20241301", "is not a valid date (month must be in 1..12)"),
    ("20230229", "is not a valid date (day is out of range for month)"),
    ("2024-13-01", "is not a valid date"),
    ("nextweek", "is not a date; write today, tomorrow"),
    ("2024011", "is not a date"),
    ("20240131-20240101", "the range '20240131-20240101' ends before it starts"),
    ("20240101-2024013", "is not a date"),
    ("-", "is not a date or a range"),
    ("2024-01-01-2024-01-0x", "is not a date"),
])
def test_bad_dates_say_what_is_wrong(text, words):
    with pytest.raises(InvalidValue) as caught:
        resolve_date(text, WEDNESDAY, what="--date")
    assert str(caught.value).startswith("--date: ") and words in str(caught.value)


def test_presets_stay_words_until_the_query_runs():
    request = WorklistRequest(date="Tomorrow")
    assert request.date == "tomorrow"  # a screen refreshing after midnight asks for the new day
    assert request.start_date(WEDNESDAY) == "20240104"
    assert request.start_date(WEDNESDAY + datetime.timedelta(days=1)) == "20240105"
    assert WorklistRequest(date="2024-01-05").date == "20240105"


@pytest.mark.parametrize("kwargs,words", [
    ({"date": "2024-02-30"}, "not a valid date"),
    ({"time": "2500"}, "is not a time"),
    ({"modality": "C T!"}, "is not a code such as CT"),
    ({"station": "A_STATION_TITLE_TOO_LONG"}, "is not an AE title"),
    ({"station": "CT\\MR"}, "is not an AE title"),
    ({"limit": 0}, "1 or more"),
])
def test_bad_filters(kwargs, words):
    with pytest.raises(InvalidValue, match=words):
        WorklistRequest(**kwargs)


def test_filters_are_cleaned():
    request = WorklistRequest(modality=" ct ", station=" CT01 ", time="08:00-12:00", patient_name=" SMITH* ")
    assert (request.modality, request.station, request.time, request.patient_name) == ("CT", "CT01", "0800-1200",
                                                                                       "SMITH*")


# The identifier ----------------------------------------------------------------------------------------
def test_step_keys_go_inside_the_sequence_patient_keys_at_the_top():
    request = WorklistRequest(date="today", time="0800-1200", modality="CT", station="CT01",
                              performing_physician="TECH*", patient_name="DOE^J*", patient_id="P1",
                              accession_number="A1")
    ds = build_identifier(request, WEDNESDAY)
    assert [e.keyword for e in ds] == sorted(TOP_KEYS + ("ScheduledProcedureStepSequence",),
                                             key=lambda k: ds[k].tag)
    assert "SpecificCharacterSet" not in ds  # all ASCII
    assert (ds.PatientName, ds.PatientID, ds.AccessionNumber) == ("DOE^J*", "P1", "A1")
    for keyword in TOP_KEYS:
        if keyword not in ("PatientName", "PatientID", "AccessionNumber"):
            assert ds[keyword].value in (None, ""), keyword  # a return key: zero length
    for keyword in ("Modality", "ScheduledStationAETitle", "ScheduledProcedureStepStartDate"):
        assert keyword not in [e.keyword for e in ds]  # never at the top level, where no SCP matches it
    (step,) = ds.ScheduledProcedureStepSequence
    assert {e.keyword for e in step} == set(STEP_KEYS) | {"ScheduledProtocolCodeSequence"}
    assert (step.ScheduledStationAETitle, step.Modality, step.ScheduledProcedureStepStartDate,
            step.ScheduledProcedureStepStartTime, step.ScheduledPerformingPhysicianName) == (
        "CT01", "CT", "20240103", "0800-1200", "TECH*")
    assert step.ScheduledProtocolCodeSequence == []  # the whole sequence is asked for
    for keyword in ("ScheduledProcedureStepID", "ScheduledProcedureStepStatus", "ScheduledStationName",
                    "ScheduledProcedureStepLocation", "ScheduledProcedureStepDescription"):
        assert step[keyword].value in (None, ""), keyword


@pytest.mark.parametrize("implicit", [False, True])
def test_non_ascii_filters_go_out_as_utf8_and_read_back(implicit):
    request = WorklistRequest(patient_name="王^小东", performing_physician="Müller*")
    wire = encode(build_identifier(request, WEDNESDAY), implicit, True)
    assert "王^小东".encode() in wire and "Müller".encode() in wire
    back = read_dataset(BytesIO(wire), implicit, True)
    assert back.SpecificCharacterSet == "ISO_IR 192"
    assert str(back.PatientName) == "王^小东"
    assert str(back.ScheduledProcedureStepSequence[0].ScheduledPerformingPhysicianName) == "Müller*"


# Responses into rows -----------------------------------------------------------------------------------
def _response(charset, name, steps):
    from pydicom.dataset import Dataset

    ds = Dataset()
    if charset:
        ds.SpecificCharacterSet = charset
    ds.PatientName, ds.AccessionNumber, ds.StudyInstanceUID = name, "A1", "1.2.3"
    items = []
    for station, step_id, physician in steps:
        item = Dataset()
        item.ScheduledStationAETitle, item.ScheduledProcedureStepID = station, step_id
        item.ScheduledPerformingPhysicianName = physician
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "P1", "99X", "胸部 protocol"
        item.ScheduledProtocolCodeSequence = [code]
        items.append(item)
    ds.ScheduledProcedureStepSequence = items
    return ds


@pytest.mark.parametrize("charset", ["GB18030", "ISO_IR 192"])
def test_two_steps_are_two_rows_decoded_in_the_response_charset(charset):
    ds = _response(charset, "王^小东", [("CT01", "S1", "李^四"), (["CT01", "CT02"], "S2", "")])
    wire = encode(ds, False, True)
    rows = rows_from_tree(decode_response(read_dataset(BytesIO(wire), False, True), None), item=4)
    assert [(r.patient_name, r.step_id, r.station_ae_title, r.item, r.step) for r in rows] == [
        ("王^小东", "S1", "CT01", 4, 0), ("王^小东", "S2", ["CT01", "CT02"], 4, 1)]
    assert rows[0].performing_physician == "李^四" and rows[1].performing_physician is None
    assert rows[0].protocol[0].text() == "胸部 protocol (99X:P1)"
    assert rows[0].attributes is rows[1].attributes  # the whole response, nested, for a detail view
    assert rows[0].attributes["ScheduledProcedureStepSequence"][0]["ScheduledProtocolCodeSequence"] == [
        {"CodeValue": "P1", "CodingSchemeDesignator": "99X", "CodeMeaning": "胸部 protocol"}]
    data = rows[1].as_json()
    assert data["PatientName"] == "王^小东" and data["ScheduledStationAETitle"] == ["CT01", "CT02"]
    assert data["ScheduledProcedureStepStatus"] is None and data["StudyInstanceUID"] == "1.2.3"


def test_a_response_without_charset_uses_the_node_fallback_inside_sequences_too():
    ds = _response("GB18030", "王^小东", [("CT01", "S1", "李^四")])
    wire = encode(ds, False, True)
    bare = read_dataset(BytesIO(wire), False, True)
    del bare[0x00080005]  # as dcmtk wlmscpfs answers by default
    (row,) = rows_from_tree(decode_response(bare, ["gb18030"]))
    assert (row.patient_name, row.performing_physician) == ("王^小东", "李^四")
    bare = read_dataset(BytesIO(wire), False, True)
    del bare[0x00080005]
    (garbled,) = rows_from_tree(decode_response(bare, None))
    assert garbled.patient_name != "王^小东"


def test_an_item_without_steps_is_still_one_row():
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.PatientName = "DOE^JANE"
    (row,) = rows_from_tree(decode_response(ds, None))
    assert row.patient_name == "DOE^JANE" and row.station_ae_title is None and row.protocol == []


# Refresh and compare -----------------------------------------------------------------------------------
def _row(**values) -> WorklistRow:
    base = dict(accession_number="A1", step_id="S1", study_instance_uid="1.2.3", patient_id="P1",
                start_time="0800")
    return WorklistRow(**(base | values))


def test_diff_appeared_vanished_changed():
    before = [_row(), _row(accession_number="A2", study_instance_uid="1.2.4"), _row(step_id="S2")]
    after = [_row(start_time="0930"), _row(step_id="S2"), _row(accession_number="A3", study_instance_uid="1.2.5")]
    diff = diff_rows(before, after)
    assert [r.accession_number for r in diff.appeared] == ["A3"]
    assert [r.accession_number for r in diff.vanished] == ["A2"]
    assert [(b.start_time, a.start_time) for b, a in diff.changed] == [("0800", "0930")]  # rescheduled, same step
    assert diff.any and not diff_rows(after, list(after)).any


def test_diff_without_identifiers_uses_visible_values_and_counts_duplicates():
    bare = dict(accession_number=None, step_id=None, study_instance_uid=None, patient_id=None)
    one = _row(**bare, patient_name="DOE", start_time="0800")
    other = _row(**bare, patient_name="DOE", start_time="0900")
    assert row_key(one) != row_key(other)
    diff = diff_rows([one, one], [one, other])
    assert diff.appeared == [other] and diff.vanished == [one]
