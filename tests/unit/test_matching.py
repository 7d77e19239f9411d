"""C-FIND attribute matching, PS3.4 C.2.2.2, one rule at a time."""

from __future__ import annotations

import pytest
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from dicomtui.engine.archive.matching import (
    bounds,
    is_universal,
    match,
    match_person_name,
    match_range,
    parse_range,
    split_values,
    text,
)


# Universal ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", [None, "", "  ", "*", " * "])
@pytest.mark.parametrize("vr", ["LO", "PN", "UI", "DA", "TM", "DT", "CS", "IS"])
def test_universal_key_matches_everything_even_empty_values(vr, key):
    assert is_universal(key)
    for candidate in ("ANYTHING", "", None, ["A", "B"]):
        assert match(vr, key, candidate)


def test_star_question_is_not_universal():
    assert not is_universal("*?")
    assert not match("LO", "*?", "")
    assert match("LO", "*?", "x")


# Single value ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "vr,key,value,expected",
    [
        ("LO", "ABC", "ABC", True),
        ("LO", "ABC", "abc", False),  # case-sensitive outside PN
        ("LO", "ABC", "ABCD", False),
        ("SH", "ABC ", " ABC", True),  # leading / trailing spaces are insignificant
        ("CS", "CT", "CT", True),
        ("CS", "CT", "MR", False),
        ("AE", "STORESCP", "STORESCP", True),
        ("LO", "ABC", "", False),  # an empty value only meets universal matching
        ("LO", "ABC", None, False),
        ("LO", "Ünïcödé", "Ünïcödé", True),
        ("LO", "ünïcödé", "Ünïcödé", False),
    ],
)
def test_single_value(vr, key, value, expected):
    assert match(vr, key, value) is expected


@pytest.mark.parametrize(
    "key,value,expected",
    [("1", "1", True), ("1", "01", True), ("1", " 1 ", True), ("1", "2", False), ("1", 1, True),
     ("x", "x", True), ("1", "x", False), ("1*", "12", True), ("1*", "21", False)],
)
def test_numbers_compare_as_numbers(key, value, expected):
    assert match("IS", key, value) is expected


def test_decimals_compare_as_numbers():
    assert match("DS", "1.50", "1.5")
    assert match("DS", "1e1", "10")
    assert not match("DS", "1.5", "1.51")


# Wildcards ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("CT*", "CT CHEST", True),
        ("*CHEST*", "CT CHEST W/O", True),
        ("*chest*", "CT CHEST", False),  # still case-sensitive
        ("C?", "CT", True),
        ("C?", "C", False),
        ("C?", "CTX", False),
        ("??", "CT", True),
        ("*W/O*", "CT CHEST W/O CONTRAST", True),
        ("A.C", "ABC", False),  # regex characters are literal
        ("A.C*", "A.CD", True),
        ("[A]*", "[A]B", True),
        ("(*)", "(x)", True),
        ("胸部*", "胸部平扫", True),
        ("胸?平扫", "胸部平扫", True),
        ("A*B*C", "AxxBxxC", True),
        ("A*B*C", "AxxCxxB", False),
        ("a\nb*", "a\nbc", True),
    ],
)
def test_wildcards(key, value, expected):
    assert match("LO", key, value) is expected


def test_only_a_lone_star_is_universal():
    assert not is_universal("**")
    assert match("LO", "**", "anything")
    assert not match("LO", "**", "")  # an empty value meets universal matching only


def test_wildcards_do_not_apply_to_uids():
    assert not match("UI", "1.2.*", "1.2.3")
    assert not match("UI", "1.2.?", "1.2.3")
    assert match("UI", "1.2.?", "1.2.?")


# UID lists ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("1.2.3", "1.2.3", True),
        ("1.2.3", "1.2.30", False),
        ("1.2.3", "1.2", False),
        ("1.2.3\\1.2.4", "1.2.4", True),
        ("1.2.3\\1.2.4", "1.2.5", False),
        ("1.2.3\\1.2.4\\1.2.5", "1.2.5", True),
        (["1.2.3", "1.2.4"], "1.2.4", True),
        (MultiValue(str, ["1.2.3", "1.2.4"]), "1.2.3", True),
        ("1.2.3\0", "1.2.3", True),  # UI padding
        ("1.2.3", "", False),
    ],
)
def test_uid_list(key, value, expected):
    assert match("UI", key, value) is expected


# Multiple values ---------------------------------------------------------------------------------------
def test_multi_valued_candidate_matches_when_any_value_does():
    assert match("CS", "MR", "CT\\MR")
    assert match("CS", "MR", ["CT", "MR"])
    assert match("CS", "M?", MultiValue(str, ["CT", "MR"]))
    assert not match("CS", "US", "CT\\MR")


def test_key_list_matches_when_any_alternative_does():
    assert match("CS", "CT\\MR", "MR")
    assert match("CS", "CT\\MR", "SR\\MR")
    assert not match("CS", "CT\\MR", "US")
    assert match("LO", "A*\\B*", "Bob")


def test_single_valued_text_keeps_backslashes():
    assert match("LT", "a\\b", "a\\b")
    assert not match("LT", "a\\b", "a")
    assert split_values("ST", "x\\y") == ["x\\y"]
    assert split_values("LO", "x\\ y ") == ["x", "y"]


# Person names ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("DOE^JANE", "DOE^JANE", True),
        ("doe^jane", "DOE^JANE", True),  # PN is case-insensitive
        ("Doe*", "DOE^JANE", True),
        ("*jane", "DOE^JANE", True),
        ("DOE^J?NE", "DOE^JANE", True),
        ("DOE", "DOE^JANE", False),
        ("DOE^JANE", "DOE^JANE^^^", True),  # trailing empty components are not significant
        ("DOE^JANE^", "DOE^JANE", True),
        ("müller*", "Müller^Jürgen", True),
        ("MÜLLER^JÜRGEN", "Müller^Jürgen", True),
        ("ødegård^åse", "Ødegård^Åse", True),
        ("王^小东", "王^小东", True),
        ("王*", "王^小东", True),
        ("王*", "Wang^XiaoDong=王^小東", True),  # a key without '=' may match any component group
        ("wang^xiaodong", "Wang^XiaoDong=王^小東", True),
        ("山田^太郎", "Yamada^Tarou=山田^太郎=やまだ^たろう", True),
        ("やまだ*", "Yamada^Tarou=山田^太郎=やまだ^たろう", True),
        ("Yamada^Tarou=山田^太郎=やまだ^たろう", "Yamada^Tarou=山田^太郎=やまだ^たろう", True),
        ("Yamada^Tarou=山田*", "Yamada^Tarou=山田^太郎=やまだ^たろう", True),
        ("Yamada^Tarou=鈴木*", "Yamada^Tarou=山田^太郎=やまだ^たろう", False),
        ("*=Лукасевич*", "Łukasiewicz^Zoë=Лукасевич^Зоя", True),
        ("лукасевич^зоя", "Łukasiewicz^Zoë=Лукасевич^Зоя", True),
        ("SMITH", "", False),
    ],
)
def test_person_name(key, value, expected):
    assert match("PN", key, value) is expected
    assert match("PN", key, PersonName(value)) is expected


def test_person_name_function_directly():
    assert match_person_name("a*", "Abc")
    assert not match_person_name("a*", "")


# Dates -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("20240115", "20240115", True),
        ("20240115", "20240116", False),
        ("20240101-20240131", "20240101", True),
        ("20240101-20240131", "20240131", True),
        ("20240101-20240131", "20240115", True),
        ("20240101-20240131", "20231231", False),
        ("20240101-20240131", "20240201", False),
        ("-20240131", "19000101", True),
        ("-20240131", "20240201", False),
        ("20240101-", "20991231", True),
        ("20240101-", "20231231", False),
        (" 20240101 - 20240131 ", "20240110", True),
        ("2024.01.01-2024.01.31", "20240110", True),  # ACR-NEMA dates
        ("20240101-20240131", "2024.01.10", True),
        ("-", "20240110", True),  # both ends open
        ("20240101-20240131", "", False),
        ("20240101-20240131", "garbage", False),
        ("2024XX01-20240131", "20240110", False),  # a key that does not parse matches nothing
        ("20240131-20240101", "20240115", False),  # reversed range
        ("20240101*", "20240101", False),  # no wildcards in dates
        ("20240101\\20240301", "20240301", True),  # a list of dates
    ],
)
def test_date_matching(key, value, expected):
    assert match("DA", key, value) is expected


# Times -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("103000", "103000", True),
        ("103000", "103001", False),
        ("10", "102000", True),  # a partial time covers its whole precision
        ("10", "095959.999999", False),
        ("1030", "103059.5", True),
        ("1030", "103100", False),
        ("1000-1100", "103000", True),
        ("1000-1100", "110059", True),  # the upper bound 11:00 covers the minute
        ("1000-1100", "110100", False),
        ("1000-1100", "095959", False),
        ("-1030", "103045", True),
        ("-1030", "103100", False),
        ("-1030", "000000", True),
        ("1030-", "235959.999999", True),
        ("1030-", "102959", False),
        ("10-12", "12", True),
        ("103000.5-103001", "103000.4", False),
        ("103000.5-103001", "103000.5", True),
        ("103000.5-103001", "103000.500001", True),
        ("103000.123456-103000.123456", "103000.123456", True),
        ("103000.123456-103000.123456", "103000.123457", False),
        ("-103000.1", "103000.19", True),  # .1 covers .100000 to .199999
        ("-103000.1", "103000.2", False),
        ("10:30-11:00", "103000", True),  # ACR-NEMA times
        ("1000-1100", "10:30:00", True),
        ("1-2", "013000", False),  # an odd number of digits is not a time
        ("1000-1100", "", False),
        ("10300", "103000", False),
    ],
)
def test_time_matching(key, value, expected):
    assert match("TM", key, value) is expected


def test_time_bounds():
    assert bounds("TM", "10") == "100000000000"
    assert bounds("TM", "10", upper=True) == "105959999999"
    assert bounds("TM", "103000.5", upper=True) == "103000599999"
    assert bounds("TM", "1030.5") is None  # a fraction needs full seconds
    assert bounds("TM", "103000.1234567") is None
    assert bounds("TM", "") is None  # parse_range handles open ends before asking
    assert parse_range("TM", "x-") is None


# Date-times --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("20240101103000", "20240101103000", True),
        ("2024", "20240615120000", True),
        ("2024-2025", "20251231235959", True),  # bare years: the '-' before 2025 is no offset
        ("2024-2025", "20260101", False),
        ("20240101-20240102", "20240102235959.999999", True),
        ("20240101-0500", "20240101120000", True),  # one value with an offset (offsets are ignored)
        ("20240101120000+0100-20240102-0500", "20240102080000", True),
        ("20240101120000+0100-20240102-0500", "20240101115959", False),
        ("-20240101", "20231231", True),
        ("20240101-", "20231231", False),
        ("202401011030-202401011100", "20240101105959.999", True),
        ("202401011030-202401011100", "20240101110100", False),
        ("20240101", "20240101103000+0200", True),
    ],
)
def test_datetime_matching(key, value, expected):
    assert match("DT", key, value) is expected


def test_range_function_directly():
    assert match_range("DA", "20240101-20240102", "20240102")
    assert parse_range("DA", "20240101-20240102") == ("20240101", "20240102")
    assert parse_range("DA", "-20240102") == (None, "20240102")
    assert parse_range("DA", "2024") == ("20240101", "20241231")


# Values of every shape ---------------------------------------------------------------------------------
def test_text_of_pydicom_values():
    assert text(None) == ""
    assert text(PersonName("A^B")) == "A^B"
    assert text(MultiValue(str, ["CT", "MR"])) == "CT\\MR"
    assert text(b"AB \0") == "AB"
    assert text(12) == "12"
