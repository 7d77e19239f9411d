"""The association log with real peers: what each association we open or accept leaves in it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dicomtui.config.model import Node
from dicomtui.dicom.synthetic import generate_studies
from dicomtui.engine.echo import echo
from dicomtui.engine.query import QueryRequest, find
from dicomtui.engine.retrieve import RetrieveRequest
from dicomtui.engine.retrieve_move import move
from dicomtui.engine.send import send_files
from dicomtui.store.association_log import AssociationLog

from ..cli_runner import run
from .harness import HOST, free_port
from .receiver_fixtures import run_storescu

pytestmark = pytest.mark.peers

VERIFICATION = "1.2.840.10008.1.1"
STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"


@pytest.fixture
def log(tmp_path: Path) -> AssociationLog:
    return AssociationLog(tmp_path / "associations.sqlite3")


def _only(log: AssociationLog, **where):
    entries = log.recent(**where)
    assert len(entries) == 1, [(e.service, e.origin, e.outcome) for e in entries]
    return log.get(entries[0].id)


def _wait(condition, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_an_echo_keeps_contexts_messages_and_how_it_ended(storescp, log):
    node = Node("archive", storescp.ae_title, HOST, storescp.port)
    result = echo(node, "LOGTEST", count=2, journal=log.journal("echo archive"))
    assert result.ok
    entry = _only(log, origin="echo archive")
    assert entry.id == result.log_id
    assert (entry.outgoing, entry.service, entry.calling_ae, entry.called_ae) == (True, "echo", "LOGTEST",
                                                                                  storescp.ae_title)
    assert entry.peer == f"{HOST}:{storescp.port}"
    assert entry.outcome == "released" and entry.ended >= entry.started
    [context] = entry.contexts
    assert (context.abstract_syntax, context.result) == (VERIFICATION, 0) and context.transfer_syntax
    assert [(m.sent, m.name, m.status) for m in entry.messages] == [
        (True, "C-ECHO-RQ", None), (False, "C-ECHO-RSP", 0x0000)] * 2
    assert entry.counts == {"C-ECHO-RQ": 2, "C-ECHO-RSP 0x0000": 2}


def test_refused_and_rejected_associations_say_why(storescp_factory, log):
    closed = Node("gone", "GONE", HOST, free_port())
    refused = echo(closed, "LOGTEST", journal=log.journal("echo gone"))
    entry = _only(log, origin="echo gone")
    assert entry.id == refused.log_id
    assert entry.outcome == "failed" and "connection refused" in entry.reason
    assert [c.abstract_syntax for c in entry.contexts] == [VERIFICATION]  # what we would have asked

    picky = storescp_factory(ae_title="PICKY", extra_args=["--refuse"], wait=False)
    echo(Node("picky", "PICKY", HOST, picky.port), "LOGTEST", journal=log.journal("echo picky"))
    entry = _only(log, origin="echo picky")
    assert entry.outcome == "rejected" and "A-ASSOCIATE-RJ" in entry.reason


def test_a_query_logs_its_keys_on_both_sides(receiver_factory, tmp_path, log):
    rx = receiver_factory(ae_title="LOGQR", journal=log.journal("receiver"))
    files = generate_studies(tmp_path / "src", patients=2, seed=77)
    assert run_storescu(rx.port, files, called="LOGQR").returncode == 0
    rx.receiver.wait_indexed()
    node = Node("local", "LOGQR", HOST, rx.port)
    result = find(node, "LOGTEST", QueryRequest(level="STUDY", keys={"PatientName": "*"},
                                                return_keys=["StudyDate"]),
                  journal=log.journal("find local"))
    assert result.ok and len(result.rows) == 2
    ours = _only(log, origin="find local")
    assert ours.id == result.log_id and ours.service == "find" and ours.outcome == "released"
    request = next(m for m in ours.messages if m.name == "C-FIND-RQ")
    assert ("QueryRetrieveLevel", "STUDY") in request.identifier and ("PatientName", "*") in request.identifier
    assert ("StudyDate", "") in request.identifier
    statuses = [m.status for m in ours.messages if m.name == "C-FIND-RSP"]
    assert statuses == [0xFF00, 0xFF00, 0x0000]
    assert any(c.abstract_syntax == STUDY_FIND and c.accepted for c in ours.contexts)
    # The receiver's side of the same association (pynetdicom serves queries), and of the storescu one.
    theirs = _wait(lambda: [e for e in log.recent(origin="receiver") if e.service == "find"])
    seen = log.get(theirs[0].id)
    assert (seen.outgoing, seen.calling_ae, seen.called_ae) == (False, "LOGTEST", "LOGQR")
    assert [m.name for m in seen.messages if not m.sent] == ["C-FIND-RQ"]
    assert ("PatientName", "*") in next(m for m in seen.messages if m.name == "C-FIND-RQ").identifier
    stored = [e for e in log.recent(origin="receiver") if e.service == "store"]
    assert len(stored) == 1
    store = log.get(stored[0].id)
    assert store.outcome == "released" and store.calling_ae == "STORESCU"
    assert store.counts.get("C-STORE-RSP 0x0000") == len(files)
    assert all(c.result is not None for c in store.contexts)


def test_the_receiver_logs_whom_it_rejects(receiver_factory, tmp_path, log):
    rx = receiver_factory(ae_title="LOGRX", accept=("CT01",), journal=log.journal("receiver"))
    files = generate_studies(tmp_path / "src", patients=1, series_per_study=1, seed=78)
    assert run_storescu(rx.port, files, called="LOGRX", calling="MR99").returncode != 0
    entry = log.get(_wait(lambda: log.recent(origin="receiver"))[0].id)
    assert entry.outcome == "rejected" and "calling AE title is not allowed" in entry.reason
    assert entry.calling_ae == "MR99"


def test_a_send_and_a_move_with_its_sub_association(storescp, receiver_factory, tmp_path, log):
    files = generate_studies(tmp_path / "src", patients=1, series_per_study=1, seed=79)
    target = Node("scp", storescp.ae_title, HOST, storescp.port)
    sent = send_files(target, "LOGTEST", files, journal=log.journal("job 1"))
    assert sent.sent == len(files) and not sent.failed
    entry = _only(log, origin="job 1")
    assert entry.service == "send" and entry.outcome == "released"
    names = [m.name for m in entry.messages]
    assert names.count("C-STORE-RQ") == len(files) and entry.counts.get("C-STORE-RSP 0x0000") == len(files)
    assert any(m.detail.startswith("SOP Instance ") for m in entry.messages if m.name == "C-STORE-RQ")

    # Our receiver, asked to C-MOVE what it holds to storescp: our C-MOVE and its sub-association.
    rx = receiver_factory(ae_title="LOGMV", nodes=(target,), journal=log.journal("receiver"))
    assert run_storescu(rx.port, files, called="LOGMV").returncode == 0
    rx.receiver.wait_indexed()
    study = _study_uid(files[0])
    result = move(Node("local", "LOGMV", HOST, rx.port), "LOGTEST", RetrieveRequest(study_uid=study),
                  storescp.ae_title, journal=log.journal("move test"))
    assert result.ok, result.error
    ours = _only(log, origin="move test")
    assert ours.id in result.log_ids
    request = next(m for m in ours.messages if m.name == "C-MOVE-RQ")
    assert ("StudyInstanceUID", study) in request.identifier
    final = [m for m in ours.messages if m.name == "C-MOVE-RSP"][-1]
    assert final.status == 0x0000 and f"completed {len(files)}" in final.detail
    sub = log.get(_wait(lambda: log.recent(origin_prefix="receiver: C-MOVE"))[0].id)
    assert sub.outgoing and sub.called_ae == storescp.ae_title and sub.calling_ae == "LOGMV"
    assert sub.counts.get("C-STORE-RSP 0x0000") == len(files)


def test_commands_log_into_the_data_folder(home, storescp):
    done = run(home, "echo", f"{storescp.ae_title}@{HOST}:{storescp.port}")
    assert done.code == 0, done
    log = AssociationLog(home.root / "data" / "dicomtui" / "associations.sqlite3")
    [entry] = log.recent()
    assert entry.outcome == "released" and entry.service == "echo"
    assert entry.origin == f"echo {storescp.ae_title}@{HOST}:{storescp.port}"


def _study_uid(path: Path) -> str:
    from pydicom import dcmread

    return str(dcmread(path, stop_before_pixels=True).StudyInstanceUID)
