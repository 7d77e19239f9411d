"""The job queue's scheduler and pause: association limits shared by every process that runs jobs, and
pause/resume of sends and moves, against real peers.

The limits are checked where they matter, at the peer: a thread samples the kernel's table of TCP
connections to the peer's port while the jobs run.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest

from dicomtui.dicom.synthetic import generate_studies
from dicomtui.engine.receiver import InstanceStored

from ..cli_runner import finish, run, start
from .harness import HOST
from .test_retrieve import study_files, study_uid_of
from .test_retrieve_jobs import jobs, target_of
from .test_send_jobs import store_of, uids_of, wait_for_sent

pytestmark = pytest.mark.peers


def established_to(port: int) -> int:
    """Open TCP connections whose server side is `port` on this machine (the peer's view of its associations)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                count += 1
    return count


class PeakConnections:
    """The most connections to any of `ports` at once, sampled every 5 ms while the block runs."""

    def __init__(self, *ports: int):
        self.ports = ports
        self.peak = 0
        self.peak_each = Counter()
        self._stop = threading.Event()

    def __enter__(self) -> PeakConnections:
        def sample() -> None:
            while not self._stop.wait(0.005):
                each = {port: established_to(port) for port in self.ports}
                self.peak = max(self.peak, sum(each.values()))
                for port, n in each.items():
                    self.peak_each[port] = max(self.peak_each[port], n)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _limits(home, total: int, per_node: int) -> None:
    home.config.parent.mkdir(parents=True, exist_ok=True)
    home.config.write_text(f"[transfers]\nmax_associations = {total}\nmax_associations_per_node = {per_node}\n")


def test_per_node_limit_holds_across_two_send_processes(home, receiver_factory, tmp_path):
    _limits(home, total=8, per_node=2)
    rx = receiver_factory(max_associations=16)
    folders = [tmp_path / "a", tmp_path / "b"]
    files = [generate_studies(f, patients=1, series_per_study=1, instances_per_series=150, seed=7601 + i,
                              instance_bytes=20_000) for i, f in enumerate(folders)]
    target = f"DICOMTUI@{HOST}:{rx.port}"
    with PeakConnections(rx.port) as peak:
        sends = [start(home, ["send", target, str(folder), "--parallel", "4", "--json"]) for folder in folders]
        done = [finish(s) for s in sends]
    assert [d.code for d in done] == [0, 0], done
    assert [json.loads(d.out)["sent"] for d in done] == [150, 150]
    # Four asked for twice, two allowed to this node: never more, and the second job said why it waited.
    assert peak.peak == 2, peak.peak
    assert any("waiting for a free association: 2 of 2 to" in d.err and "per-node limit" in d.err for d in done), done
    stored = Counter(e.sop_instance_uid for e in rx.events.of(InstanceStored))
    assert sorted(stored) == sorted(uids_of(files[0] + files[1])) and set(stored.values()) == {1}


def test_global_limit_holds_across_nodes(home, receiver_factory, tmp_path):
    _limits(home, total=1, per_node=4)
    receivers = [receiver_factory(), receiver_factory()]
    folders = [tmp_path / "a", tmp_path / "b"]
    for i, folder in enumerate(folders):
        generate_studies(folder, patients=1, series_per_study=1, instances_per_series=100, seed=7611 + i,
                         instance_bytes=20_000)
    with PeakConnections(*(rx.port for rx in receivers)) as peak:
        sends = [start(home, ["send", f"DICOMTUI@{HOST}:{rx.port}", str(folder), "--parallel", "3", "--json"])
                 for rx, folder in zip(receivers, folders, strict=True)]
        done = [finish(s) for s in sends]
    assert [d.code for d in done] == [0, 0], done
    assert peak.peak == 1 and all(peak.peak_each[rx.port] == 1 for rx in receivers), (peak.peak, peak.peak_each)
    assert any("1 of 1 in use (limit for all transfers)" in d.err for d in done), done


def test_pause_a_running_send_then_go_on_with_it(home, storescp_factory, tmp_path):
    folder = tmp_path / "f"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=5, seed=7621,
                             instance_bytes=4_000)
    # +uf: a file per arrival, so an instance sent twice would show twice; --sleep-after: a slow peer.
    scp = storescp_factory(extra_args=["+uf", "--sleep-after", "1"])
    sending = start(home, ["send", f"STORESCP@{HOST}:{scp.port}", str(folder), "--json"])
    wait_for_sent(home, 1, sending[1])
    [job] = store_of(home).list()
    paused = run(home, "jobs", "pause", job.id)
    assert paused.code == 0 and f"job {job.id} paused" in paused.out, paused
    sent = finish(sending)
    assert sent.code == 1 and "paused" in sent.err, sent  # not all sent: a script must not take it as done
    before = json.loads(sent.out)["sent"]
    assert 1 <= before < 5
    after_pause = store_of(home).get(job.id)
    assert after_pause.state == "paused" and "jobs retry" in after_pause.message
    time.sleep(1.2)
    assert len(scp.received()) == before  # nothing goes out while paused
    assert run(home, "jobs", "resume").out.startswith("nothing to resume")  # a pause is the user's, kept
    assert run(home, "jobs", "pause", job.id).out.startswith(f"job {job.id} is paused already")
    went_on = run(home, "jobs", "retry", job.id, "--json")
    assert went_on.code == 0, went_on
    assert json.loads(went_on.out)["sent"] == 5
    arrived = Counter(uids_of(scp.received()))
    assert sorted(arrived) == sorted(uids_of(files)) and set(arrived.values()) == {1}
    assert store_of(home).get(job.id).state == "done"


def test_pause_a_running_move_then_go_on_with_it(dcmqrscp_factory, receiver_factory, home, tmp_path):
    rx = receiver_factory()
    files = study_files(tmp_path / "src", seed=7631, series=2, instances=300)
    peer = dcmqrscp_factory(known_peers={"DICOMTUI": (HOST, rx.port)}, preload=files)
    moving = start(home, ("move", target_of(peer), "--dest", "DICOMTUI", "--study", study_uid_of(files)))
    store = store_of(home)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # read the store itself: a CLI call per look would be too slow
        listed = store.list() if store.path.exists() else []
        if listed and listed[0].retrieve and listed[0].retrieve.completed >= 3:
            break
        time.sleep(0.01)
    [job] = store.list()
    store.request_pause(job.id)  # what `jobs pause` and the Transfers screen do for a job another process runs
    moved = finish(moving)
    [after] = jobs(home)
    assert after["state"] == "paused" and 3 <= after["completed"] < len(files), (after, moved)  # by C-CANCEL
    went_on = run(home, "jobs", "retry", job.id)
    assert went_on.code == 0, went_on
    [done] = jobs(home)
    assert (done["state"], done["completed"], done["failed"]) == ("done", len(files), 0), done
    rx.receiver.wait_indexed()
    assert len(rx.stored_files()) == len(files)  # some came twice, kept once each


def test_pause_a_queued_job_and_cancel_a_paused_one(home, tmp_path):
    from dicomtui.config.model import Node
    from dicomtui.engine.jobs import queue_send

    folder = tmp_path / "f"
    generate_studies(folder, patients=1, series_per_study=1, instances_per_series=2, seed=7641)
    job = queue_send(store_of(home), "x", Node("x", "X", HOST, 1), "DICOMTUI", [str(folder)])
    assert run(home, "jobs", "pause", job.id).code == 0
    assert store_of(home).get(job.id).state == "paused"
    assert run(home, "jobs", "cancel", job.id).code == 0
    assert store_of(home).get(job.id).state == "cancelled"
    finished = run(home, "jobs", "pause", job.id)
    assert finished.code == 1 and "already finished" in finished.err, finished


@pytest.mark.parametrize("asked, ends", [("cancel", "cancelled"), ("pause", "paused")])
def test_a_stop_asked_for_while_the_job_process_starts_wins(asked, ends, home, storescp_factory, tmp_path):
    """The app starts a process for a job a crash left "running" and the user cancels (or pauses) it before that
    process has begun: the request is a flag in the store, and the run's start must not wipe it."""
    from dicomtui.config.model import Node
    from dicomtui.engine.jobs import queue_send, run_send_job

    folder = tmp_path / "f"
    generate_studies(folder, patients=1, series_per_study=1, instances_per_series=4, seed=7642,
                     instance_bytes=4_000)
    scp = storescp_factory(extra_args=["--sleep-after", "1"])
    store = store_of(home)
    node = Node("x", scp.ae_title, HOST, scp.port)
    job = queue_send(store, "x", node, "DICOMTUI", [str(folder)])
    store.set_state(job.id, "running")  # what a crash leaves
    (store.request_cancel if asked == "cancel" else store.request_pause)(job.id)  # the Transfers screen's c or p
    report = run_send_job(store, job.id, node)  # what the job's process runs
    assert report.job.state == ends, report.job
    assert report.job.counts.sent <= 1 and len(scp.received()) <= 1
