"""C-FIND attribute matching (DICOM PS3.4 C.2.2.2) as pure functions on decoded values.

``match(vr, key, candidate)`` says whether a stored value (``candidate``) matches a key from a request
identifier. Keys and candidates may be text, None, numbers or pydicom values (MultiValue, PersonName).

- Universal: an empty key, or ``*`` alone, matches everything, empty values included.
- UI: a list of UIDs (backslash-separated); no wildcards (``?`` and ``*`` are literal in a UID).
- DA, TM, DT: a single value or a range ``a-b``, ``-b``, ``a-``. A partial time or date-time covers its whole
  precision: ``10`` is 10:00:00.000000 to 10:59:59.999999, so ``-1030`` includes 10:30:45 and ``10`` alone
  matches 10:20. (dcmtk reads ``1030`` as the instant 10:30:00, so its upper bounds end earlier.) DT offsets
  (``+0100``) are ignored. A value that does not parse matches nothing.
- PN: case-insensitive, wildcards, and a key without ``=`` may match any component group (alphabetic,
  ideographic, phonetic); trailing ``^`` and spaces are not significant.
- Everything else: case-sensitive, with ``*`` (any run) and ``?`` (one character) wildcards; IS and DS
  compare as numbers when neither side has wildcards.
- A backslash in a key (except for LT, ST, UT, UR) separates alternatives; a multi-valued candidate matches
  when any of its values does.

Leading and trailing spaces are insignificant everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from functools import lru_cache

SINGLE_VALUED_TEXT = frozenset({"LT", "ST", "UT", "UR"})  # a backslash is part of the text
RANGE_VRS = frozenset({"DA", "TM", "DT"})

# Padding that turns a partial value into the first / last instant it covers, by position.
_FILL = {
    "DA": ("00000101", "99991231"),
    "TM": ("000000000000", "235959999999"),  # HHMMSS + 6 fraction digits
    "DT": ("00000101000000000000", "99991231235959999999"),
}


def text(value: object) -> str:
    """A key or stored value as one string (multiple values joined by backslashes), spaces stripped."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1").strip(" \0")
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "\\".join(text(v) for v in value)
    return str(value).strip(" \0")


def is_universal(key: object) -> bool:
    return text(key) in ("", "*")


def has_wildcard(key: str) -> bool:
    return "*" in key or "?" in key


def split_values(vr: str, value: object) -> list[str]:
    """The values of a key or candidate: split on backslashes unless the VR is single-valued text."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [text(v) for v in value]
    whole = text(value)
    return [whole] if vr in SINGLE_VALUED_TEXT else [v.strip(" \0") for v in whole.split("\\")]


def match(vr: str, key: object, candidate: object) -> bool:
    """Whether ``candidate`` matches ``key`` for an attribute of value representation ``vr``."""
    if is_universal(key):
        return True
    keys = split_values(vr, key)
    values = split_values(vr, candidate)
    if vr == "UI":
        wanted = set(keys)
        return any(v in wanted for v in values)
    return any(_match_one(vr, k, v) for k in keys for v in values if v)


def _match_one(vr: str, key: str, value: str) -> bool:
    if key == "*":
        return True
    if vr in RANGE_VRS:
        return match_range(vr, key, value)
    if vr == "PN":
        return match_person_name(key, value)
    if vr in ("IS", "DS") and not has_wildcard(key):
        try:
            return Decimal(key) == Decimal(value)
        except InvalidOperation:
            return key == value
    return _pattern(key, False).fullmatch(value) is not None if has_wildcard(key) else key == value


@lru_cache(maxsize=512)
def _pattern(key: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in key)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _normal_name(name: str) -> str:
    return "=".join(group.rstrip("^ ") for group in name.split("="))


def match_person_name(key: str, value: str) -> bool:
    """Case-insensitive PN matching with wildcards; a key with no '=' may match any component group."""
    key, value = _normal_name(key), _normal_name(value)
    pattern = _pattern(key, True)
    candidates = [value] if "=" in key else [value, *value.split("=")]
    return any(pattern.fullmatch(c) for c in candidates if c)


# ---------------------------------------------------------------------------------------------------------
# Dates and times


def _strip_offset(value: str) -> str:
    # "&ZZXX" ends a DT. "-dddd" could also end a range whose upper bound is a bare year; offsets go no
    # further west than -1200, so a larger number is read as a year.
    if len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit() and (value[-5] == "+" or value[-4:] <= "1200"):
        return value[:-5]
    return value


def bounds(vr: str, value: str, upper: bool = False) -> str | None:
    """The first (or with ``upper`` the last) instant a DA/TM/DT value covers, as fixed-width digits that
    sort like time; None if the value does not parse."""
    value = value.strip()
    if vr == "DT":
        value = _strip_offset(value)
    elif vr == "TM":
        value = value.replace(":", "")  # ACR-NEMA HH:MM:SS
    else:
        value = value.replace(".", "")  # ACR-NEMA YYYY.MM.DD
    whole, dot, fraction = value.partition(".")
    fill = _FILL[vr][1 if upper else 0]
    width = len(fill) - (0 if vr == "DA" else 6)  # digits before the fraction
    if not whole.isascii() or not whole.isdigit() or len(whole) > width or len(whole) % 2:
        return None
    if dot and (len(whole) != width or not fraction.isascii() or not fraction.isdigit() or len(fraction) > 6):
        return None
    digits = whole + fraction
    return digits + fill[len(digits):]


def parse_range(vr: str, key: str) -> tuple[str | None, str | None] | None:
    """(lowest, highest) instant a DA/TM/DT key accepts; None for an open end. None if it does not parse."""
    key = key.strip()
    lo, hi = bounds(vr, key), bounds(vr, key, upper=True)
    if lo is not None:  # a single value (a DT with a negative offset has a '-' but is no range)
        return lo, hi
    for i, char in enumerate(key):  # DA and TM have one '-', a DT range may have three
        if char != "-":
            continue
        first, second = key[:i].strip(), key[i + 1 :].strip()
        lo = bounds(vr, first) if first else None
        hi = bounds(vr, second, upper=True) if second else None
        if (lo is not None or not first) and (hi is not None or not second):
            return lo, hi
    return None


def match_range(vr: str, key: str, value: str) -> bool:
    """Single value or range matching of a DA, TM or DT value."""
    limits = parse_range(vr, key)
    instant = bounds(vr, value)
    if limits is None or instant is None:
        return False
    lo, hi = limits
    return (lo is None or lo <= instant) and (hi is None or instant <= hi)
