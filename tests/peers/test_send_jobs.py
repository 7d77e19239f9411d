"""`dicomtui send` and `dicomtui jobs` against real peers: storescp and our own receiver.

What a user relies on: the JSON and exit codes, skipped files counted, transient failures retried and then
reported with reasons, `jobs retry` sending only what failed, and `jobs resume` after a kill -9 sending the
rest without sending again anything the peer had confirmed.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from dicomtui.dicom.synthetic import generate_studies
from dicomtui.engine.receiver import InstanceStored
from dicomtui.engine.send import scan
from dicomtui.store.jobs import SENT, JobStore

from ..cli_runner import finish, run, start
from .harness import HOST, free_port
from .receiver_fixtures import write_config

pytestmark = pytest.mark.peers

JSON_KEYS = {"job", "sent", "failed", "skipped", "bytes", "seconds"}


def folder_with_extras(root, count: int, seed: int, instance_bytes: int = 4_000):
    files = generate_studies(root, patients=1, series_per_study=1, instances_per_series=count, seed=seed,
                             instance_bytes=instance_bytes)
    (root / "notes.txt").write_text("not an image")
    (root / "empty.dcm").write_bytes(b"")
    return files


def store_of(home) -> JobStore:
    return JobStore(home.root / "data" / "dicomtui" / "jobs.sqlite3")


def uids_of(paths) -> list[str]:
    return [str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in paths]


def test_send_a_folder_to_storescp(home, storescp, tmp_path):
    files = folder_with_extras(tmp_path / "f", 4, seed=7401)
    result = run(home, "send", f"{storescp.ae_title}@{HOST}:{storescp.port}", str(tmp_path / "f"), "--json")
    assert result.code == 0, result
    out = json.loads(result.out)
    assert set(out) == JSON_KEYS
    assert (out["sent"], out["failed"], out["skipped"]) == (4, 0, 2)
    assert out["bytes"] == scan(files).total_bytes and isinstance(out["seconds"], float) and isinstance(out["job"], str)
    assert sorted(uids_of(storescp.received())) == sorted(uids_of(files))
    listed = json.loads(run(home, "jobs", "list", "--json").out)
    assert [(j["job"], j["state"], j["sent"], j["skipped"]) for j in listed] == [(out["job"], "done", 4, 2)]


def test_send_to_our_receiver_in_parallel(home, receiver_factory, tmp_path):
    files = folder_with_extras(tmp_path / "f", 30, seed=7402)
    rx = receiver_factory()
    result = run(home, "send", f"DICOMTUI@{HOST}:{rx.port}", str(tmp_path / "f"), "--parallel", "3", "--json")
    assert result.code == 0, result
    out = json.loads(result.out)
    assert (out["sent"], out["failed"], out["skipped"]) == (30, 0, 2)
    assert sorted(uids_of(rx.stored_files())) == sorted(uids_of(files))


def test_user_errors_are_words_and_exit_2(home, tmp_path):
    missing = run(home, "send", f"X@{HOST}:104", str(tmp_path / "nope"))
    assert missing.code == 2 and "no such file or folder" in missing.err and "Traceback" not in missing.err
    assert run(home, "send", "nonode", str(tmp_path)).code == 2
    assert run(home, "send", f"X@{HOST}:104", str(tmp_path), "--parallel", "0").code == 2


def test_refused_peer_is_retried_then_failed_and_jobs_retry_sends_later(home, storescp_factory, tmp_path):
    files = folder_with_extras(tmp_path / "f", 3, seed=7403)
    port = free_port()
    started = time.monotonic()
    result = run(home, "send", f"STORESCP@{HOST}:{port}", str(tmp_path / "f"), "--json")
    assert result.code == 1, result
    assert time.monotonic() - started > 1 + 2 + 4  # three back-offs: 1, 2 and 4 s
    out = json.loads(result.out)
    assert (out["sent"], out["failed"], out["skipped"], out["bytes"]) == (0, 3, 2, 0)
    shown = json.loads(run(home, "jobs", "show", out["job"], "--json").out)
    assert shown["state"] == "failed"
    assert {(f["kind"], f["attempts"]) for f in shown["failed_instances"]} == {("refused", 4)}
    assert all("connection refused" in f["error"] for f in shown["failed_instances"])
    plain = run(home, "jobs", "show", out["job"])
    assert sum(line.startswith("failed: ") for line in plain.out.splitlines()) == 3
    assert "connection refused" in plain.out

    scp = storescp_factory(port=port)  # the peer comes up
    retried = run(home, "jobs", "retry", out["job"], "--json")
    assert retried.code == 0, retried
    again = json.loads(retried.out)
    assert (again["job"], again["sent"], again["failed"]) == (out["job"], 3, 0)
    assert sorted(uids_of(scp.received())) == sorted(uids_of(files))
    assert run(home, "jobs", "retry", out["job"]).out.startswith(f"job {out['job']} has nothing to retry")


def test_jobs_retry_sends_only_the_failed_ones(home, storescp_factory, tmp_path):
    """A peer taking uncompressed syntaxes only fails a JPEG 2000 file (permanent: not retried); once the node
    points at a peer that takes it, `jobs retry` sends that file and nothing else."""
    folder = tmp_path / "f"
    good = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=3, seed=7404,
                            instance_bytes=4_000)
    j2k = folder / "j2k.dcm"
    j2k.write_bytes(open(get_testdata_file("JPEG2000.dcm"), "rb").read())
    strict = storescp_factory(ae_title="STRICT", accept_all=False)
    write_config(home, f'[[nodes]]\nname = "peer"\nae_title = "STRICT"\nhost = "{HOST}"\nport = {strict.port}\n')
    first = run(home, "send", "peer", str(folder), "--json")
    assert first.code == 1, first
    out = json.loads(first.out)
    assert (out["sent"], out["failed"]) == (3, 1)
    shown = json.loads(run(home, "jobs", "show", out["job"], "--json").out)
    [failed] = shown["failed_instances"]
    assert failed["path"] == str(j2k) and failed["kind"] == "conversion" and failed["attempts"] == 1
    assert len(strict.received()) == 3

    relaxed = storescp_factory(ae_title="RELAXED")  # +xa: takes JPEG 2000 as it is
    write_config(home, f'[[nodes]]\nname = "peer"\nae_title = "RELAXED"\nhost = "{HOST}"\nport = {relaxed.port}\n')
    retried = run(home, "jobs", "retry", out["job"], "--json")
    assert retried.code == 0, retried
    assert json.loads(retried.out)["sent"] == 4
    assert uids_of(relaxed.received()) == uids_of([j2k])  # only the failed one went out
    assert sorted(uids_of(strict.received())) == sorted(uids_of(good))


def wait_for_sent(home, at_least: int, proc, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the send ended before it could be killed"
        jobs = store_of(home).list() if store_of(home).path.exists() else []
        if jobs and jobs[0].counts.sent >= at_least:
            return
        time.sleep(0.02)
    pytest.fail(f"fewer than {at_least} instances sent within {timeout} s")


def kill_send_then_resume(home, target: str, folder, at_least: int, parallel: int = 1):
    """Start `dicomtui send`, kill -9 it once `at_least` instances are confirmed, then `jobs resume`.
    Returns the UIDs confirmed before the kill and the resume's run."""
    started = start(home, ["send", target, str(folder), "--parallel", str(parallel)])
    _, proc = started
    wait_for_sent(home, at_least, proc)
    os.kill(proc.pid, signal.SIGKILL)
    finish(started)
    [job] = store_of(home).list()
    assert job.state == "running"  # what a crash leaves
    confirmed = {r.sop_instance_uid for r in store_of(home).instances(job.id, [SENT])}
    resumed = run(home, "jobs", "resume")
    return job, confirmed, resumed


def check_once(arrived: Counter, confirmed: set[str], expected: list[str], parallel: int) -> None:
    assert set(arrived) == set(expected)  # nothing lost
    twice = {uid for uid, n in arrived.items() if n > 1}
    # C-STORE has no idempotency: an instance the peer had stored but whose response we never read (it was in
    # flight at the kill, one per association) is sent again. Nothing confirmed before the kill is.
    assert not twice & confirmed, twice & confirmed
    assert len(twice) <= parallel and all(arrived[uid] == 2 for uid in twice)


def test_kill_9_then_resume_sends_the_rest_once_to_storescp(home, storescp_factory, tmp_path):
    folder = tmp_path / "f"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=6, seed=7405,
                             instance_bytes=4_000)
    # +uf: a file per arrival, so an instance received twice shows twice; --sleep-after: a slow peer.
    scp = storescp_factory(extra_args=["+uf", "--sleep-after", "1"])
    job, confirmed, resumed = kill_send_then_resume(home, f"STORESCP@{HOST}:{scp.port}", folder, at_least=2)
    assert resumed.code == 0, resumed
    assert f"resuming job {job.id}" in resumed.out and "6 sent, 0 failed" in resumed.out
    assert len(confirmed) >= 2
    check_once(Counter(uids_of(scp.received())), confirmed, uids_of(files), parallel=1)
    assert store_of(home).get(job.id).state == "done"
    assert run(home, "jobs", "resume").out.startswith("nothing to resume")


def test_jobs_cancel_stops_a_running_send(home, storescp_factory, tmp_path):
    folder = tmp_path / "f"
    generate_studies(folder, patients=1, series_per_study=1, instances_per_series=6, seed=7407, instance_bytes=4_000)
    scp = storescp_factory(extra_args=["--sleep-after", "1"])
    started = start(home, ["send", f"STORESCP@{HOST}:{scp.port}", str(folder), "--json"])
    wait_for_sent(home, 1, started[1])
    [job] = store_of(home).list()
    cancelled = run(home, "jobs", "cancel", job.id)
    assert cancelled.code == 0 and f"job {job.id} cancelled" in cancelled.out, cancelled
    sent = finish(started)
    assert sent.code == 1, sent
    out = json.loads(sent.out)
    assert 1 <= out["sent"] < 6
    assert store_of(home).get(job.id).state == "cancelled"
    assert run(home, "jobs", "cancel", job.id).code == 1  # already cancelled
    assert run(home, "jobs", "resume").out.startswith("nothing to resume")  # cancelled is not resumed


def test_ctrl_c_leaves_the_job_queued_and_resume_sends_the_rest(home, storescp_factory, tmp_path):
    folder = tmp_path / "f"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=5, seed=7408,
                             instance_bytes=4_000)
    scp = storescp_factory(extra_args=["+uf", "--sleep-after", "1"])
    started = start(home, ["send", f"STORESCP@{HOST}:{scp.port}", str(folder)])
    wait_for_sent(home, 1, started[1])
    started[1].send_signal(signal.SIGINT)
    interrupted = finish(started)
    assert interrupted.code == 130 and "jobs resume" in interrupted.err, interrupted
    [job] = store_of(home).list()
    # Recorded by the run itself within the grace period, not left "running" for resume to find.
    assert job.state == "queued" and job.message.startswith("interrupted"), job
    resumed = run(home, "jobs", "resume")
    assert resumed.code == 0 and "5 sent, 0 failed" in resumed.out, resumed
    assert Counter(uids_of(scp.received())) == Counter(uids_of(files))


def test_kill_9_at_random_points_then_resume_each_instance_once(home, receiver_factory, tmp_path):
    """`dicomtui send`, then `jobs resume` after it, killed -9 at seeded random points: early (before the job is
    queued, or in its scan), then after a random number of instances plus a random few milliseconds (between
    instances or in the middle of one); the last resume finishes the job. Our receiver keeps one copy per SOP
    Instance UID: it holds every instance exactly once, and nothing the job had recorded as confirmed before a
    kill ever arrives again."""
    import random

    folder = tmp_path / "f"
    files = generate_studies(folder, patients=2, series_per_study=2, instances_per_series=200, seed=7409,
                             instance_bytes=3_000)
    expected = uids_of(files)
    total = len(expected)
    rx = receiver_factory()
    target = f"DICOMTUI@{HOST}:{rx.port}"
    chance = random.Random(7409)
    store = store_of(home)

    def confirmed() -> set[str]:
        jobs = store.list() if store.path.exists() else []
        return {r.sop_instance_uid for r in store.instances(jobs[0].id, [SENT])} if jobs else set()

    mid_send = 0
    seen_before: list[tuple[int, set[str]]] = []  # (arrivals so far, confirmed) at each kill
    for round_ in range(5):
        # Killed before it had queued its job: there is nothing to resume, so the send starts again.
        queued = store.path.exists() and store.list()
        started = start(home, ["jobs", "resume"] if queued else ["send", target, str(folder), "--parallel", "2"])
        if round_ == 0:
            time.sleep(chance.uniform(0.05, 0.5))
        else:
            done = len(confirmed())
            goal = done + chance.randint(1, max(1, (total - done) // 3))
            deadline = time.monotonic() + 20
            while started[1].poll() is None and len(confirmed()) < goal and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(chance.uniform(0, 0.02))
        if started[1].poll() is None:
            os.kill(started[1].pid, signal.SIGKILL)
        finish(started)
        time.sleep(0.1)  # the receiver finishes what was in flight before we count arrivals
        sent = confirmed()
        mid_send += 0 < len(sent) < total
        seen_before.append((len(rx.events.of(InstanceStored)), sent))
    assert mid_send >= 3, [len(c) for _, c in seen_before]  # killed mid-way, or the test proves nothing
    resumed = run(home, "jobs", "resume")
    assert resumed.code == 0, resumed
    [job] = store.list()
    assert job.state == "done" and job.counts.sent == total, job
    arrivals = [e.sop_instance_uid for e in rx.events.of(InstanceStored)]
    assert set(arrivals) == set(expected)  # nothing lost
    for count, sent in seen_before:
        again = sent & set(arrivals[count:])
        assert not again, f"{len(again)} instance(s) confirmed before a kill were sent again"
    stored = uids_of(rx.stored_files())
    assert sorted(stored) == sorted(expected)  # the archive: every instance exactly once


def test_out_of_resources_is_retried_until_the_peer_has_room(home, receiver_factory, tmp_path):
    """Our receiver below its free-space floor answers 0xA700 (out of resources): transient. Restarted with a
    normal floor while the job backs off, it takes every instance."""
    folder = tmp_path / "f"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=5, seed=7410,
                             instance_bytes=4_000)
    port = free_port()
    full = receiver_factory(port=port, min_free_bytes=1 << 60)  # an exabyte: never that much free
    started = start(home, ["send", f"DICOMTUI@{HOST}:{port}", str(folder), "--json"])
    deadline = time.monotonic() + 20
    while not (store_of(home).path.exists() and store_of(home).list()
               and store_of(home).list()[0].counts.failed):
        assert time.monotonic() < deadline and started[1].poll() is None, "no 0xA700 before the send ended"
        time.sleep(0.02)
    [job] = store_of(home).list()
    failed = store_of(home).instances(job.id, ["failed"])
    assert failed and all(r.status == 0xA700 and r.transient for r in failed), failed
    full.receiver.stop(grace=1.0)
    roomy = receiver_factory(port=port, min_free_bytes=0)  # the same port, during the 1 s back-off
    result = finish(started)
    assert result.code == 0, result
    out = json.loads(result.out)
    assert (out["sent"], out["failed"]) == (5, 0)
    assert full.stored_files() == []
    assert sorted(uids_of(roomy.stored_files())) == sorted(uids_of(files))
    assert store_of(home).get(job.id).state == "done"
