"""The identifier find sends before it imports pydicom is the one pydicom would have written."""

from __future__ import annotations

import pytest
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

from dicomtui.engine.query_keys import build_identifier
from dicomtui.engine.query_request import KNOWN, QueryRequest, identifier_bytes, resolve_attribute

REQUESTS = [
    QueryRequest(),
    QueryRequest(level="PATIENT", model="patient", keys={"PatientName": "SMITH*"}),
    QueryRequest(level="STUDY", keys={"PatientName": "王^小东", "StudyDate": "20240101-20240131",
                                      "ModalitiesInStudy": "CT\\MR"}),
    QueryRequest(level="SERIES", keys={"StudyInstanceUID": "1.2.3,1.2.4.5"}, return_keys=["BodyPartExamined"]),
    QueryRequest(level="IMAGE", keys={"SeriesInstanceUID": "1.2.3"}, return_keys=["(0008,0008)", "ContentDate"]),
    QueryRequest(keys={"AccessionNumber": "A1", "StudyTime": "0800-1200", "PatientBirthDate": "19700101"},
                 return_keys=["InstitutionName", "0008,1010", "PatientAge"]),
    QueryRequest(keys={"ReferringPhysicianName": "Müller^Jörg", "StudyDescription": "Thorax?"}),
    QueryRequest(return_keys=["OperatorsName", "StudyComments"]),  # not in the table: pydicom's dictionary
]


def _pydicom_bytes(request: QueryRequest, explicit: bool) -> bytes:
    buffer = DicomBytesIO()
    buffer.is_implicit_VR, buffer.is_little_endian = not explicit, True
    write_dataset(buffer, build_identifier(request))
    return buffer.getvalue()


@pytest.mark.parametrize("explicit", [True, False], ids=["explicit", "implicit"])
@pytest.mark.parametrize("request_", REQUESTS)
def test_identifier_bytes_are_what_pydicom_writes(request_, explicit):
    assert identifier_bytes(request_, explicit) == _pydicom_bytes(request_, explicit)


def test_sequences_are_left_to_pydicom():
    assert identifier_bytes(QueryRequest(return_keys=["ReferencedStudySequence"]), True) is None


def test_the_table_is_pydicom_dictionary():
    for keyword, (tag, vr) in KNOWN.items():
        assert (tag_for_keyword(keyword), dictionary_VR(tag)) == (tag, vr), keyword


def test_tags_and_keywords_resolve_alike():
    assert resolve_attribute("(0010,0010)") == resolve_attribute("PatientName") == (0x00100010, "PatientName", "PN")
    assert resolve_attribute("0008,1070") == (0x00081070, "OperatorsName", "PN")  # outside the table
