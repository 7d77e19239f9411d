"""y (copy as command), l (the association log) and P (PHI masking) on the Worklist and Transfers screens,
against real peers; the copied dcmtk line is run for real."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest
from textual.widgets import DataTable, Input

from dicomtui.dicom.phi import MASK
from dicomtui.dicom.synthetic import generate_studies
from dicomtui.tui.screens.associations import AssociationsScreen
from dicomtui.tui.screens.command_lines import CommandLinesScreen
from dicomtui.tui.widgets.result_table import ResultTable

from ..peers.harness import dcmtk, dcmtk_env
from .test_copy_command import shown
from .test_nodes_flow import wait_for
from .test_transfers_screen import _config as transfers_config
from .test_transfers_screen import _send_through_dialog
from .test_worklist_screen import SPECS, _config, ask, detail, open_worklist

pytestmark = pytest.mark.peers


@pytest.fixture
def local(receiver_factory, tmp_path):
    from dicomtui.dicom.synthetic_worklist import write_worklist

    write_worklist(tmp_path / "wl", SPECS)
    return receiver_factory(worklists=tmp_path / "wl")


async def test_worklist_copy_log_and_masking(make_app, local, monkeypatch):
    from dicomtui.tui.screens import worklist as worklist_screen

    from .test_worklist_screen import NOW

    monkeypatch.setattr(worklist_screen, "now", lambda: NOW)
    nodes = f'\n[[nodes]]\nname = "ris"\nae_title = "DICOMTUI"\nhost = "127.0.0.1"\nport = {local.port}\n'
    app = make_app(_config(local.port, nodes=nodes))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_worklist(pilot)
        screen.query_one("#wl-node").value = "ris"
        await pilot.pause()
        await ask(pilot, screen)
        table = screen.query_one(ResultTable)
        name = table.get_row_at(0)[1]
        assert name and name != MASK and name.split("^")[0] in detail(app)
        # P masks patient data on every screen: the table's names and IDs, the pane's values.
        await pilot.press("P")
        await wait_for(pilot, lambda: table.get_row_at(0)[1] == MASK)
        assert table.get_row_at(0)[2] == MASK and table.get_row_at(0)[0] == "08:00"  # the time stays
        assert name.split("^")[0] not in detail(app) and f"PatientName {MASK}" in detail(app)
        await pilot.press("P")
        await wait_for(pilot, lambda: table.get_row_at(0)[1] == name)
        # y: the query as dicomtui and findscu lines; the findscu one, run, finds the same steps.
        await pilot.press("y")
        assert isinstance(app.screen, CommandLinesScreen)
        lines = shown(app)
        assert "dicomtui worklist ris --date today" in lines
        findscu = next(line for line in lines if line.startswith("findscu -W"))
        await pilot.press("escape")
        # l: the worklist queries' associations, with the step keys inside the sequence.
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, AssociationsScreen))
        log = app.screen.query_one("#log-table", ResultTable)
        await wait_for(pilot, lambda: log.row_count == 1)
        assert log.get_row_at(0)[2] == "worklist"
        text = lambda: str(app.screen.query_one("#log-detail-text").render())  # noqa: E731
        await wait_for(pilot, lambda: "C-FIND-RQ" in text())
        assert "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=20260115" in text()
    argv = shlex.split(findscu)
    ran = subprocess.run([dcmtk(argv[0]), *argv[1:]], env=dcmtk_env(), capture_output=True, text=True, timeout=30)
    assert ran.returncode == 0, ran.stderr
    # One response per worklist item (all of them are scheduled today), as the app showed them.
    assert len(re.findall(r"Find Response: \d+ \(Pending\)", ran.stdout + ran.stderr)) == len(SPECS), ran.stderr


async def test_a_jobs_command_lines_and_associations(make_app, storescp, tmp_path):
    folder = tmp_path / "outgoing"
    files = generate_studies(folder, patients=1, series_per_study=1, instances_per_series=3, seed=7601)
    app = make_app(transfers_config(storescp.port))
    async with app.run_test(size=(100, 30)) as pilot:
        await _send_through_dialog(pilot, app, folder, parallel="1")
        await wait_for(pilot, lambda: app.job_store.list() and app.job_store.list()[0].state == "done", 20)
        [job] = app.job_store.list()
        table = app.screen.query_one("#tx-jobs", DataTable)
        await wait_for(pilot, lambda: job.id in table.rows)
        await pilot.press("y")
        assert isinstance(app.screen, CommandLinesScreen)
        lines = shown(app)
        assert f"dicomtui send archive {folder} --parallel 1" in lines
        storescu = next(line for line in lines if line.startswith("storescu "))
        assert f"-aec {storescp.ae_title}" in storescu and str(folder) in storescu
        await pilot.press("escape")
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, AssociationsScreen))
        log = app.screen.query_one("#log-table", ResultTable)
        await wait_for(pilot, lambda: log.row_count >= 1)
        assert log.get_row_at(0)[2] == "send" and log.get_row_at(0)[-1] == f"job {job.id}"
    assert len(storescp.received()) == len(files)
    for path in storescp.received():  # sent by the job; now by the copied storescu line
        path.unlink()
    argv = shlex.split(storescu)
    ran = subprocess.run([dcmtk(argv[0]), *argv[1:]], env=dcmtk_env(), capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert len(storescp.received()) == len(files)


async def test_query_masks_patients_in_the_table(make_app, receiver_factory, tmp_path):
    from .test_query_screen import open_query, status

    rx = receiver_factory(ae_title="ARCHIVE")
    from ..peers.receiver_fixtures import run_storescu

    assert run_storescu(rx.port, generate_studies(tmp_path / "src", patients=2, seed=7602),
                        called="ARCHIVE").returncode == 0
    rx.receiver.wait_indexed()
    app = make_app(f'[[nodes]]\nname = "archive"\nae_title = "ARCHIVE"\nhost = "127.0.0.1"\nport = {rx.port}\n')
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_query(pilot)
        screen.query_one("#q-patient", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "2 studies in" in status(app))
        table = screen.query_one(ResultTable)
        name, patient_id = table.get_row_at(0)[0], table.get_row_at(0)[1]
        assert name != MASK
        await pilot.press("P")
        await wait_for(pilot, lambda: table.get_row_at(0)[0] == MASK and table.get_row_at(0)[1] == MASK)
        assert patient_id not in str(screen.query_one("#q-detail").render())
        await pilot.press("enter")  # into the study: its crumb hides the name too
        await wait_for(pilot, lambda: "series in" in status(app))
        assert name.split("^")[0] not in status(app) and MASK in status(app)
