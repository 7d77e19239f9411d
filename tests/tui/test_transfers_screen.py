"""The Transfers screen: sends through the Send dialog to real dcmtk storescp peers, cancel, failed detail."""

from __future__ import annotations

import time

import pytest
from pydicom.data import get_testdata_file
from textual.widgets import DataTable, Input, Select, Static

from dicomtui import paths
from dicomtui.dicom.synthetic import generate_studies
from dicomtui.store.jobs import JobStore
from dicomtui.tui.screens.transfers import TransfersScreen
from dicomtui.tui.screens.transfers_send import SendScreen
from dicomtui.tui.widgets.result_table import ResultTable

from ..peers.harness import HOST
from .test_nodes_flow import wait_for

pytestmark = pytest.mark.peers


def _config(port: int, ae_title: str = "STORESCP") -> str:
    return (f'[local]\nae_title = "DICOMTUI"\nport = 11112\n\n[[nodes]]\nname = "archive"\nae_title = "{ae_title}"\n'
            f'host = "{HOST}"\nport = {port}\n')


def _row(app, job_id: str) -> dict[str, str]:
    table = app.screen.query_one("#tx-jobs", DataTable)
    return {str(column.key.value): str(table.get_cell(job_id, column.key)) for column in table.columns.values()}


async def _send_through_dialog(pilot, app, folder, parallel: str = "1") -> None:
    await pilot.press("4")
    assert isinstance(app.screen, TransfersScreen)
    await pilot.press("n")
    assert isinstance(app.screen, SendScreen)
    app.screen.query_one("#send-node", Select).value = "archive"
    path = app.screen.query_one("#send-path", Input)
    path.focus()
    path.value = str(folder)
    parallel_input = app.screen.query_one("#send-parallel", Input)
    parallel_input.value = parallel
    await wait_for(pilot, lambda: "files" in str(app.screen.query_one("#send-preview", Static).render()))
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, TransfersScreen))


async def test_send_a_folder_through_the_dialog(make_app, storescp, tmp_path):
    folder = tmp_path / "outgoing"
    files = generate_studies(folder, patients=2, series_per_study=1, instances_per_series=3, seed=7501)
    (folder / "notes.txt").write_text("not DICOM")
    app = make_app(_config(storescp.port))
    async with app.run_test(size=(80, 24)) as pilot:
        await _send_through_dialog(pilot, app, folder, parallel="2")
        await wait_for(pilot, lambda: app.job_store.list() and app.job_store.list()[0].state == "done", 20)
        [job] = app.job_store.list()
        await wait_for(pilot, lambda: job.id in app.screen.query_one("#tx-jobs", DataTable).rows
                       and _row(app, job.id)["state"] == "done")
        row = _row(app, job.id)
        assert row["counts"] == f"{len(files)}/0/{len(files)}"
        assert row["target"] == "archive" and row["kind"] == "send"
        assert row["bar"] == "█" * 8
        assert job.counts.skipped == 1 and job.options["parallel"] == 2
        detail = str(app.screen.query_one("#tx-detail", Static).render())
        assert f"{len(files)} sent, 0 failed, 1 skipped" in detail
        await wait_for(pilot, lambda: [r[1] for r in app.screen.failed_rows()] == ["skip"])
        await wait_for(pilot, lambda: any("Job 1 done" in n.message for n in app.sent_notifications))
    assert len(storescp.received()) == len(files)


async def test_the_dialog_refuses_a_missing_path(make_app, storescp, tmp_path):
    app = make_app(_config(storescp.port))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4", "n")
        app.screen.query_one("#send-node", Select).value = "archive"
        app.screen.query_one("#send-path", Input).value = str(tmp_path / "nowhere")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, SendScreen)
        assert "No such file or folder" in str(app.screen.query_one("#send-error", Static).render())
        await pilot.press("escape")
        assert isinstance(app.screen, TransfersScreen)
    assert JobStore(paths.jobs_db()).list() == []


async def _running_send(pilot, app, folder) -> str:
    """Send `folder` through the dialog; the job's id once it runs and has sent one instance."""
    await _send_through_dialog(pilot, app, folder)
    await wait_for(pilot, lambda: app.job_store.list() and app.job_store.list()[0].counts.sent >= 1, 20)
    [job] = app.job_store.list()
    table = app.screen.query_one("#tx-jobs", DataTable)
    await wait_for(pilot, lambda: job.id in table.rows and _row(app, job.id)["state"] == "running")
    return job.id


async def test_cancel_a_running_send(make_app, storescp_factory, tmp_path):
    folder = tmp_path / "outgoing"
    generate_studies(folder, patients=1, series_per_study=1, instances_per_series=8, seed=7502,
                     instance_bytes=4_000)
    slow = storescp_factory(extra_args=["--sleep-during", "1"])
    app = make_app(_config(slow.port))
    async with app.run_test(size=(80, 24)) as pilot:
        job = app.job_store.get(await _running_send(pilot, app, folder))
        started = time.monotonic()
        await pilot.press("c")
        await wait_for(pilot, lambda: _row(app, job.id)["state"] == "cancelled", 10)
        assert time.monotonic() - started < 5
        ended = app.job_store.get(job.id)
        assert ended.state == "cancelled" and 1 <= ended.counts.sent < 8
        await wait_for(pilot, lambda: any(f"Job {job.id} cancelled" in n.message for n in app.sent_notifications))


async def test_pause_then_resume_a_running_send(make_app, storescp_factory, tmp_path):
    folder = tmp_path / "outgoing"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=4, seed=7503,
                             instance_bytes=4_000)
    slow = storescp_factory(extra_args=["+uf", "--sleep-after", "1"])  # +uf: a file per arrival
    app = make_app(_config(slow.port))
    async with app.run_test(size=(80, 24)) as pilot:
        job = app.job_store.get(await _running_send(pilot, app, folder))
        await pilot.press("p")
        await wait_for(pilot, lambda: _row(app, job.id)["state"] == "paused", 10)
        paused = app.job_store.get(job.id)
        assert paused.state == "paused" and 1 <= paused.counts.sent < 4
        assert "paused" in str(app.screen.query_one("#tx-detail", Static).render())
        await pilot.pause(1.2)
        assert len(slow.received()) == paused.counts.sent  # nothing goes out while paused
        await pilot.press("p")
        await wait_for(pilot, lambda: _row(app, job.id)["state"] == "done", 20)
        assert _row(app, job.id)["counts"] == "4/0/4" and _row(app, job.id)["bar"] == "█" * 8
        assert any(f"Job {job.id} resumed" in n.message for n in app.sent_notifications)
    assert sorted(uids_of(slow.received())) == sorted(uids_of(files))  # each once


async def test_cancel_then_retry_sends_the_rest(make_app, storescp_factory, tmp_path):
    folder = tmp_path / "outgoing"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=4, seed=7504,
                             instance_bytes=4_000)
    slow = storescp_factory(extra_args=["+uf", "--sleep-after", "1"])
    app = make_app(_config(slow.port))
    async with app.run_test(size=(80, 24)) as pilot:
        job = app.job_store.get(await _running_send(pilot, app, folder))
        await pilot.press("c")
        await wait_for(pilot, lambda: _row(app, job.id)["state"] == "cancelled", 10)
        await pilot.press("r")
        await wait_for(pilot, lambda: _row(app, job.id)["state"] == "done", 20)
        assert _row(app, job.id)["counts"] == "4/0/4"
    assert sorted(uids_of(slow.received())) == sorted(uids_of(files))


async def test_resume_a_paused_job_from_the_command_palette(make_app, storescp, tmp_path):
    from dicomtui.config.model import Node
    from dicomtui.engine.jobs import queue_send

    folder = tmp_path / "outgoing"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=3, seed=7505)
    store = JobStore(paths.jobs_db())
    job = queue_send(store, "archive", Node("archive", "STORESCP", HOST, storescp.port), "DICOMTUI", [str(folder)])
    store.set_state(job.id, "paused", "paused")
    app = make_app(_config(storescp.port))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await wait_for(pilot, lambda: job.id in app.screen.query_one("#tx-jobs", DataTable).rows
                       and _row(app, job.id)["state"] == "paused")
        await pilot.press("ctrl+p")
        await pilot.press(*f"resume job {job.id}")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: _row(app, job.id)["state"] == "done", 20)
    assert sorted(uids_of(storescp.received())) == sorted(uids_of(files))


async def test_quitting_leaves_a_running_job_queued_and_the_next_visit_resumes_it(make_app, storescp_factory,
                                                                                    tmp_path):
    folder = tmp_path / "outgoing"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=4, seed=7506,
                             instance_bytes=4_000)
    slow = storescp_factory(extra_args=["+uf", "--sleep-after", "1"])
    app = make_app(_config(slow.port))
    async with app.run_test(size=(80, 24)) as pilot:
        job_id = await _running_send(pilot, app, folder)
    # The app's job process was told to stop when the app quit: its job is queued, nothing runs it.
    from dicomtui.engine.jobs import is_running_elsewhere

    job = JobStore(paths.jobs_db()).get(job_id)
    assert job.state == "queued" and 1 <= job.counts.sent < 4, job
    assert not is_running_elsewhere(JobStore(paths.jobs_db()), job_id)
    again = make_app(_config(slow.port))
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await wait_for(pilot, lambda: "Resume them now?" in str(again.screen.query_one(Static).render()), 10)
        await pilot.press("y")
        await wait_for(pilot, lambda: again.job_store.get(job_id).state == "done", 20)
    assert sorted(uids_of(slow.received())) == sorted(uids_of(files))  # each once


def uids_of(paths) -> list[str]:
    from pydicom import dcmread

    return [str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in paths]


async def test_a_failed_job_shows_why(make_app, storescp_factory, tmp_path):
    """A peer that takes uncompressed syntaxes only: a JPEG 2000 instance fails, and the detail says why."""
    folder = tmp_path / "outgoing"
    folder.mkdir()
    j2k = folder / "j2k.dcm"
    j2k.write_bytes(open(get_testdata_file("JPEG2000.dcm"), "rb").read())
    strict = storescp_factory(ae_title="STRICT", accept_all=False)
    app = make_app(_config(strict.port, "STRICT"))
    async with app.run_test(size=(80, 24)) as pilot:
        await _send_through_dialog(pilot, app, folder)
        await wait_for(pilot, lambda: app.job_store.list() and app.job_store.list()[0].state == "failed", 20)
        [job] = app.job_store.list()
        await wait_for(pilot, lambda: job.id in app.screen.query_one("#tx-jobs", DataTable).rows
                       and _row(app, job.id)["state"] == "failed")
        assert _row(app, job.id)["counts"] == "0/1/1"
        await wait_for(pilot, lambda: len(app.screen.failed_rows()) == 1)
        [(path, _status, reason)] = app.screen.failed_rows()
        [stored] = app.job_store.instances(job.id, ["failed"])
        assert path == "outgoing/j2k.dcm" and reason == stored.error and reason
        shown = app.screen.query_one("#tx-failed", ResultTable)
        assert shown.row_count == 1 and shown.get_row_at(0)[2] == reason
        await wait_for(pilot, lambda: any(f"Job {job.id} failed" in n.message for n in app.sent_notifications))


def _prefilled_store() -> None:
    """Three finished jobs with fixed times (the snapshot must not depend on the clock)."""
    import sqlite3

    from tests.tui.conftest import FIXED_TIME

    store = JobStore(paths.jobs_db())
    node = {"name": "archive", "ae_title": "ARCHIVE", "host": "10.0.0.5", "port": 104}

    def job(sources, rows, outcomes, state, message=""):
        made = store.create("send", "archive", node, "DICOMTUI", sources, {"parallel": 2})
        store.record_scan(made.id, rows, [("/data/ct/README.txt", "not a DICOM file")] if state == "failed" else [])
        store.set_state(made.id, "running")
        with store.outcome_writer(made.id) as writer:
            for path, outcome in outcomes.items():
                writer.record(path, outcome[0], bytes=outcome[1], status=outcome[2], error=outcome[3],
                              kind=outcome[4])
        store.set_state(made.id, state, message)
        return made.id

    rows = [(f"/data/mr/IM{i:04d}.dcm", f"1.2.3.{i}") for i in range(40)]
    job(["/data/mr"], rows, {path: ("sent", 524_288, 0, "", "") for path, _uid in rows}, "done")
    rows = [(f"/data/us/IM{i:04d}.dcm", f"1.2.4.{i}") for i in range(30)]
    job(["/data/us"], rows, {path: ("sent", 40_000, 0, "", "") for path, _uid in rows[:12]}, "cancelled",
        "cancelled ('dicomtui jobs retry' sends what is left)")
    rows = [(f"/data/ct/IM{i:04d}.dcm", f"1.2.5.{i}") for i in range(20)]
    outcomes = {path: ("sent", 262_144, 0, "", "") for path, _uid in rows[:18]}
    outcomes[rows[18][0]] = ("failed", 0, 0xA900, "data set does not match SOP class (0xA900)", "status")
    outcomes[rows[19][0]] = ("failed", 0, None, "the peer accepts only Implicit VR Little Endian for CT Image "
                             "Storage; JPEG 2000 cannot be decoded here", "conversion")
    job(["/data/ct"], rows, outcomes, "failed", "2 of 20 instances not sent")
    with sqlite3.connect(paths.jobs_db()) as conn:
        for number in (1, 2, 3):
            start = FIXED_TIME + number * 600
            conn.execute("UPDATE jobs SET created = ?, started = ?, finished = ? WHERE id = ?",
                         (start, start, start + 8, number))


def test_transfers_screen_snapshot(snap_compare, make_app):
    _prefilled_store()

    async def ready(pilot) -> None:
        await pilot.press("4")
        await wait_for(pilot, lambda: len(pilot.app.screen.failed_rows()) == 3)
        await pilot.pause()

    assert snap_compare(make_app(_config(104, "ARCHIVE")), terminal_size=(80, 24), run_before=ready)


async def test_progress_is_coalesced(make_app):
    """Thousands of progress events a second become at most about ten table updates a second."""
    import threading

    from dicomtui.engine.jobs import JobProgress
    from dicomtui.engine.jobs.lock import JobLock, locks_folder

    store = JobStore(paths.jobs_db())
    node = {"name": "archive", "ae_title": "ARCHIVE", "host": HOST, "port": 104}
    job = store.create("send", "archive", node, "DICOMTUI", ["/data/x"], {"parallel": 1})
    total = 3000
    store.record_scan(job.id, [(f"/data/x/{i}.dcm", f"1.2.{i}") for i in range(total)], [])
    store.set_state(job.id, "running")
    lock = JobLock(locks_folder(store), job.id)  # "another process" runs it: no resume offer
    assert lock.acquire()
    try:
        app = make_app(_config(104, "ARCHIVE"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("4")
            table = app.screen.query_one("#tx-jobs", DataTable)
            await wait_for(pilot, lambda: job.id in table.rows)
            updates: list[float] = []
            original = table.update_cell

            def counted(row, column, value, **kwargs):
                if str(getattr(column, "value", column)) == "counts":
                    updates.append(time.monotonic())
                return original(row, column, value, **kwargs)

            table.update_cell = counted  # type: ignore[method-assign]

            def flood() -> None:
                started = time.monotonic()
                for sent in range(1, total + 1):
                    app.job_feed.progress(JobProgress(job.id, total, sent, 0, total - sent, sent * 1000,
                                                      time.monotonic() - started + 0.001, 1))
                    if sent % 100 == 0:
                        time.sleep(0.05)

            thread = threading.Thread(target=flood)
            started = time.monotonic()
            thread.start()
            while thread.is_alive():
                await pilot.pause(0.02)
            elapsed = time.monotonic() - started
            await wait_for(pilot, lambda: _row(app, job.id)["counts"] == f"{total}/0/{total}")
            assert len(updates) <= elapsed * 10 + 3, (len(updates), elapsed)
            assert len(updates) >= 3  # and it did show progress on the way
    finally:
        lock.release()


async def test_a_move_shows_the_instances_whose_sub_operations_failed(make_app, receiver_factory, storescp_factory,
                                                                      tmp_path):
    """Our receiver as the archive moves a study with a JPEG 2000 instance to a peer that takes uncompressed
    syntaxes only: that sub-operation fails (the CT goes), and the job's detail names the failed instance."""
    from pydicom import dcmread

    from dicomtui.config.model import Node
    from dicomtui.engine.archive.importing import import_files
    from dicomtui.engine.jobs.retrieve_job import queue_retrieve, run_retrieve_job
    from dicomtui.engine.retrieve import RetrieveRequest

    ct = dcmread(get_testdata_file("CT_small.dcm"), stop_before_pixels=True)
    ds = dcmread(get_testdata_file("JPEG2000.dcm"))
    ds.StudyInstanceUID = ct.StudyInstanceUID  # one study: the destination accepts the association for the CT
    j2k = tmp_path / "j2k.dcm"
    ds.save_as(j2k)
    storage = tmp_path / "archive"
    import_files(storage, [get_testdata_file("CT_small.dcm"), j2k])
    strict = storescp_factory(ae_title="STRICT", accept_all=False)
    archive = receiver_factory(storage=storage, nodes=(Node("strict", "STRICT", HOST, strict.port),))
    store = JobStore(paths.jobs_db())
    node = Node("archive", "DICOMTUI", HOST, archive.port)
    job = queue_retrieve(store, "move", "archive", node, "DICOMTUI",
                         RetrieveRequest(study_uid=ds.StudyInstanceUID), destination="STRICT")
    report = run_retrieve_job(store, job.id, node)
    assert report.job.state == "failed" and report.result.failed_uids == [ds.SOPInstanceUID], report
    app = make_app(_config(archive.port, "DICOMTUI"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await wait_for(pilot, lambda: len(app.screen.failed_rows()) == 1)
        [(uid, status, reason)] = app.screen.failed_rows()
        assert uid == ds.SOPInstanceUID and reason == "C-MOVE sub-operation failed"
        assert status == f"{report.result.status:04X}"
        detail = str(app.screen.query_one("#tx-detail", Static).render())
        assert "move from archive" in detail and "to STRICT" in detail and "1 completed, 1 failed" in detail
        shown = app.screen.query_one("#tx-failed", ResultTable)
        assert shown.row_count == 1 and shown.get_row_at(0)[0] == ds.SOPInstanceUID
    assert [str(dcmread(p).SOPInstanceUID) for p in strict.received()] == [ct.SOPInstanceUID]


async def test_unfinished_jobs_are_offered_at_start_not_resumed_silently(make_app, storescp, tmp_path):
    from dicomtui.config.model import Node
    from dicomtui.engine.jobs import queue_send
    from dicomtui.tui.screens.nodes import NodesScreen

    folder = tmp_path / "outgoing"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=3, seed=7507)
    store = JobStore(paths.jobs_db())
    job = queue_send(store, "archive", Node("archive", "STORESCP", HOST, storescp.port), "DICOMTUI", [str(folder)])
    app = make_app(_config(storescp.port))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: any(n.title == "Unfinished transfers" for n in app.sent_notifications), 15)
        [told] = [n.message for n in app.sent_notifications if n.title == "Unfinished transfers"]
        assert told.startswith(f"1 transfer job(s) were left unfinished ({job.id}; 0 of 0 instances sent)"), told
        assert "Transfers screen (4)" in told
        assert isinstance(app.screen, NodesScreen)  # told, on the first screen, without visiting Transfers
        await pilot.pause(1.0)
        assert app.job_store.get(job.id).state == "queued" and storescp.received() == []  # nothing ran unasked
        await pilot.press("4")
        await wait_for(pilot, lambda: "Resume them now?" in str(app.screen.query_one(Static).render()), 10)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.job_store.get(job.id).state == "done", 20)
    assert sorted(uids_of(storescp.received())) == sorted(uids_of(files))
