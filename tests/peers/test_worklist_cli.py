"""`dicomtui worklist` as scripts see it (JSON fields, nulls, the table, exit codes), and `dicomtui demo` filling
the local worklist that the receiver of the default setup (`dicomtui serve`) then answers."""

from __future__ import annotations

import datetime
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dicomtui.cli.find_cmd import width
from dicomtui.config.model import Node
from dicomtui.dicom.synthetic_worklist import make_worklist_specs, write_worklist
from dicomtui.engine.receiver import Receiver, ReceiverSettings
from dicomtui.engine.worklist import WorklistRequest, query_worklist

from ..cli_runner import interrupted_while_connecting, run, run_all
from .harness import HOST, free_port
from .receiver_fixtures import write_config

pytestmark = pytest.mark.peers

DAY = "20240105"
SPECS = make_worklist_specs(DAY, seed=4701, items=8)
REQUIRED = ("PatientName", "PatientID", "AccessionNumber", "Modality", "ScheduledStationAETitle",
            "ScheduledProcedureStepStartDate", "ScheduledProcedureStepStartTime", "ScheduledProcedureStepDescription",
            "RequestedProcedureDescription", "ScheduledProcedureStepStatus", "StudyInstanceUID")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, dcmtk_worklists: list[Path]) -> Iterator[Node]:
    """Our receiver serving dcmtk's examples and generated items."""
    base = tmp_path_factory.mktemp("worklist-cli")
    folder = base / "worklists"
    write_worklist(folder, SPECS)
    for path in dcmtk_worklists:
        shutil.copyfile(path, folder / path.name)
    receiver = Receiver(ReceiverSettings(ae_title="LOCALWL", port=free_port(), bind=HOST, storage=base / "archive",
                                         min_free_bytes=0, fsync=False, worklists=folder))
    receiver.start()
    try:
        yield Node("local", "LOCALWL", HOST, receiver.settings.port)
    finally:
        receiver.stop(grace=2.0)


def _target(node: Node) -> str:
    return f"{node.ae_title}@{node.host}:{node.port}"


def test_json_contract(home, local):
    runs = run_all(home, {
        "generated": ("worklist", _target(local), "--date", "2024-01-04-2024-01-06", "--station", "CT01", "--json"),
        "examples": ("worklist", _target(local), "--station", "AA32", "--modality", "mr", "--json"),
        "patient": ("worklist", _target(local), "--patient", "王*", "--json"),
        "none": ("worklist", _target(local), "--date", "20000101", "--json"),
    })
    for r in runs.values():
        assert r.code == 0 and r.err == "", r
    rows = json.loads(runs["generated"].out)
    expected = [(s, step) for s in SPECS for step in s.steps if step.station == "CT01"]
    assert len(rows) == len(expected) >= 2
    assert [r["ScheduledProcedureStepStartTime"] for r in rows] == sorted(step.time for _, step in expected)
    for row in rows:
        assert set(REQUIRED) <= set(row)
        assert all(v is None or isinstance(v, str | list) for v in row.values())
        spec, step = next((s, st) for s, st in expected if st.step_id == row["ScheduledProcedureStepID"])
        assert row["PatientName"] == spec.patient.name and row["PatientID"] == spec.patient.patient_id
        assert (row["AccessionNumber"], row["StudyInstanceUID"]) == (spec.accession_number, spec.study_uid)
        assert (row["Modality"], row["ScheduledStationAETitle"], row["ScheduledProcedureStepStartDate"]) == (
            step.modality, "CT01", DAY)
        assert row["ScheduledProcedureStepDescription"] == step.description
        assert row["RequestedProcedureDescription"] == spec.requested_procedure_description
        assert row["ScheduledProcedureStepStatus"] == "SCHEDULED"
        assert row["ScheduledProtocolCodeSequence"][0]["CodeValue"] == step.protocol[0][0]

    (example,) = json.loads(runs["examples"].out)  # dcmtk's wklist1: no status, no admission, two stations
    assert example["PatientName"] == "VIVALDI^ANTONIO" and example["AccessionNumber"] == "00000"
    assert example["ScheduledStationAETitle"] == ["AA32", "AA33"]
    assert example["ScheduledProcedureStepStatus"] is None and example["AdmissionID"] is None
    assert example["StudyInstanceUID"] == "1.2.276.0.7230010.3.2.101"
    assert example["ScheduledProtocolCodeSequence"] == []

    assert {r["PatientName"] for r in json.loads(runs["patient"].out)} == {"王^小东", "Wang^XiaoDong=王^小東"}
    assert json.loads(runs["none"].out) == []


def test_json_is_what_the_engine_returns(home, local):
    result = query_worklist(local, "DICOMTUI", WorklistRequest(modality="CT"))
    cli = run(home, "worklist", _target(local), "--modality", "CT", "--json")
    assert cli.code == 0, cli
    assert sorted(json.dumps(r.as_json(), sort_keys=True) for r in result.rows) == sorted(
        json.dumps(r, sort_keys=True) for r in json.loads(cli.out))


def test_table_and_node_names(home, local):
    write_config(home, f'[[nodes]]\nname = "ris"\nae_title = "{local.ae_title}"\nhost = "{HOST}"\n'
                       f'port = {local.port}\n')
    runs = run_all(home, {
        "day": ("worklist", "ris", "--date", DAY),
        "station": ("worklist", "RIS", "--station", "MR01"),
    })
    day = runs["day"]
    assert day.code == 0 and day.err == "", day
    lines = day.out.rstrip().splitlines()
    steps = sum(len(s.steps) for s in SPECS)
    assert lines[-1] == f"{steps} scheduled steps in {len(SPECS)} worklist items (on 2024-01-05, status SCHEDULED)"
    assert lines[0].split()[:2] == ["Time", "Name"] and "王^小东" in day.out
    assert all(width(line) <= 80 for line in lines), day.out
    station = runs["station"]
    assert station.code == 0, station
    assert station.out.rstrip().splitlines()[-1].endswith("(on 2024-01-05, mod MR, station MR01, status SCHEDULED)")


def test_exit_codes_and_sentences(home, local, storescp, orthanc_factory, tmp_path):
    # Orthanc with its worklist plugin, answering worklist queries only from its DicomModalities (none).
    refusing = orthanc_factory(ae_title="NOWL", worklists_dir=tmp_path, extra={"DicomAlwaysAllowFindWorklist": False})
    runs = run_all(home, {
        "bad-date": ("worklist", _target(local), "--date", "2024-13-01"),
        "not-a-date": ("worklist", _target(local), "--date", "soon", "--json"),
        "reversed": ("worklist", _target(local), "--date", "20240131-20240101"),
        "bad-station": ("worklist", _target(local), "--station", "A\\B"),
        "bad-modality": ("worklist", _target(local), "--modality", "C-T", "--json"),
        "closed": ("worklist", f"NOBODY@{HOST}:{free_port()}", "--json"),
        "unknown-node": ("worklist", "nosuchnode"),
        "storage-only": ("worklist", f"{storescp.ae_title}@{HOST}:{storescp.port}"),
        "refuses-us": ("worklist", f"NOWL@{HOST}:{refusing.port}"),
    })
    for r in runs.values():
        assert "Traceback" not in r.err, r
    assert runs["bad-date"].code == 2 and runs["bad-date"].out == ""
    assert runs["bad-date"].err == "dicomtui: --date: '2024-13-01' is not a valid date (month must be in 1..12)\n"
    assert runs["not-a-date"].code == 2 and "'soon' is not a date; write today, tomorrow" in runs["not-a-date"].err
    assert runs["reversed"].code == 2 and "ends before it starts" in runs["reversed"].err
    # Each message names the option, as --date's does.
    assert runs["bad-station"].code == 2 and runs["bad-station"].err == (
        "dicomtui: --station: 'A\\\\B' is not an AE title (at most 16 plain ASCII characters, no backslash)\n")
    assert runs["bad-modality"].code == 2 and runs["bad-modality"].out == "" and runs["bad-modality"].err == (
        "dicomtui: --modality: 'C-T' is not a code such as CT, MR or US (letters and digits, at most 16 "
        "characters)\n")
    closed = runs["closed"]
    assert closed.code == 3 and "connection refused" in closed.err and closed.out.strip() == "[]", closed
    assert runs["unknown-node"].code == 2 and "no node named 'nosuchnode'" in runs["unknown-node"].err
    storage = runs["storage-only"]
    assert storage.code == 1 and "does not offer a Modality Worklist" in storage.err, storage
    refused = runs["refuses-us"]
    assert refused.code == 3, refused
    assert "refuses worklist queries from our AE title DICOMTUI" in refused.err, refused


def test_demo_fills_the_worklist_the_default_receiver_serves(home, serve_factory):
    demo = run(home, "demo", "--patients", "1", "--storage", str(home.root / "archive"))
    assert demo.code == 0, demo
    folder = home.root / "data" / "dicomtui" / "worklists"  # the default: in the data folder
    assert demo.out.splitlines()[-1] == f"demo: 15 worklist item(s) scheduled today and tomorrow in {folder}"
    port = free_port()  # no [local] worklists in its config: the default folder
    served = serve_factory(workers=2, port=port, config=f"[local]\nport = {port}\n[receiver]\nmin_free_mb = 0\n")
    today = run(home, "worklist", f"DICOMTUI@{HOST}:{served.port}", "--date", "today", "--json")
    assert today.code == 0, today
    rows = json.loads(today.out)
    assert {r["ScheduledProcedureStepStartDate"] for r in rows} == {f"{datetime.date.today():%Y%m%d}"}
    assert len({r["AccessionNumber"] for r in rows}) == 12
    assert {"王^小东", "Wang^XiaoDong=王^小東", "Yamada^Tarou=山田^太郎=やまだ^たろう", "Müller^Jürgen",
            "Ødegård^Åse"} <= {r["PatientName"] for r in rows}
    assert {r["Modality"] for r in rows} >= {"CT", "MR", "CR", "US", "DX"}
    week = run(home, "worklist", f"DICOMTUI@{HOST}:{served.port}", "--date", "week", "--station", "CT01")
    assert week.code == 0 and "station CT01" in week.out.splitlines()[-1], week
    # "this machine", as the Worklist screen and its presets name the local worklist: the same answer.
    here = run(home, "worklist", "this machine", "--date", "today", "--json")
    assert here.code == 0 and json.loads(here.out) == rows, here


def test_ctrl_c_exits_130_at_once(home, silent_peer):
    args = ("worklist", f"HUNG@{HOST}:{silent_peer.port}", "--date", "today", "--timeout", "30")
    done, took = interrupted_while_connecting(home, args, silent_peer)
    out, err = done.out, done.err
    assert done.code == 130, (out, err)
    assert took < 3.0
    assert err.strip() == "dicomtui: interrupted" and "Traceback" not in err and out == ""


def test_worklists_folder_from_the_config(home, tmp_path):
    from dicomtui.config.store import ConfigFile
    from dicomtui.engine.receiver import settings_from_config

    write_config(home, f'[local]\nworklists = "{tmp_path / "ris"}"\n')
    config = ConfigFile(home.config).require_ok()
    assert config.local.worklists == tmp_path / "ris"
    assert settings_from_config(config).worklists == tmp_path / "ris"
    demo = run(home, "demo", "--patients", "1", "--storage", str(home.root / "archive"))
    assert demo.code == 0 and str(tmp_path / "ris") in demo.out, demo
    assert len(list((tmp_path / "ris").glob("*.wl"))) == 15
