"""C-FIND against Orthanc, dcmtk dcmqrscp and our own receiver: levels, models, matching, charsets, limits,
failures explained in words, and the `dicomtui find` contract."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind, Verification  # type: ignore

from dicomtui.config.model import Node
from dicomtui.dicom.synthetic import INTERNATIONAL_PATIENTS, make_specs, write_instances
from dicomtui.engine.association import open_association
from dicomtui.engine.query import QueryRequest, find, find_on
from dicomtui.engine.receiver import Receiver, ReceiverSettings

from ..cli_runner import run
from .dcmtk import start_dcmqrscp
from .fixtures import OUR_AE_TITLES, running
from .harness import HOST, free_port
from .orthanc import start_orthanc
from .receiver_fixtures import run_storescu

pytestmark = pytest.mark.peers

ASCII = make_specs(patients=3, studies_per_patient=2, series_per_study=2, instances_per_series=2, seed=4101)
WORLD = make_specs(patients=6, international=True, series_per_study=1, instances_per_series=1, seed=4102)
ASCII_IDS = "SYN004101P*"
WORLD_IDS = "SYN004102I*"
WORLD_NAMES = {name for name, *_ in INTERNATIONAL_PATIENTS}
AE = "DICOMTUI"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    base = tmp_path_factory.mktemp("query-files")
    return {"ascii": write_instances(base / "ascii", ASCII), "world": write_instances(base / "world", WORLD)}


@pytest.fixture(scope="module")
def archives(orthanc, files, tmp_path_factory: pytest.TempPathFactory, scu_ports) -> Iterator[dict[str, Node]]:
    """The session Orthanc, a dcmqrscp and our receiver, each holding the ASCII studies."""
    base = tmp_path_factory.mktemp("query-archives")
    orthanc.upload(files["ascii"])
    known = {ae: (HOST, port) for ae, port in scu_ports.items()}
    receiver = Receiver(ReceiverSettings(ae_title="LOCALQR", port=free_port(), bind=HOST, storage=base / "archive",
                                         min_free_bytes=0, fsync=False))
    receiver.start()
    try:
        with running(start_dcmqrscp, base / "qr", known_peers=known) as qr:
            qr.store(files["ascii"])
            stored = run_storescu(receiver.settings.port, files["ascii"] + files["world"], called="LOCALQR")
            assert stored.returncode == 0, stored.stdout
            yield {
                "orthanc": Node("orthanc", orthanc.ae_title, HOST, orthanc.port),
                "dcmqrscp": Node("dcmqrscp", qr.ae_title, HOST, qr.port),
                "receiver": Node("receiver", "LOCALQR", HOST, receiver.settings.port),
            }
    finally:
        receiver.stop(grace=2.0)


@pytest.fixture(scope="module")
def orthanc_utf8(files, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """Orthanc 1.10 answers C-FIND in its DefaultEncoding whatever the query says (Latin-1 unless set): a
    Chinese or Japanese name survives only when it is UTF-8."""
    modalities = {ae: (HOST, free_port()) for ae in OUR_AE_TITLES}
    with running(start_orthanc, tmp_path_factory.mktemp("orthanc-utf8"), ae_title="UTF8", modalities=modalities,
                 extra={"DefaultEncoding": "Utf8"}, stop_kwargs={"grace": 0.0}) as peer:
        peer.upload(files["world"])
        yield Node("utf8", peer.ae_title, HOST, peer.port)


ARCHIVES = ("orthanc", "dcmqrscp", "receiver")
LEVELS = [("patient", "PATIENT"), ("patient", "STUDY"), ("patient", "SERIES"), ("patient", "IMAGE"),
          ("study", "STUDY"), ("study", "SERIES"), ("study", "IMAGE")]


def _query(node: Node, **kwargs) -> list[dict]:
    result = find(node, AE, QueryRequest(**kwargs))
    assert result.ok, result.error
    assert result.status == 0x0000 and not result.truncated
    return result.rows


@pytest.mark.parametrize("archive", ARCHIVES)
@pytest.mark.parametrize(("model", "level"), LEVELS)
def test_every_level_in_both_models(archives, archive, model, level):
    spec = ASCII[2]  # the second study of the second patient
    patient = [s for s in ASCII if s.patient == spec.patient]
    keys = {"PatientID": spec.patient.patient_id} if model == "patient" or level == "STUDY" else {}
    if level in ("SERIES", "IMAGE"):
        keys["StudyInstanceUID"] = spec.study_uid
    if level == "IMAGE":
        keys["SeriesInstanceUID"] = spec.series_uid(1)
    streamed: list[dict] = []
    result = find(archives[archive], AE, QueryRequest(level=level, model=model, keys=keys), on_row=streamed.append)
    assert result.ok, result.error
    assert streamed == result.rows
    rows = result.rows
    if level == "PATIENT":
        assert [(r["PatientID"], r["PatientName"]) for r in rows] == [(spec.patient.patient_id, spec.patient.name)]
        assert rows[0]["PatientBirthDate"] == spec.patient.birth_date
    elif level == "STUDY":
        assert {r["StudyInstanceUID"] for r in rows} == {s.study_uid for s in patient}
        row = next(r for r in rows if r["StudyInstanceUID"] == spec.study_uid)
        assert (row["StudyDate"], row["AccessionNumber"]) == (spec.study_date, spec.accession_number)
        assert row["StudyDescription"] == spec.study_description
    elif level == "SERIES":
        assert {r["SeriesInstanceUID"] for r in rows} == {spec.series_uid(0), spec.series_uid(1)}
        assert {r["Modality"] for r in rows} == {spec.modality}
    else:
        assert {r["SOPInstanceUID"] for r in rows} == {spec.sop_instance_uid(1, 0), spec.sop_instance_uid(1, 1)}
        assert {r["InstanceNumber"] for r in rows} == {"1", "2"}


@pytest.mark.parametrize("archive", ARCHIVES)
def test_wildcard_date_range_and_uid_list(archives, archive):
    node = archives[archive]
    rows = _query(node, keys={"PatientID": ASCII_IDS, "PatientName": "SMI*"})
    assert {r["StudyInstanceUID"] for r in rows} == {s.study_uid for s in ASCII if s.patient.name.startswith("SMI")}
    assert {r["PatientName"] for r in rows} == {"SMITH^JOHN^A"}

    dates = sorted(s.study_date for s in ASCII)
    lo, hi = dates[1], dates[3]
    rows = _query(node, keys={"PatientID": ASCII_IDS, "StudyDate": f"{lo[:4]}-{lo[4:6]}-{lo[6:]}-{hi}"})
    assert {r["StudyInstanceUID"] for r in rows} == {s.study_uid for s in ASCII if lo <= s.study_date <= hi}

    wanted = [ASCII[0].study_uid, ASCII[3].study_uid, ASCII[5].study_uid]
    rows = _query(node, keys={"StudyInstanceUID": "\\".join(wanted)})
    assert sorted(r["StudyInstanceUID"] for r in rows) == sorted(wanted)


@pytest.mark.parametrize("archive", ["orthanc_utf8", "receiver"])
def test_international_names_round_trip(archives, orthanc_utf8, archive):
    node = orthanc_utf8 if archive == "orthanc_utf8" else archives["receiver"]
    rows = _query(node, level="PATIENT", model="patient", keys={"PatientID": WORLD_IDS})
    assert {r["PatientName"] for r in rows} == WORLD_NAMES
    assert "Yamada^Tarou=山田^太郎=やまだ^たろう" in {r["PatientName"] for r in rows}
    studies = _query(node, keys={"PatientID": WORLD_IDS})
    assert {r["StudyDescription"] for r in studies} == {s.study_description for s in WORLD}
    # A non-ASCII matching key goes out as ISO_IR 192 and matches the GB18030-encoded name (our archive also
    # matches the ideographic group of Wang^XiaoDong=王^小東; Orthanc only the first group).
    names = [r["PatientName"] for r in _query(node, level="PATIENT", model="patient", keys={"PatientName": "王*"})]
    assert "王^小东" in names and all("王" in n for n in names)


@pytest.mark.parametrize("archive", ARCHIVES)
def test_limit_cancels_and_the_association_stays_usable(archives, archive):
    node = archives[archive]
    model = StudyRootQueryRetrieveInformationModelFind
    assoc = open_association(node, AE, [model, Verification])
    try:
        limited = find_on(assoc, QueryRequest(keys={"PatientID": ASCII_IDS}, limit=2))
        assert limited.ok, limited.error
        assert limited.truncated and len(limited.rows) == 2
        assert assoc.send_c_echo().Status == 0x0000  # the same association: not poisoned
        full = find_on(assoc, QueryRequest(keys={"PatientID": ASCII_IDS}))
        assert full.ok and not full.truncated and len(full.rows) == len(ASCII)
    finally:
        assoc.release()


@pytest.mark.parametrize("archive", ["dcmqrscp", "receiver"])
def test_identifier_failure_status_in_words(archives, archive):
    # A Patient Root STUDY query without the PatientID of the level above: dcmqrscp answers 0xC000, our
    # archive 0xA900.
    result = find(archives[archive], AE, QueryRequest(level="STUDY", model="patient"))
    assert result.failure == "status" and not result.no_association
    assert result.status in (0xC000, 0xA900)
    assert result.error.startswith("the archive refused the query: 0x")


def _target(node: Node) -> str:
    return f"{node.ae_title}@{node.host}:{node.port}"


def test_cli_json_csv_and_table(home, archives):
    spec = ASCII[2]
    target = _target(archives["orthanc"])
    data = run(home, "find", target, "-k", f"PatientID={spec.patient.patient_id}", "-k", "StudyID", "--json")
    assert data.code == 0 and data.err == "", data
    rows = json.loads(data.out)
    assert isinstance(rows, list) and len(rows) == 2
    row = next(r for r in rows if r["StudyInstanceUID"] == spec.study_uid)
    assert row["PatientName"] == "SMITH^JOHN^A" and row["StudyID"] == spec.study_id
    assert row["NumberOfStudyRelatedInstances"] == "4" and row["NumberOfStudyRelatedSeries"] == "2"
    assert all(isinstance(v, str | list) or v is None for r in rows for v in r.values())
    assert "QueryRetrieveLevel" not in row and "SpecificCharacterSet" not in row

    table = run(home, "find", target, "-k", f"PatientID={spec.patient.patient_id}")
    assert table.code == 0, table
    assert table.out.rstrip().splitlines()[-1] == "2 matches"
    assert all(len(line) <= 80 for line in table.out.splitlines())

    limited = run(home, "find", target, "-k", f"PatientID={ASCII_IDS}", "--limit", "1")
    assert limited.code == 0, limited
    assert limited.out.rstrip().splitlines()[-1] == "1 match (truncated at --limit 1)"

    series = run(home, "find", _target(archives["dcmqrscp"]), "--level", "series", "--csv",
                 "-k", f"StudyInstanceUID={spec.study_uid}")
    assert series.code == 0, series
    parsed = list(csv.reader(io.StringIO(series.out)))
    assert parsed[0][:4] == ["Modality", "SeriesNumber", "SeriesDescription", "SeriesInstanceUID"]
    assert sorted(r[3] for r in parsed[1:]) == sorted([spec.series_uid(0), spec.series_uid(1)])


def test_cli_multi_valued_values_are_lists(home, archives):
    rows = json.loads(run(home, "find", _target(archives["orthanc"]), "--level", "image", "-k",
                          f"StudyInstanceUID={ASCII[0].study_uid}", "-k", f"SeriesInstanceUID={ASCII[0].series_uid(0)}",
                          "-k", "ImageType", "--json").out)
    assert [r["ImageType"] for r in rows] == [["ORIGINAL", "PRIMARY", "AXIAL"]] * 2


def test_cli_exit_codes_and_sentences(home, archives):
    failure = run(home, "find", _target(archives["dcmqrscp"]), "--model", "patient", "--json")
    assert failure.code == 1, failure
    assert failure.err.startswith("dicomtui: find ") and "refused the query: 0xC000" in failure.err
    assert failure.out.strip() == "[]" and "Traceback" not in failure.err

    bad = run(home, "find", _target(archives["dcmqrscp"]), "-k", "StudyDate=2024-13-01")
    assert bad.code == 2 and bad.err.strip() == (
        "dicomtui: StudyDate: '2024-13-01' is not a valid date (month must be in 1..12)"), bad
    unknown = run(home, "find", _target(archives["dcmqrscp"]), "-k", "PatientNme=X")
    assert unknown.code == 2 and "did you mean PatientName?" in unknown.err, unknown
    nobody = run(home, "find", f"NOBODY@{HOST}:{free_port()}", "--json")
    assert nobody.code == 3 and "connection refused" in nobody.err, nobody


def test_archive_that_refuses_our_ae_title_says_so(home, orthanc_factory):
    # Orthanc accepts the association (echo is allowed to anyone) and aborts the C-FIND from an AE title that
    # is not in its DicomModalities.
    peer = orthanc_factory(ae_title="NOFIND", extra={"DicomAlwaysAllowFind": False})
    result = run(home, "find", f"NOFIND@{HOST}:{peer.port}")
    assert result.code == 3, result
    assert result.err.startswith("dicomtui: find NOFIND@")
    assert "this archive accepts echo but refuses queries from our AE title DICOMTUI" in result.err
    assert "Traceback" not in result.err


def test_a_storage_only_node_is_not_blamed_on_our_ae_title(storescp):
    """storescp offers no query service at all: say that, not that it refuses our AE title."""
    from dicomtui.config import Node
    from dicomtui.engine.query import QueryRequest, find

    node = Node("scp", storescp.ae_title, HOST, storescp.port)
    result = find(node, "DICOMTUI", QueryRequest())
    assert not result.ok and result.failure == "status"
    assert "does not offer C-FIND" in result.error and "AE title" not in result.error
