"""The C-FIND request side without a network: keys users type, the identifier, values turned into rows."""

from __future__ import annotations

from io import BytesIO

import pytest
from pydicom import dcmread
from pydicom.data import get_charset_files
from pydicom.dataset import Dataset
from pynetdicom.dsutils import decode, encode

from dicomtui.cli.find_cmd import format_table, width
from dicomtui.dicom.validation import InvalidValue
from dicomtui.engine.query import (
    QueryRequest,
    build_identifier,
    columns_for,
    decode_row,
    element_value,
    parse_key,
    to_row,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("PatientName=Sm*", ("PatientName", "Sm*")),
    ("(0010,0010)=DOE^J?NE", ("PatientName", "DOE^J?NE")),
    ("0010,0020=ID1", ("PatientID", "ID1")),
    ("StudyDate=20240101", ("StudyDate", "20240101")),
    ("StudyDate=2024-01-01", ("StudyDate", "20240101")),
    ("StudyDate=20240101-20240131", ("StudyDate", "20240101-20240131")),
    ("StudyDate=2024-01-01-2024-01-31", ("StudyDate", "20240101-20240131")),
    ("StudyDate=-20240131", ("StudyDate", "-20240131")),
    ("StudyDate=20240101-", ("StudyDate", "20240101-")),
    ("StudyTime=0800-12:30", ("StudyTime", "0800-1230")),
    ("StudyInstanceUID=1.2.3\\1.2.4", ("StudyInstanceUID", "1.2.3\\1.2.4")),
    ("StudyInstanceUID=1.2.3,1.2.4", ("StudyInstanceUID", "1.2.3\\1.2.4")),
    ("PatientAge", ("PatientAge", "")),
    ("PatientName=王*", ("PatientName", "王*")),
])
def test_parse_key_accepts(text, expected):
    assert parse_key(text) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("PatientNme=X", "did you mean PatientName"),
    ("NoSuchThing=X", "not a DICOM keyword"),
    ("(0011,0010)=X", "not in the DICOM dictionary"),
    ("StudyDate=2024-13-01", "not a valid date"),
    ("StudyDate=20240230", "not a valid date"),
    ("StudyDate=20240201-20240101", "ends before it starts"),
    ("StudyDate=yesterday", "not a date"),
    ("StudyTime=2500", "not a time"),
    ("StudyInstanceUID=1.2.x", "not a UID"),
    ("SeriesNumber=three", "not a whole number"),
    ("=X", "not KEY=VALUE"),
])
def test_parse_key_refuses_in_words(text, words):
    with pytest.raises(InvalidValue, match=words):
        parse_key(text)


def test_request_levels_and_models_are_checked():
    with pytest.raises(InvalidValue, match="no PATIENT level"):
        QueryRequest(level="patient", model="study")
    with pytest.raises(InvalidValue, match="not one of"):
        QueryRequest(level="frame")
    with pytest.raises(InvalidValue, match="1 or more"):
        QueryRequest(limit=0)


@pytest.mark.parametrize(("level", "model", "expected"), [
    ("PATIENT", "patient", {"PatientName", "PatientID", "PatientBirthDate", "PatientSex"}),
    ("STUDY", "study", {"PatientName", "PatientID", "StudyDate", "StudyTime", "AccessionNumber",
                        "StudyDescription", "ModalitiesInStudy", "StudyInstanceUID",
                        "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances"}),
    ("SERIES", "study", {"Modality", "SeriesNumber", "SeriesDescription", "SeriesInstanceUID",
                         "NumberOfSeriesRelatedInstances"}),
    ("IMAGE", "patient", {"SOPClassUID", "SOPInstanceUID", "InstanceNumber"}),
])
def test_default_return_keys_per_level(level, model, expected):
    ds = build_identifier(QueryRequest(level=level, model=model))
    assert ds.QueryRetrieveLevel == level
    assert {e.keyword for e in ds} - {"QueryRetrieveLevel"} == expected
    assert all(e.value in (None, "") for e in ds if e.keyword != "QueryRetrieveLevel")
    assert "SpecificCharacterSet" not in ds


def test_identifier_carries_higher_unique_keys_extra_keys_and_values():
    request = QueryRequest(level="IMAGE", model="patient",
                           keys={"PatientID": "P1", "StudyInstanceUID": "1.2", "SeriesInstanceUID": "1.2.3"},
                           return_keys=["(0018,0050)", "0020,0013", "ImageType"])
    ds = build_identifier(request)
    assert (ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID) == ("P1", "1.2", "1.2.3")
    assert "SliceThickness" in ds and "ImageType" in ds and ds.InstanceNumber is None
    assert columns_for(request)[:3] == ["SOPClassUID", "SOPInstanceUID", "InstanceNumber"]
    assert columns_for(request)[3:] == ["SliceThickness", "ImageType", "PatientID", "StudyInstanceUID",
                                        "SeriesInstanceUID"]


def test_uid_list_becomes_multi_valued():
    ds = build_identifier(QueryRequest(keys={"StudyInstanceUID": "1.2.3,1.2.4"}))
    assert list(ds.StudyInstanceUID) == ["1.2.3", "1.2.4"]


def test_non_ascii_values_are_sent_as_utf8():
    ds = build_identifier(QueryRequest(keys={"PatientName": "王*"}))
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert "王*".encode() in encode(ds, False, True)


def test_values_become_plain_data():
    ds = Dataset()
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    ds.QueryRetrieveLevel = "STUDY"
    ds.PatientName = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    ds.ModalitiesInStudy = ["CT", "SR"]
    ds.StudyDescription = ""
    ds.NumberOfStudyRelatedInstances = 12
    ds.StudyDate = "20240101"
    row = to_row(decode(BytesIO(encode(ds, False, True)), False, True))
    assert row == {"StudyDate": "20240101", "ModalitiesInStudy": ["CT", "SR"], "StudyDescription": None,
                   "PatientName": "Yamada^Tarou=山田^太郎=やまだ^たろう", "NumberOfStudyRelatedInstances": "12"}


def test_fallback_charset_decodes_responses_that_do_not_declare_one():
    ds = Dataset()
    ds.SpecificCharacterSet = "GB18030"
    ds.PatientName = "王^小东"
    raw = encode(ds, False, True)
    raw = raw[raw.index(b"\x10\x00\x10\x00"):]  # drop (0008,0005): an archive that omits it
    assert decode_row(decode(BytesIO(raw), False, True), ["gb18030"])["PatientName"] == "王^小东"
    assert to_row(decode(BytesIO(raw), False, True))["PatientName"] != "王^小东"


def test_table_fits_80_columns_and_counts_wide_characters():
    rows = [{"PatientName": "王^小东", "PatientID": "X" * 40, "StudyInstanceUID": "1.2." + "9" * 60}]
    table = format_table(["PatientName", "PatientID", "StudyInstanceUID"], rows)
    assert all(width(line) <= 80 for line in table.splitlines())
    assert "王^小东" in table and "…" in table


def _slow_row(ds: Dataset) -> dict:
    return {e.keyword or f"{e.tag.group:04X}{e.tag.element:04X}": element_value(e) for e in ds
            if e.tag not in (0x00080005, 0x00080052)}


@pytest.mark.parametrize("name", ["chrX1.dcm", "chrX2.dcm", "chrH31.dcm", "chrH32.dcm", "chrJapMulti.dcm",
                                  "chrJapMultiExplicitIR6.dcm", "chrFren.dcm", "chrGerm.dcm", "chrRuss.dcm",
                                  "chrGreek.dcm", "chrArab.dcm", "chrHbrw.dcm", "chrI2.dcm", "chrSQEncoding.dcm"])
@pytest.mark.parametrize("implicit", [True, False])
def test_fast_text_decoding_agrees_with_pydicom_on_its_charset_files(name, implicit):
    source = dcmread(get_charset_files(name)[0])
    del source.file_meta
    source.pop(0x7FE00010, None)
    wire = encode(source, implicit, True)
    fast = to_row(decode(BytesIO(wire), implicit, True))
    slow = _slow_row(decode(BytesIO(wire), implicit, True))
    assert fast == slow
    assert "\ufffd" not in str(fast.get("PatientName"))
