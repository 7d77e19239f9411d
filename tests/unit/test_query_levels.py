"""The rows of one Query screen level as plain data: filter, sort, rows arriving while sorted, patients."""

from __future__ import annotations

from dicomtui.tui.query_levels import Level, find_command, sort_key
from dicomtui.tui.widgets.result_table import fit


def series(*numbers: str) -> list[dict]:
    return [{"SeriesNumber": n, "Modality": "CT", "SeriesDescription": f"Series {n}", "SeriesInstanceUID": f"1.{n}"}
            for n in numbers]


def test_filter_matches_any_value_without_case_and_never_across_two():
    level = Level("STUDY", {}, "")
    level.add([{"PatientName": "Müller^Jürgen", "StudyDescription": "CT HEAD"},
               {"PatientName": "Smith^Ann", "ModalitiesInStudy": ["MR", "SR"]},
               {"PatientName": "Jones^Bob", "StudyDescription": None}])
    for text, expected in (("MÜLLER", [0]), ("mr\\sr", [1]), ("", [0, 1, 2]), ("jürgenct", []), ("^", [0, 1, 2])):
        level.filter = text
        level.arrange()
        assert level.shown == expected, text


def test_numbers_sort_as_numbers_and_arrival_order_comes_back():
    level = Level("SERIES", {"StudyInstanceUID": "1"}, "")
    level.add(series("10", "2", "1", "100"))
    level.sort = 0
    level.arrange()
    assert [level.row_at(i)["SeriesNumber"] for i in range(4)] == ["1", "2", "10", "100"]
    level.sort = None
    level.arrange()
    assert level.shown == [0, 1, 2, 3]
    assert sorted(["b", "10", "a", "9"], key=sort_key) == ["9", "10", "a", "b"]


def test_rows_arriving_while_sorted_and_filtered_go_into_place():
    level = Level("SERIES", {"StudyInstanceUID": "1"}, "", sort=0, filter="series")
    assert level.add(series("5", "3")) == [0, 1]
    assert level.add([{"SeriesNumber": "4", "SeriesDescription": "scout"}, *series("1")]) == [3]
    assert [level.row_at(i)["SeriesNumber"] for i in range(len(level.shown))] == ["1", "3", "5"]


def test_patient_level_opens_studies_by_id_and_is_not_retrieved():
    level = Level("PATIENT", {"PatientName": "S*"}, "")
    level.add([{"PatientName": "Smith^Ann", "PatientID": "P1"}, {"PatientName": "Nobody^Known", "PatientID": ""}])
    assert level.child_keys(level.rows[0]) == {"PatientID": "P1"}
    assert level.child_keys(level.rows[1]) == {"PatientName": "Nobody^Known"}
    assert not level.retrievable and Level("STUDY", {}, "").retrievable
    assert find_command("pacs", level) == ("dicomtui find pacs -k 'PatientName=S*' -k NumberOfPatientRelatedStudies "
                                           "--level patient --model patient")


def test_fit_pads_cuts_wide_characters_and_hides_control_characters():
    assert fit("CT", 4) == "CT  "
    assert fit("ABDOMEN PELVIS", 8) == "ABDOMEN…"
    assert fit("山田^太郎", 6) == "山田^…"  # wide characters take two cells each
    assert fit("山田太郎", 4) == "山 …"  # a wide character never half-drawn: a blank takes the odd cell
    assert fit("bad\x1b[31m\nline", 20) == "bad?[31m?line       "
