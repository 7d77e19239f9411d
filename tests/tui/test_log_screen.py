"""The Log screen (key 6): associations from real peers, opened from the row that caused them, PHI masked."""

from __future__ import annotations

import os
import subprocess

import pytest
from textual.widgets import Static

from dicomtui.config.model import Node
from dicomtui.dicom.phi import MASK
from dicomtui.dicom.synthetic import generate_studies
from dicomtui.engine.association_log import AssociationEntry, ContextEntry, MessageEntry
from dicomtui.engine.query import QueryRequest, find
from dicomtui.tui.widgets.result_table import ResultTable

from ..peers.harness import dcmtk, free_port
from .conftest import FIXED_TIME
from .test_nodes_flow import wait_for

pytestmark = pytest.mark.peers


def _receiver_config(port: int, storage) -> str:
    return f'[local]\nport = {port}\nbind = "127.0.0.1"\nstorage = "{storage}"\n\n[receiver]\nmin_free_mb = 0\n'


def _detail(app) -> str:
    return str(app.screen.query_one("#log-detail-text", Static).render())


async def test_an_association_the_receiver_took_opens_from_its_instance(make_app, tmp_path):
    port = free_port()
    files = generate_studies(tmp_path / "source", patients=1, series_per_study=1, seed=21)
    app = make_app(_receiver_config(port, tmp_path / "archive"))
    app._autostart_receiver = True
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.receiver is not None and app.receiver.running)
        await pilot.press("3")
        sender = subprocess.Popen([dcmtk("storescu"), "-aec", "DICOMTUI", "-aet", "CT01", "127.0.0.1", str(port),
                                   *map(str, files)], env={**os.environ, "TCP_NODELAY": "1"},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while sender.poll() is None:
            await pilot.pause(0.05)
        assert sender.returncode == 0, sender.stderr.read()
        recent = app.screen.query_one("#rx-recent", ResultTable)
        await wait_for(pilot, lambda: recent.row_count == len(files))
        recent.focus()
        await pilot.press("l")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "AssociationsScreen")
        table = app.screen.query_one("#log-table", ResultTable)
        await wait_for(pilot, lambda: table.row_count == 1, timeout=10)
        row = table.get_row_at(0)
        assert row[1:5] == ["←", "store", "CT01", "released"]
        await wait_for(pilot, lambda: "C-STORE-RQ" in _detail(app))
        text = _detail(app)
        assert "CT01 → DICOMTUI (us)" in text and text.count("C-STORE-RSP") == len(files)
        assert "Associations of the association that brought" in str(
            app.screen.query_one("#log-status", Static).render())
        await pilot.press("escape")  # every association again
        await wait_for(pilot, lambda: "All associations" in str(app.screen.query_one("#log-status", Static).render()))
    app.receiver.stop()


async def test_an_echo_from_the_nodes_screen_and_phi_in_a_query(make_app, storescp, receiver_factory, tmp_path):
    config = (f'[local]\nae_title = "DICOMTUI"\n\n[[nodes]]\nname = "archive"\nae_title = "{storescp.ae_title}"\n'
              f'host = "127.0.0.1"\nport = {storescp.port}\n')
    rx = receiver_factory(ae_title="LOGQR")
    files = generate_studies(tmp_path / "source", patients=1, series_per_study=1, seed=22)
    from ..peers.receiver_fixtures import run_storescu

    assert run_storescu(rx.port, files, called="LOGQR").returncode == 0
    rx.receiver.wait_indexed()
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("e")
        await wait_for(pilot, lambda: "archive" not in app.screen._pending, timeout=10)
        # A query run through the app's journal, as the Query screen runs one.
        result = find(Node("local", "LOGQR", "127.0.0.1", rx.port), "DICOMTUI",
                      QueryRequest(level="STUDY", keys={"PatientName": "*", "PatientID": ""}),
                      journal=app.journal("find local"))
        assert result.ok and result.rows
        await pilot.press("6")
        table = app.screen.query_one("#log-table", ResultTable)
        await wait_for(pilot, lambda: table.row_count == 2, timeout=10)
        assert [table.get_row_at(i)[2] for i in range(2)] == ["find", "echo"]
        assert table.get_row_at(1)[3] == storescp.ae_title and table.get_row_at(1)[-1] == "echo archive"
        await wait_for(pilot, lambda: "C-FIND-RQ" in _detail(app))
        assert f"PatientName={MASK}" in _detail(app)
        await pilot.press("v")
        await wait_for(pilot, lambda: "PatientName=*" in _detail(app))
        assert "patient data shown" in str(app.screen.query_one("#log-status", Static).render())
        await pilot.press("v")
        await wait_for(pilot, lambda: f"PatientName={MASK}" in _detail(app))
        await pilot.press("down")
        await wait_for(pilot, lambda: "C-ECHO-RSP" in _detail(app))


def _fixed_entries(app) -> None:
    """Entries as the engine records them, at fixed times, for a stable picture."""
    log = app.association_log
    find_entry = AssociationEntry(
        "a1", True, "find", "find pacs", "DICOMTUI", "PACS", "10.0.0.5:104", FIXED_TIME,
        contexts=[ContextEntry(1, "1.2.840.10008.5.1.4.1.2.2.1", ["1.2.840.10008.1.2.1"], 0, "1.2.840.10008.1.2.1"),
                  ContextEntry(3, "1.2.840.10008.1.1", ["1.2.840.10008.1.2"], 3)],
        messages=[MessageEntry(0.0, True, "C-FIND-RQ", 1, None, "",
                               [("QueryRetrieveLevel", "STUDY"), ("PatientName", "SMITH*"), ("StudyDate", "")]),
                  MessageEntry(0.41, False, "C-FIND-RSP", 1, 0xFF00), MessageEntry(0.42, False, "C-FIND-RSP", 1, 0)],
        counts={"C-FIND-RQ": 1, "C-FIND-RSP 0xFF00": 1, "C-FIND-RSP 0x0000": 1}, ended=FIXED_TIME + 0.43,
        outcome="released", peer_max_pdu=16384)
    rejected = AssociationEntry("a2", False, "-", "receiver", "MR99", "DICOMTUI", "10.0.0.9:50112", FIXED_TIME + 60,
                                ended=FIXED_TIME + 60.01, outcome="rejected",
                                reason="we rejected it: its calling AE title is not allowed by [receiver] accept")
    log.record(find_entry)
    log.record(rejected)


def test_log_screen_snapshot(snap_compare, make_app):
    app = make_app("")

    async def run_before(pilot):
        _fixed_entries(app)
        await pilot.press("6")
        await pilot.press("R")
        table = app.screen.query_one("#log-table", ResultTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        await pilot.press("down")
        await wait_for(pilot, lambda: "C-FIND-RQ" in _detail(app))

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
