"""What a Modality Worklist query asks, as plain data: filters as a modality sets them, no pydicom here.

A scanner asks its worklist "for my AE title, my modality, today". `WorklistRequest` holds those filters as
typed; `resolve_date(text, today)` (dicom/worklist_dates.py, shared with the config's presets) turns a date
filter (a preset like "today" or a DICOM date or range) into the value that goes into Scheduled Procedure Step
Start Date. Presets are kept as words in the request and resolved when the query runs, so a screen refreshing
across midnight asks for the new day.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from ..dicom.validation import AE_TITLE_MAX, InvalidValue
from ..dicom.worklist_dates import DATE_HELP, DATE_PRESETS, preset_name, preset_range, resolve_date
from .query_request import check_value

__all__ = ["DATE_HELP", "DATE_PRESETS", "MWL_FIND", "WorklistRequest", "check_modality", "check_station",
           "preset_name", "preset_range", "resolve_date"]

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

_CODE_STRING = re.compile(r"^[A-Z0-9 _*?]*$")  # CS: upper case, digits, space, underscore (+ wildcards)


def check_modality(value: str, what: str = "the modality") -> str:
    """A modality filter, upper case; InvalidValue after "`what`: " when it is not a code."""
    value = value.strip().upper()  # modalities are upper case (CS); "ct" is what people type
    if len(value) > 16 or not _CODE_STRING.match(value):
        raise InvalidValue(f"{what}: {value!r} is not a code such as CT, MR or US (letters and digits, at most "
                           "16 characters)")
    return value


def check_station(value: str, what: str = "the station AE title") -> str:
    """A Scheduled Station AE Title filter; InvalidValue after "`what`: " when it is not an AE title."""
    value = value.strip()
    if len(value) > AE_TITLE_MAX or "\\" in value or not value.isascii():
        raise InvalidValue(f"{what}: {value!r} is not an AE title (at most {AE_TITLE_MAX} plain "
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
        self.modality = check_modality(self.modality) if self.modality.strip() else ""
        self.station = check_station(self.station) if self.station.strip() else ""
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
