"""Modality Worklist C-FIND against dcmtk wlmscpfs, Orthanc's worklist plugin and our own receiver, all three
serving the same `.wl` files (dcmtk's examples made with dump2dcm, and generated items with Chinese, Japanese
and accented names, some with two steps): the items each returns equal what dcmtk `findscu -W` gets with the
same keys; names arrive intact in every character set; a refresh sees an item added and one removed.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pynetdicom import AE as PynetdicomAE
from pynetdicom.sop_class import CTImageStorage, ModalityWorklistInformationFind, Verification  # type: ignore

from dicomtui.config.model import Node
from dicomtui.dicom.synthetic import make_instance_of_size
from dicomtui.dicom.synthetic_worklist import make_worklist_specs, write_worklist
from dicomtui.engine.receiver import Receiver, ReceiverSettings
from dicomtui.engine.worklist import WorklistRequest, diff_rows, query_worklist

from .dcmtk import start_wlmscpfs
from .fixtures import ORTHANC_STOP, OUR_AE_TITLES, running
from .harness import HOST, dcmtk, dcmtk_env, free_port
from .orthanc import start_orthanc
from .receiver_fixtures import served_by_fast_path

pytestmark = pytest.mark.peers

AE = "DICOMTUI"
DAY, LATER = "20240105", "20240107"
GENERATED = make_worklist_specs(DAY, seed=4601, items=12) + make_worklist_specs(LATER, seed=4602, items=4)
INTERNATIONAL = {"王^小东", "Wang^XiaoDong=王^小東", "Yamada^Tarou=山田^太郎=やまだ^たろう", "Müller^Jürgen",
                 "Łukasiewicz^Zoë=Лукасевич^Зоя", "Ødegård^Åse"}
SCPS = ("wlmscpfs", "orthanc", "receiver")


@pytest.fixture(scope="module")
def worklists(tmp_path_factory: pytest.TempPathFactory, dcmtk_worklists: list[Path]) -> Path:
    """dcmtk's ten example worklists and the generated items, in one folder."""
    folder = tmp_path_factory.mktemp("worklists-union")
    for path in dcmtk_worklists:
        shutil.copyfile(path, folder / path.name)
    write_worklist(folder, GENERATED)
    return folder


@pytest.fixture(scope="module")
def scps(worklists: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    """The three SCPs over `worklists`. wlmscpfs: -dfr accepts items with two steps (by default it refuses
    them as "incomplete"), -csk answers in each file's character set (by default it declares none)."""
    base = tmp_path_factory.mktemp("worklist-scps")
    modalities = {ae: (HOST, free_port()) for ae in OUR_AE_TITLES}
    receiver = Receiver(ReceiverSettings(ae_title="LOCALWL", port=free_port(), bind=HOST, storage=base / "archive",
                                         min_free_bytes=0, fsync=False, worklists=worklists))
    with contextlib.ExitStack() as stack:
        wlm = stack.enter_context(running(start_wlmscpfs, base, worklists, extra_args=["-dfr", "-csk"]))
        orthanc = stack.enter_context(running(
            start_orthanc, base, ae_title="ORTHANCWL", modalities=modalities, worklists_dir=worklists,
            extra={"DefaultEncoding": "Utf8"}, stop_kwargs=ORTHANC_STOP))
        receiver.start()
        stack.callback(receiver.stop, grace=2.0)
        yield {"wlmscpfs": Node("wlmscpfs", wlm.ae_title, HOST, wlm.port),
               "orthanc": Node("orthanc", orthanc.ae_title, HOST, orthanc.port),
               "receiver": Node("receiver", "LOCALWL", HOST, receiver.settings.port)}


# dcmtk findscu, keys written by hand the way the DICOM standard places them ------------------------------
_STEP = "ScheduledProcedureStepSequence[0]."
_FINDSCU_KEYS = {
    "station": _STEP + "ScheduledStationAETitle",
    "modality": _STEP + "Modality",
    "date": _STEP + "ScheduledProcedureStepStartDate",
    "time": _STEP + "ScheduledProcedureStepStartTime",
    "patient_name": "PatientName",
}


def findscu(node: Node, tmp_path: Path, **filters: str) -> list[pydicom.Dataset]:
    """Every response of `findscu -W` with the filters as keys (plus accession and step ID as return keys)."""
    out = tmp_path / f"findscu-{node.name}-{len(list(tmp_path.glob('findscu-*')))}"
    out.mkdir()
    argv = [dcmtk("findscu"), "-W", "-X", "-od", str(out), "-aet", AE, "-aec", node.ae_title,
            "-k", "AccessionNumber", "-k", _STEP + "ScheduledProcedureStepID"]
    for name, value in filters.items():
        argv += ["-k", f"{_FINDSCU_KEYS[name]}={value}"]
    done = subprocess.run([*argv, node.host, str(node.port)], env=dcmtk_env(), capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    return [pydicom.dcmread(p, force=True) for p in sorted(out.glob("rsp*.dcm"))]


def _their_steps(responses: list[pydicom.Dataset]) -> set[tuple[str, str]]:
    return {(str(r.get("AccessionNumber", "")), str(step.get("ScheduledProcedureStepID", "")))
            for r in responses for step in r.get("ScheduledProcedureStepSequence", [])}


def _our_steps(rows) -> set[tuple[str, str]]:
    return {(r.accession_number or "", r.step_id or "") for r in rows}


def _query(node: Node, **filters):
    result = query_worklist(node, AE, WorklistRequest(**filters))
    assert result.ok, result.error
    assert result.status == 0x0000
    return result


FILTERS = [
    pytest.param({}, id="everything"),
    pytest.param({"station": "CT01"}, id="station"),
    pytest.param({"station": "AA32"}, id="station-of-a-two-station-step"),
    pytest.param({"modality": "MR"}, id="modality"),
    pytest.param({"station": "AB45", "modality": "CT"}, id="station-and-modality"),
    pytest.param({"station": "CT01", "modality": "MR"}, id="nothing-matches"),
    pytest.param({"date": "20240104-20240106"}, id="date-range"),
    pytest.param({"date": "19960101-19960501"}, id="date-range-dcmtk-examples"),
    pytest.param({"date": LATER, "station": "MR01"}, id="date-and-station"),
    pytest.param({"date": "19950101-", "modality": "CR"}, id="open-date-range"),
    pytest.param({"patient_name": "HAYDN*"}, id="patient-wildcard"),
    pytest.param({"time": "0800-0920"}, id="time-range"),
]
# dcmtk's wklist1 plans its step on two stations (AA32\AA33). A key matches a multi-valued attribute when it
# matches any of its values: wlmscpfs and our archive say so, Orthanc 1.10 compares the whole value.
ORTHANC_MISSES = {"station-of-a-two-station-step": {"00000"}}


@pytest.mark.parametrize("filters", FILTERS)
def test_filters_give_what_findscu_gets(scps, tmp_path, filters, request):
    items: dict[str, set[str]] = {}
    for name in SCPS:
        node = scps[name]
        ours = _query(node, **filters)
        theirs = findscu(node, tmp_path, **filters)
        assert _our_steps(ours.rows) == _their_steps(theirs), name
        assert ours.items == len(theirs), name
        items[name] = {r.accession_number or "" for r in ours.rows}
    # The three SCPs agree on which worklist items match.
    assert items["wlmscpfs"] == items["receiver"]
    assert items["orthanc"] == items["receiver"] - ORTHANC_MISSES.get(request.node.callspec.id, set())
    if filters == {}:
        assert len(items["receiver"]) == 10 + len(GENERATED)


@pytest.mark.parametrize("name", SCPS)
def test_cancel_and_limit_leave_nothing_behind(scps, name):
    node = scps[name]
    cancel = threading.Event()
    seen = []
    cancelled = query_worklist(node, AE, WorklistRequest(), cancel=cancel,
                               on_row=lambda row: (seen.append(row), cancel.set()))
    assert cancelled.failure == "cancelled" and cancelled.items == 1 and cancelled.rows == seen
    limited = query_worklist(node, AE, WorklistRequest(limit=3))
    assert limited.ok and limited.truncated and limited.items == 3, limited.error
    assert _query(node, station="CT01").items > 0  # the SCP is still fine


def test_steps_of_a_two_step_item(scps):
    two = next(s for s in GENERATED if len(s.steps) == 2)
    first, second = two.steps
    for name in SCPS:
        rows = _query(scps[name], station=second.station, date=second.date).rows
        mine = [r for r in rows if r.accession_number == two.accession_number]
        if name == "wlmscpfs":  # it returns every step of a matching file
            assert [r.step_id for r in mine] == [first.step_id, second.step_id]
            assert {r.item for r in mine} == {mine[0].item} and [r.step for r in mine] == [0, 1]
        else:  # PS3.4 C.2.2.2.6: only the matching items of the sequence
            assert [r.step_id for r in mine] == [second.step_id], name
        row = mine[-1]
        assert (row.station_ae_title, row.modality, row.start_time, row.status) == (
            second.station, second.modality, second.time, "SCHEDULED"), name
        assert [c.value for c in row.protocol] == [second.protocol[0][0]], name
        assert row.requested_procedure_description == two.requested_procedure_description, name


def test_names_arrive_intact_in_every_character_set(scps):
    for name in SCPS:
        rows = _query(scps[name], date=DAY).rows
        assert INTERNATIONAL <= {r.patient_name for r in rows}, name
        labels = {r.requested_procedure_description for r in rows}
        assert {"CHEST 2 VIEWS 胸部平扫", "MR BRAIN 胸部単純", "CT CHEST W/O CONTRAST Thorax Übersicht"} <= labels, name


def test_a_non_ascii_filter_goes_out_as_utf8(scps):
    expected = {s.accession_number for s in GENERATED if s.patient.name == "王^小东"}
    for name in ("orthanc", "receiver"):  # wlmscpfs compares bytes: UTF-8 never equals GB18030
        rows = _query(scps[name], patient_name="王^小东").rows
        assert {r.accession_number for r in rows} == expected, name
        assert {r.patient_name for r in rows} == {"王^小东"}


def test_no_charset_in_answers_is_read_with_the_node_fallback(worklists, tmp_path):
    """wlmscpfs by default declares no Specific Character Set: the node's charset decodes the names."""
    gb = next(s for s in GENERATED if s.patient.charset == "GB18030")
    with running(start_wlmscpfs, tmp_path, worklists, ae_title="WLRAW", extra_args=["-dfr"]) as raw:
        node = Node("raw", raw.ae_title, HOST, raw.port, charset="GB18030")
        rows = _query(node, patient_id=gb.patient.patient_id).rows
        assert [r.patient_name for r in rows] == ["王^小东"]
        assert rows[0].requested_procedure_description == gb.requested_procedure_description
        plain = Node("raw", raw.ae_title, HOST, raw.port)
        rows = _query(plain, patient_id=gb.patient.patient_id).rows
        assert rows and rows[0].patient_name != "王^小东"  # read as Latin-1 without the fallback


def _refresh_and_compare(node: Node, folder: Path, specs) -> None:
    before = _query(node).rows
    assert {r.accession_number for r in before} == {s.accession_number for s in specs[:3]}
    write_worklist(folder, specs[3:4])  # scheduled meanwhile
    (folder / f"{specs[0].accession_number}.wl").unlink()  # done or cancelled
    after = _query(node).rows
    diff = diff_rows(before, after)
    assert {(r.accession_number, r.step_id) for r in diff.appeared} == {
        (specs[3].accession_number, step.step_id) for step in specs[3].steps}
    assert {(r.accession_number, r.step_id) for r in diff.vanished} == {
        (specs[0].accession_number, step.step_id) for step in specs[0].steps}
    assert diff.changed == []
    assert not diff_rows(after, _query(node).rows).any


def test_refresh_sees_an_item_added_and_one_removed(tmp_path, receiver_factory):
    specs = make_worklist_specs(DAY, seed=4603, items=4)  # the fourth has two steps
    source = tmp_path / "source"
    write_worklist(source, specs[:3])
    with running(start_wlmscpfs, tmp_path, source, ae_title="WLREFRESH", extra_args=["-dfr"]) as wlm:
        _refresh_and_compare(Node("wlm", wlm.ae_title, HOST, wlm.port), wlm.ae_dir, specs)
    # Orthanc's worklist plugin reads its folder at every query too.
    served = tmp_path / "orthanc-worklists"
    write_worklist(served, specs[:3])
    with running(start_orthanc, tmp_path, ae_title="ORTHANCRF", modalities={AE: (HOST, free_port())},
                 worklists_dir=served, stop_kwargs=ORTHANC_STOP) as orthanc:
        _refresh_and_compare(Node("orthanc", orthanc.ae_title, HOST, orthanc.port), served, specs)
    local = tmp_path / "local"
    write_worklist(local, specs[:3])
    rx = receiver_factory(worklists=local)
    _refresh_and_compare(Node("local", rx.settings.ae_title, HOST, rx.port), local, specs)


def test_worklist_associations_go_to_pynetdicom_storage_ones_stay_fast(receiver_factory, tmp_path, monkeypatch):
    served = served_by_fast_path(monkeypatch)
    write_worklist(tmp_path / "wl", make_worklist_specs(DAY, seed=4604, items=2))
    rx = receiver_factory(worklists=tmp_path / "wl")
    node = Node("local", rx.settings.ae_title, HOST, rx.port)
    assert _query(node).items == 2  # our own SCU: MWL and Verification proposed
    ae = PynetdicomAE("MIXED")
    for context in (CTImageStorage, ModalityWorklistInformationFind, Verification):
        ae.add_requested_context(context)
    assoc = ae.associate(HOST, rx.port, ae_title=rx.settings.ae_title)
    try:
        assert assoc.send_c_store(make_instance_of_size(20_000, seed=4605)).Status == 0x0000
        query = pydicom.Dataset()
        query.PatientName = None
        query.ScheduledProcedureStepSequence = []
        statuses = [s.Status for s, _ in assoc.send_c_find(query, ModalityWorklistInformationFind)]
        assert statuses == [0xFF00, 0xFF00, 0x0000]
    finally:
        assoc.release()
    assert served == []  # both went to pynetdicom, which answers C-FIND
    store_only = PynetdicomAE("STOREONLY")
    store_only.add_requested_context(CTImageStorage)
    assoc = store_only.associate(HOST, rx.port, ae_title=rx.settings.ae_title)
    try:
        assert assoc.send_c_store(make_instance_of_size(20_000, seed=4606)).Status == 0x0000
    finally:
        assoc.release()
    assert served == ["STOREONLY"]
