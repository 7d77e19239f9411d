"""`dicomtui move` / `get` as jobs in the transfer queue, against real archives (Orthanc, dcmqrscp).

What a user relies on: the move/get JSON contract is unchanged, the job records the request and the
archive's counts, a failure is recorded with its reason, `jobs retry` runs the request again, and
`jobs cancel` from another terminal stops a running move with C-CANCEL.
"""

from __future__ import annotations

import json
import time

import pytest

from ..cli_runner import finish, run, start
from .harness import HOST
from .test_retrieve import mixed_study, sop_uids, study_files, study_uid_of

pytestmark = pytest.mark.peers

CONTRACT = {"status", "completed", "failed", "warning", "failed_uids"}


def jobs(home) -> list[dict]:
    listed = run(home, "jobs", "list", "--json")
    assert listed.code == 0, listed
    return json.loads(listed.out)


def show(home, job_id: str) -> dict:
    shown = run(home, "jobs", "show", job_id, "--json")
    assert shown.code == 0, shown
    return json.loads(shown.out)


def target_of(peer) -> str:
    return f"{peer.ae_title}@{peer.host}:{peer.port}"


def test_a_move_is_recorded_as_a_job_with_its_counts(orthanc, storescp_factory, scu_ports, home, tmp_path):
    files = study_files(tmp_path / "src", seed=5201, series=1, instances=3)
    orthanc.upload(files)
    peer = storescp_factory(ae_title="TESTSCU", port=scu_ports["TESTSCU"])
    study = study_uid_of(files)
    moved = run(home, "move", target_of(orthanc), "--dest", "TESTSCU", "--study", study, "--json")
    assert moved.code == 0, moved
    assert json.loads(moved.out) == {"status": "0x0000", "completed": 3, "failed": 0, "warning": 0,
                                     "failed_uids": []}
    assert sop_uids(peer.received()) == sop_uids(files)
    [job] = jobs(home)
    assert (job["kind"], job["state"], job["target"], job["destination"]) == ("move", "done", target_of(orthanc),
                                                                              "TESTSCU")
    assert (job["completed"], job["failed"], job["warning"], job["remaining"], job["status"]) == (3, 0, 0, 0, "0x0000")
    assert (job["sent"], job["total"]) == (3, 3)
    detail = show(home, job["job"])
    assert detail["request"]["study_uid"] == study and detail["request"]["level"] == "STUDY"
    assert detail["failure"] is None and detail["failed_uids"] == []
    text = run(home, "jobs", "show", job["job"])
    assert text.code == 0 and "move from" in text.out and "to TESTSCU, done" in text.out, text
    assert "3 completed, 0 failed, 0 warning" in text.out and f"study {study}" in text.out
    listing = run(home, "jobs", "list")
    assert listing.code == 0 and "move" in listing.out and "3/3" in listing.out, listing
    again = run(home, "jobs", "retry", job["job"])
    assert again.code == 0 and "nothing to retry" in again.out, again


def test_a_get_is_recorded_as_a_job(orthanc, home, tmp_path):
    study, files = mixed_study(tmp_path / "src", seed=5202)
    orthanc.upload(files)
    got = run(home, "get", target_of(orthanc), "--study", study, "--json")
    assert got.code == 0, got
    assert set(json.loads(got.out)) == CONTRACT
    [job] = jobs(home)
    assert (job["kind"], job["state"], job["completed"], job["destination"]) == ("get", "done", len(files), None)
    assert show(home, job["job"])["options"]["storage"].endswith("storage")


def test_a_move_to_an_unknown_destination_is_recorded_failed_with_the_reason(orthanc, home, tmp_path):
    files = study_files(tmp_path / "src", seed=5203, series=1, instances=1)
    orthanc.upload(files)
    moved = run(home, "move", target_of(orthanc), "--dest", "NOWHERE", "--study", study_uid_of(files), "--json")
    assert moved.code == 1, moved
    assert json.loads(moved.out)["status"] == "0xC000"
    [job] = jobs(home)
    assert (job["kind"], job["state"], job["status"]) == ("move", "failed", "0xC000")
    assert "does not know AE title NOWHERE" in job["message"], job
    assert show(home, job["job"])["failure"] == "unknown-destination"
    text = run(home, "jobs", "show", job["job"])
    assert "failed: " in text.out and "does not know AE title NOWHERE" in text.out, text


def test_retry_runs_a_failed_move_again(orthanc, storescp_factory, scu_ports, home, tmp_path):
    # Orthanc knows TESTSCU at scu_ports["TESTSCU"], where nothing listens yet: every sub-operation fails.
    files = study_files(tmp_path / "src", seed=5204, series=1, instances=2)
    orthanc.upload(files)
    first = run(home, "move", target_of(orthanc), "--dest", "TESTSCU", "--study", study_uid_of(files), "--json")
    assert first.code == 1, first
    [job] = jobs(home)
    assert job["state"] == "failed" and job["message"], job
    peer = storescp_factory(ae_title="TESTSCU", port=scu_ports["TESTSCU"])
    retried = run(home, "jobs", "retry", job["job"], "--json")
    assert retried.code == 0, retried
    assert json.loads(retried.out) == {"status": "0x0000", "completed": 2, "failed": 0, "warning": 0,
                                       "failed_uids": []}
    assert sop_uids(peer.received()) == sop_uids(files)
    [after] = jobs(home)
    assert (after["job"], after["state"], after["completed"], after["failed"], after["message"]) == (
        job["job"], "done", 2, 0, "")


def test_jobs_cancel_stops_a_running_move(dcmqrscp_factory, receiver_factory, home, tmp_path):
    rx = receiver_factory()
    files = study_files(tmp_path / "src", seed=5205, series=2, instances=150)
    peer = dcmqrscp_factory(known_peers={"DICOMTUI": (HOST, rx.port)}, preload=files)
    moving = start(home, ("move", target_of(peer), "--dest", "DICOMTUI", "--study", study_uid_of(files), "--json"))
    deadline = time.monotonic() + 30
    job = None
    while time.monotonic() < deadline:  # wait until the archive has sent a few
        listed = jobs(home)
        if listed and listed[0]["state"] == "running" and listed[0]["completed"] >= 3:
            job = listed[0]
            break
        time.sleep(0.05)
    assert job is not None, (jobs(home), finish(moving))
    cancelled = run(home, "jobs", "cancel", job["job"])
    assert cancelled.code == 0 and "cancelled" in cancelled.out, cancelled
    moved = finish(moving)
    assert moved.code == 130, moved  # as when the move itself is interrupted
    out = json.loads(moved.out)
    assert out["status"] == "0xFE00" and 3 <= out["completed"] < len(files), out
    [after] = jobs(home)
    assert (after["state"], after["status"], after["completed"]) == ("cancelled", "0xFE00", out["completed"])
    assert "jobs retry" in after["message"]


def test_resume_runs_a_move_a_kill_left_unfinished(dcmqrscp_factory, receiver_factory, home, tmp_path):
    rx = receiver_factory()
    files = study_files(tmp_path / "src", seed=5206, series=2, instances=150)
    peer = dcmqrscp_factory(known_peers={"DICOMTUI": (HOST, rx.port)}, preload=files)
    moving = start(home, ("move", target_of(peer), "--dest", "DICOMTUI", "--study", study_uid_of(files)))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (jobs(home) and jobs(home)[0]["completed"] >= 3):
        time.sleep(0.05)
    moving[1].kill()  # kill -9: no chance to record anything more
    finish(moving)
    [job] = jobs(home)
    assert job["state"] == "running", job  # as the killed process left it
    resumed = run(home, "jobs", "resume")
    assert resumed.code == 0, resumed
    assert f"resuming job {job['job']}: move" in resumed.out, resumed
    [after] = jobs(home)
    assert (after["state"], after["completed"], after["failed"]) == ("done", len(files), 0), after
    rx.receiver.wait_indexed()
    assert len(rx.stored_files()) == len(files)  # sent twice in part, but kept once each (keep-newest)
