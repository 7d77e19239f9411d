"""What a Modality Worklist query asks, as plain data: filters as a modality sets them, no pydicom here.

A scanner asks its worklist "for my AE title, my modality, today". `WorklistRequest` holds those filters as
typed; `resolve_date(text, today)` turns a date filter (a preset like "today" or a DICOM date or range) into
the value that goes into Scheduled Procedure Step Start Date. Presets are kept as words in the request and
resolved when the query runs, so a screen refreshing across midnight asks for the new day.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from ..dicom.validation import AE_TITLE_MAX, InvalidValue
from .query_request import check_value

# Modality Worklist Information Model - FIND (PS3.4 K.6.1.2).
MWL_FIND = "1.2.840.10008.5.1.4.31"

# What the identifier holds (worklist_identifier.py builds it; command_lines.py writes it for findscu).
# Every key goes out; those the request gives a value are matching keys, the rest return keys.
# Top level: the patient and the requested procedure.
TOP_KEYS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber", "ReferringPhysicianName",
    "StudyInstanceUID", "RequestedProcedureID", "RequestedProcedureDescription", "RequestedProcedurePriority",
    "AdmissionID",
)
# Inside each item of the Scheduled Procedure Step Sequence.
STEP_KEYS = (
    "ScheduledStationAETitle", "ScheduledProcedureStepStartDate", "ScheduledProcedureStepStartTime", "Modality",
    "ScheduledPerformingPhysicianName", "ScheduledProcedureStepDescription", "ScheduledStationName",
    "ScheduledProcedureStepLocation", "ScheduledProcedureStepID", "ScheduledProcedureStepStatus",
)
# Asked for whole (an empty sequence is universal matching: every item comes back).
STEP_SEQUENCES = ("ScheduledProtocolCodeSequence",)

DATE_PRESETS = ("today", "tomorrow", "yesterday", "week")
# Other spellings users type for the same presets.
_PRESET_ALIASES = {"this-week": "week", "this week": "week", "thisweek": "week", "this_week": "week"}
DATE_HELP = "today, tomorrow, yesterday, week (this week, Monday to Sunday), YYYYMMDD or YYYYMMDD-YYYYMMDD"

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_CODE_STRING = re.compile(r"^[A-Z0-9 _*?]*$")  # CS: upper case, digits, space, underscore (+ wildcards)


def _one_date(text: str, what: str) -> str:
    iso = _ISO.match(text)
    compact = "".join(iso.groups()) if iso else text
    if not re.fullmatch(r"\d{8}", compact):
        raise InvalidValue(f"{what}: {text!r} is not a date; write {DATE_HELP}")
    try:
        datetime.date(int(compact[:4]), int(compact[4:6]), int(compact[6:]))
    except ValueError as exc:
        raise InvalidValue(f"{what}: {text!r} is not a valid date ({exc})") from None
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

    Accepts a preset (DATE_PRESETS), YYYYMMDD, YYYY-MM-DD, and ranges of those, open at either end
    (20240101-, -20240131). InvalidValue says what is wrong in words.
    """
    text = (text or "").strip()
    if text.lower() in ("", "any", "all"):
        return ""
    preset = preset_name(text)
    if preset is not None:
        return preset_range(preset, today or datetime.date.today())
    if _ISO.match(text) or "-" not in text:
        return _one_date(text, what)
    # A range: split at the '-' that is not inside an ISO date.
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}|[^-]*)-(\d{4}-\d{2}-\d{2}|[^-]*)", text)
    if not match or not (match[1] or match[2]):
        raise InvalidValue(f"{what}: {text!r} is not a date or a range; write {DATE_HELP}")
    lo = _one_date(match[1].strip(), what) if match[1].strip() else ""
    hi = _one_date(match[2].strip(), what) if match[2].strip() else ""
    if lo and hi and lo > hi:
        raise InvalidValue(f"{what}: the range {text!r} ends before it starts")
    return f"{lo}-{hi}"


def _code(value: str, what: str) -> str:
    value = value.strip().upper()  # modalities are upper case (CS); "ct" is what people type
    if len(value) > 16 or not _CODE_STRING.match(value):
        raise InvalidValue(f"{what}: {value!r} is not a code such as CT, MR or US (letters and digits, at most "
                           "16 characters)")
    return value


def _station(value: str) -> str:
    value = value.strip()
    if len(value) > AE_TITLE_MAX or "\\" in value or not value.isascii():
        raise InvalidValue(f"the station AE title {value!r} is not an AE title (at most {AE_TITLE_MAX} plain "
                           "ASCII characters, no backslash)")
    return value


@dataclass
class WorklistRequest:
    """One MWL C-FIND. Empty strings match everything; wildcards * and ? work in text filters.

    `date` is a preset or a DICOM date/range (checked here, resolved by `resolve_date` when it runs);
    `time` a start time or range such as 0800-1200. Station, modality, date, time and performing
    physician are matched inside the Scheduled Procedure Step Sequence, as PS3.4 K.6.1.2.2 says.
    """

    date: str = ""
    time: str = ""
    modality: str = ""
    station: str = ""  # Scheduled Station AE Title: the modality asking
    performing_physician: str = ""
    patient_name: str = ""
    patient_id: str = ""
    accession_number: str = ""
    limit: int | None = None  # stop after this many responses (the SCP is sent C-CANCEL)

    def __post_init__(self) -> None:
        self.date = self.date.strip()
        preset = preset_name(self.date)
        if preset is not None:
            self.date = preset
        else:
            self.date = resolve_date(self.date)  # checked now, so a bad date fails before any network
        self.time = check_value("ScheduledProcedureStepStartTime", "TM", self.time) if self.time.strip() else ""
        self.modality = _code(self.modality, "the modality") if self.modality.strip() else ""
        self.station = _station(self.station) if self.station.strip() else ""
        self.performing_physician = self.performing_physician.strip()
        self.patient_name = self.patient_name.strip()
        self.patient_id = self.patient_id.strip()
        self.accession_number = self.accession_number.strip()
        if self.limit is not None and self.limit < 1:
            raise InvalidValue(f"the result limit must be 1 or more, not {self.limit}")

    def start_date(self, today: datetime.date | None = None) -> str:
        """The Scheduled Procedure Step Start Date to send now (presets resolved against `today`)."""
        return resolve_date(self.date, today)


def matching_values(request: WorklistRequest, today: datetime.date | None = None
                    ) -> tuple[dict[str, str], dict[str, str]]:
    """The values the request matches on, as (top level, inside the Scheduled Procedure Step): keyword -> value,
    "" for universal matching. Every other key of TOP_KEYS and STEP_KEYS goes out empty, as a return key."""
    top = {"PatientName": request.patient_name, "PatientID": request.patient_id,
           "AccessionNumber": request.accession_number}
    step = {
        "ScheduledStationAETitle": request.station,
        "ScheduledProcedureStepStartDate": request.start_date(today),
        "ScheduledProcedureStepStartTime": request.time,
        "Modality": request.modality,
        "ScheduledPerformingPhysicianName": request.performing_physician,
    }
    return top, step
