"""C-FIND answers and C-MOVE / C-GET instance lists from the local archive index.

``find`` follows PS3.4 C.4.1: the level comes from QueryRetrieveLevel; the unique keys of the levels above it
must be present with a value (hierarchical query, both models); every other key in the identifier is a
return key, and a matching key too when it has a value. Attributes the index holds at the query level or
above are matched and returned; anything else (an attribute of a lower level, one the index does not keep,
a sequence) is returned empty and not matched, as PS3.4 C.2.2.1.3 allows for unsupported optional keys.
This is more lenient than dcmqrscp, which refuses non-unique keys of upper levels.

SQL narrows the rows (UID lists, exact values, wildcards via GLOB, date ranges); every matching key is
then checked with matching.py, so SQL only ever has to return a superset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydicom import DataElement, Dataset
from pydicom.datadict import dictionary_VR
from pydicom.tag import BaseTag, Tag

from dicomtui.store.archive_index import ArchiveIndex

from . import matching

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
UNIQUE_KEYS = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
MODELS = {"patient": 0, "study": 1}  # the top level of each information model
MODEL_OF_SOP_CLASS = {
    **{f"1.2.840.10008.5.1.4.1.2.1.{n}": "patient" for n in (1, 2, 3)},  # Patient Root Find, Move, Get
    **{f"1.2.840.10008.5.1.4.1.2.2.{n}": "study" for n in (1, 2, 3)},  # Study Root Find, Move, Get
}
_NUMBER_VRS = {"IS", "DS", "US", "UL", "SS", "SL", "FL", "FD"}
_QR_LEVEL, _CHARSET, _RETRIEVE_AE = Tag("QueryRetrieveLevel"), Tag("SpecificCharacterSet"), Tag("RetrieveAETitle")

_FROM = (
    "patient p",
    "study st JOIN patient p ON st.patient_pk = p.pk",
    "series se JOIN study st ON se.study_pk = st.pk JOIN patient p ON st.patient_pk = p.pk",
    "instance i JOIN series se ON i.series_pk = se.pk JOIN study st ON se.study_pk = st.pk"
    " JOIN patient p ON st.patient_pk = p.pk",
)
_STUDY_INSTANCES = "SELECT COUNT(*) FROM instance i2 JOIN series x ON i2.series_pk = x.pk"


@dataclass(frozen=True)
class Attr:
    level: int
    sql: str  # an expression over the aliases of _FROM
    derived: bool = False  # computed per row: matched in Python only


# What the index holds, by keyword. Counts and ModalitiesInStudy are derived, so they are never stale.
ATTRS: dict[str, Attr] = {
    "PatientID": Attr(0, "p.patient_id"),
    "IssuerOfPatientID": Attr(0, "p.issuer"),
    "PatientName": Attr(0, "p.name"),
    "PatientBirthDate": Attr(0, "p.birth_date"),
    "PatientSex": Attr(0, "p.sex"),
    "NumberOfPatientRelatedStudies": Attr(0, "(SELECT COUNT(*) FROM study s2 WHERE s2.patient_pk = p.pk)", True),
    "NumberOfPatientRelatedSeries": Attr(
        0, "(SELECT COUNT(*) FROM series x JOIN study s2 ON x.study_pk = s2.pk WHERE s2.patient_pk = p.pk)", True),
    "NumberOfPatientRelatedInstances": Attr(
        0, f"({_STUDY_INSTANCES} JOIN study s2 ON x.study_pk = s2.pk WHERE s2.patient_pk = p.pk)", True),
    "StudyInstanceUID": Attr(1, "st.study_uid"),
    "StudyDate": Attr(1, "st.study_date"),
    "StudyTime": Attr(1, "st.study_time"),
    "AccessionNumber": Attr(1, "st.accession"),
    "StudyID": Attr(1, "st.study_id"),
    "StudyDescription": Attr(1, "st.description"),
    "ReferringPhysicianName": Attr(1, "st.referring"),
    "ModalitiesInStudy": Attr(1, "(SELECT group_concat(m, '\\') FROM (SELECT DISTINCT modality AS m FROM series x"
                                 " WHERE x.study_pk = st.pk AND x.modality <> '' ORDER BY m))", True),
    "NumberOfStudyRelatedSeries": Attr(1, "(SELECT COUNT(*) FROM series x WHERE x.study_pk = st.pk)", True),
    "NumberOfStudyRelatedInstances": Attr(1, f"({_STUDY_INSTANCES} WHERE x.study_pk = st.pk)", True),
    "SeriesInstanceUID": Attr(2, "se.series_uid"),
    "Modality": Attr(2, "se.modality"),
    "SeriesNumber": Attr(2, "se.series_number"),
    "SeriesDescription": Attr(2, "se.description"),
    "BodyPartExamined": Attr(2, "se.body_part"),
    "SeriesDate": Attr(2, "se.series_date"),
    "NumberOfSeriesRelatedInstances": Attr(2, "(SELECT COUNT(*) FROM instance i2 WHERE i2.series_pk = se.pk)", True),
    "SOPInstanceUID": Attr(3, "i.sop_uid"),
    "SOPClassUID": Attr(3, "i.sop_class"),
    "InstanceNumber": Attr(3, "i.instance_number"),
}


class QueryError(ValueError):
    """The identifier cannot be answered (the SCP replies with a failure status and str() as the comment)."""


@dataclass(frozen=True)
class InstanceRef:
    sop_class_uid: str
    sop_instance_uid: str
    path: Path  # absolute
    transfer_syntax: str


def model_of(sop_class_uid: str) -> str:
    """'patient' or 'study' for a Patient/Study Root Find, Move or Get SOP Class UID."""
    try:
        return MODEL_OF_SOP_CLASS[str(sop_class_uid)]
    except KeyError:
        raise ValueError(f"{sop_class_uid} is not a Patient or Study Root Query/Retrieve SOP Class") from None


def _level(identifier: Dataset, model: str) -> tuple[int, int]:
    """(query level, top level of the model), with the unique keys of the levels between them checked."""
    if model not in MODELS:
        raise ValueError(f"unknown information model {model!r}; use 'patient' or 'study'")
    top = MODELS[model]
    name = matching.text(identifier.get("QueryRetrieveLevel")).upper()
    if not name:
        raise QueryError("the identifier has no Query/Retrieve Level (0008,0052)")
    if name not in LEVELS:
        raise QueryError(f"Query/Retrieve Level {name!r} is not one of {', '.join(LEVELS)}")
    level = LEVELS.index(name)
    if level < top:
        raise QueryError(f"the {model.title()} Root model has no {name} level; use the Patient Root model")
    for upper in range(top, level):
        keyword = UNIQUE_KEYS[upper]
        if matching.is_universal(identifier.get(keyword)):
            raise QueryError(f"a {name} level {model.title()} Root request needs a value for {keyword}, the"
                             f" unique key of the {LEVELS[upper]} level above it")
    return level, top


def _sql_condition(attr: Attr, vr: str, key: str) -> tuple[str, list[object]] | None:
    """A WHERE condition that keeps at least every row ``matching.match`` accepts, or None."""
    if attr.derived or vr == "PN" or vr in _NUMBER_VRS or ("\\" in key and vr != "UI"):
        return None
    if vr == "UI":
        uids = matching.split_values("UI", key)
        return f"{attr.sql} IN ({', '.join('?' * len(uids))})", list(uids)
    if vr == "DA":
        limits = matching.parse_range("DA", key)
        if limits is None:
            return None
        lo, hi = limits
        return f"{attr.sql} BETWEEN ? AND ?", [lo or "", hi or "99999999"]
    if vr in matching.RANGE_VRS:
        return None
    if matching.has_wildcard(key):  # GLOB: case-sensitive '*' and '?' like DICOM; '[' is special to it
        return f"{attr.sql} GLOB ?", [key.replace("[", "[[]")]
    return f"{attr.sql} = ?", [key]


def find(index: ArchiveIndex, identifier: Dataset, model: str, *, retrieve_ae: str | None = None) -> Iterator[Dataset]:
    """The C-FIND responses for ``identifier``. Raises QueryError at once (before the first response) when
    the identifier is not valid; the rows are read in one go, so an abandoned iterator holds no connection."""
    level = _level(identifier, model)[0]
    requested = [e for e in identifier if e.tag not in (_QR_LEVEL, _CHARSET) and e.tag.element != 0]
    held: list[tuple[BaseTag, str, Attr]] = []  # (tag, vr, attr) for keys the index answers
    for elem in requested:
        attr = ATTRS.get(elem.keyword)
        if attr is not None and attr.level <= level:
            held.append((elem.tag, dictionary_VR(elem.tag), attr))
    keys = {elem.tag: matching.text(elem.value) for elem in requested if elem.VR != "SQ"}
    where, params = [], []
    for tag, vr, attr in held:
        if not matching.is_universal(keys.get(tag)):
            condition = _sql_condition(attr, vr, keys[tag])
            if condition:
                where.append(condition[0])
                params += condition[1]
    columns = ", ".join(attr.sql for _, _, attr in held) or "1"
    sql = f"SELECT {columns} FROM {_FROM[level]}" + (f" WHERE {' AND '.join(where)}" if where else "")
    with index.connection() as conn:
        rows = conn.execute(sql + " ORDER BY " + ("p", "st", "se", "i")[level] + ".pk", params).fetchall()
    return _responses(rows, requested, held, keys, LEVELS[level], retrieve_ae)


def _responses(rows: list[tuple], requested: list[DataElement], held: list[tuple[BaseTag, str, Attr]],
               keys: dict[BaseTag, str], level_name: str, retrieve_ae: str | None) -> Iterator[Dataset]:
    for row in rows:
        values = {tag: value for (tag, _, _), value in zip(held, row, strict=True)}
        if not all(matching.match(vr, keys[tag], values[tag]) for tag, vr, _ in held
                   if not matching.is_universal(keys.get(tag))):
            continue
        yield _response(requested, values, level_name, retrieve_ae)


def _response(requested: list[DataElement], values: dict[BaseTag, object], level_name: str,
              retrieve_ae: str | None) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level_name
    non_ascii = False
    for elem in requested:
        if elem.tag not in values:
            ds.add_new(elem.tag, elem.VR, [] if elem.VR == "SQ" else None)
            continue
        value = values[elem.tag]
        vr = dictionary_VR(elem.tag)
        if value is None or value == "":
            ds.add_new(elem.tag, vr, None)
            continue
        value = str(value)
        non_ascii = non_ascii or not value.isascii()
        ds.add_new(elem.tag, vr, value.split("\\") if "\\" in value else value)
    if retrieve_ae:
        ds.RetrieveAETitle = retrieve_ae
    if non_ascii:
        ds.SpecificCharacterSet = "ISO_IR 192"
    return ds


def instances_for(index: ArchiveIndex, identifier: Dataset, model: str) -> list[InstanceRef]:
    """The instances a C-MOVE or C-GET identifier selects: the unique keys of its level and every level
    above it in the model (a UID list is allowed; wildcards are not, so a mistake cannot retrieve the whole
    archive). Other keys are ignored, as PS3.4 C.4.2.2.1 has only unique keys in a retrieve identifier."""
    level, top = _level(identifier, model)
    where, params = [], []
    for at in range(top, level + 1):
        keyword = UNIQUE_KEYS[at]
        key = matching.text(identifier.get(keyword))
        if not key or key == "*":
            raise QueryError(f"a {LEVELS[level]} level retrieve needs a value for {keyword}")
        if matching.has_wildcard(key):
            raise QueryError(f"{keyword} {key!r} has a wildcard, which a retrieve does not allow")
        if keyword == "PatientID":
            where.append("p.patient_id = ?")
            params.append(key)
            issuer = matching.text(identifier.get("IssuerOfPatientID"))
            if issuer:
                where.append("p.issuer = ?")
                params.append(issuer)
        else:
            uids = matching.split_values("UI", key)
            where.append(f"{ATTRS[keyword].sql} IN ({', '.join('?' * len(uids))})")
            params += uids
    with index.connection() as conn:
        rows = conn.execute(
            f"SELECT i.sop_class, i.sop_uid, i.path, i.transfer_syntax FROM {_FROM[3]} WHERE {' AND '.join(where)}"
            " ORDER BY st.pk, se.series_number, se.pk, i.instance_number, i.pk",
            params,
        ).fetchall()
    return [InstanceRef(cls, uid, index.storage / path, ts) for cls, uid, path, ts in rows]
