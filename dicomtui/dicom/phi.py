"""Which values identify a patient, and how they look masked ("PHI masking", for screen sharing).

One list for every screen and the association log, by DICOM keyword. It errs on the side of
masking: names of anyone (patients and physicians), identifiers, dates and places of birth,
addresses and telephone numbers, and accession and admission numbers, which a RIS ties to a
patient. UIDs, dates of studies, modalities and descriptions stay: they are what an
administrator debugs with.
"""

from __future__ import annotations

import re

MASK = "•••"

PHI_KEYWORDS = frozenset({
    "PatientName", "PatientID", "IssuerOfPatientID", "OtherPatientIDs", "OtherPatientIDsSequence",
    "OtherPatientNames", "PatientBirthName", "PatientMotherBirthName", "PatientBirthDate", "PatientBirthTime",
    "PatientAddress", "PatientTelephoneNumbers", "PatientTelecomInformation", "CountryOfResidence",
    "RegionOfResidence", "MilitaryRank", "MedicalRecordLocator", "PatientInsurancePlanCodeSequence",
    "ResponsiblePerson", "PersonName", "PatientComments", "AdditionalPatientHistory",
    "AccessionNumber", "AdmissionID", "IssuerOfAdmissionID", "StudyID",
    "ReferringPhysicianName", "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers",
    "PerformingPhysicianName", "NameOfPhysiciansReadingStudy", "OperatorsName", "RequestingPhysician",
    "ScheduledPerformingPhysicianName", "PhysiciansOfRecord", "InstitutionName", "InstitutionAddress",
})

_INDEX = re.compile(r"\[\d+\]")


def keyword_of(path: str) -> str:
    """The keyword a log path names: 'ScheduledProcedureStepSequence[0].Modality' -> 'Modality'."""
    return _INDEX.sub("", path).rsplit(".", 1)[-1]


def is_phi(keyword_or_path: str) -> bool:
    return keyword_of(keyword_or_path) in PHI_KEYWORDS


def masked(keyword_or_path: str, value: str) -> str:
    """`value`, or MASK when it identifies a patient (an empty value stays empty: it asks, it tells nothing)."""
    if value and is_phi(keyword_or_path):
        return MASK
    return value


def masked_row(row: dict) -> dict:
    """A row of keyword -> value (text, a list, None) with every patient-identifying value masked."""
    return {key: MASK if value not in (None, "", []) and key in PHI_KEYWORDS else value for key, value in row.items()}
