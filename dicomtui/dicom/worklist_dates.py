"""Worklist date filters: the one reading of "today", "week", 20240105 or 20240101-20240107 that every face uses.

`dicomtui worklist --date`, the Worklist screen's form and the config file's [[worklist_presets]] all check a
date with `resolve_date`, so a date one of them accepts the others accept too, with the same words when not.
Presets stay words until a query runs (`resolve_date(text, today)`), so a screen refreshing across midnight asks
for the new day. Plain Python: the config reads presets with it without loading the engine.
"""

from __future__ import annotations

import datetime
import re

from .validation import InvalidValue

DATE_PRESETS = ("today", "tomorrow", "yesterday", "week")
# Other spellings users type for the same presets.
_PRESET_ALIASES = {"this-week": "week", "this week": "week", "thisweek": "week", "this_week": "week"}
_ANY = ("", "any", "all")
DATE_HELP = "today, tomorrow, yesterday, week (this week, Monday to Sunday), YYYYMMDD or YYYYMMDD-YYYYMMDD"

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def _said(what: str, sentence: str) -> str:
    return f"{what}: {sentence}" if what else sentence


def _one_date(text: str, what: str) -> str:
    iso = _ISO.match(text)
    compact = "".join(iso.groups()) if iso else text
    if not re.fullmatch(r"\d{8}", compact):
        raise InvalidValue(_said(what, f"{text!r} is not a date; write {DATE_HELP}"))
    try:
        datetime.date(int(compact[:4]), int(compact[4:6]), int(compact[6:]))
    except ValueError as exc:
        raise InvalidValue(_said(what, f"{text!r} is not a valid date ({exc})")) from None
    return compact


def preset_name(text: str) -> str | None:
    """The canonical preset ("today", "week"...) `text` names, or None."""
    key = text.strip().lower()
    key = _PRESET_ALIASES.get(key, key)
    return key if key in DATE_PRESETS else None


def preset_range(preset: str, today: datetime.date) -> str:
    """The DICOM date or date range a preset stands for on `today`."""
    if preset == "week":
        monday = today - datetime.timedelta(days=today.weekday())
        return f"{monday:%Y%m%d}-{monday + datetime.timedelta(days=6):%Y%m%d}"
    offset = {"today": 0, "tomorrow": 1, "yesterday": -1}[preset]
    return f"{today + datetime.timedelta(days=offset):%Y%m%d}"


def resolve_date(text: str, today: datetime.date | None = None, what: str = "the date") -> str:
    """The Scheduled Procedure Step Start Date to send for a date filter ("" for any date).

    Accepts a preset (DATE_PRESETS and their other spellings), YYYYMMDD, YYYY-MM-DD, and ranges of those, open
    at either end (20240101-, -20240131). InvalidValue says what is wrong in words, after "`what`: " (nothing
    before it when `what` is empty).
    """
    text = (text or "").strip()
    if text.lower() in _ANY:
        return ""
    preset = preset_name(text)
    if preset is not None:
        return preset_range(preset, today or datetime.date.today())
    if _ISO.match(text) or "-" not in text:
        return _one_date(text, what)
    # A range: split at the '-' that is not inside an ISO date.
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}|[^-]*)-(\d{4}-\d{2}-\d{2}|[^-]*)", text)
    if not match or not (match[1] or match[2]):
        raise InvalidValue(_said(what, f"{text!r} is not a date or a range; write {DATE_HELP}"))
    lo = _one_date(match[1].strip(), what) if match[1].strip() else ""
    hi = _one_date(match[2].strip(), what) if match[2].strip() else ""
    if lo and hi and lo > hi:
        raise InvalidValue(_said(what, f"the range {text!r} ends before it starts"))
    return f"{lo}-{hi}"


def canonical_date(text: str) -> str:
    """A date filter as kept in a preset: checked by `resolve_date` (InvalidValue without a prefix), a preset
    in its canonical spelling ("this-week" -> "week"), anything else as written, trimmed."""
    text = (text or "").strip()
    resolve_date(text, what="")
    return preset_name(text) or ("any" if text.lower() in _ANY[1:] else text)
