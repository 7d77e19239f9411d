"""The Query screen driven by keys against a real archive: our own receiver, filled with synthetic studies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from dicomtui.config import Node
from dicomtui.dicom.synthetic import generate_studies
from dicomtui.engine.archive.importing import import_files
from dicomtui.tui.query_levels import COLUMNS
from dicomtui.tui.screens.command_lines import CommandLinesScreen
from dicomtui.tui.screens.query import QueryScreen
from dicomtui.tui.widgets.query_form import preset_range
from dicomtui.tui.widgets.result_table import ResultTable

from .test_copy_command import shown
from .test_nodes_flow import wait_for

pytestmark = pytest.mark.peers

PATIENTS = 3  # one study each, two series of three instances


def _config(port: int, storage: Path | str) -> str:
    return (f'[local]\nae_title = "TESTSCU"\nport = 11112\nstorage = "{storage}"\n\n'
            f'[[nodes]]\nname = "archive"\nae_title = "DICOMTUI"\nhost = "127.0.0.1"\nport = {port}\n')


def _node(name: str, ae_title: str, port: int) -> str:
    return f'\n[[nodes]]\nname = "{name}"\nae_title = "{ae_title}"\nhost = "127.0.0.1"\nport = {port}\n'


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> list[Path]:
    return generate_studies(tmp_path_factory.mktemp("studies"), patients=PATIENTS, seed=41)


@pytest.fixture
def archive(receiver_factory, studies, tmp_path):
    storage = tmp_path / "archive"
    import_files(storage, studies)
    return receiver_factory(storage=storage)


def status(app) -> str:
    return str(app.screen.query_one("#q-status", Static).render())


async def open_query(pilot) -> QueryScreen:
    await pilot.press("2")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, QueryScreen)
    return screen


async def test_query_drill_down_back_and_filter(make_app, archive, tmp_path):
    app = make_app(_config(archive.port, tmp_path / "got"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_query(pilot)
        table = screen.query_one(ResultTable)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "3 studies in" in status(app))
        assert table.row_count == PATIENTS
        assert "DICOMTUI@127.0.0.1" not in status(app)
        detail = str(screen.query_one("#q-detail", Static).render())
        assert "StudyInstanceUID" in detail
        # Into the first study's series, then its instances, and back up.
        assert app.focused is table
        first_patient = str(table.get_row_at(0)[0])
        await pilot.press("enter")
        await wait_for(pilot, lambda: "2 series in" in status(app))
        assert table.row_count == 2 and first_patient.split("^")[0] in status(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "3 instances in" in status(app))
        assert table.row_count == 3
        await pilot.press("escape")
        assert table.row_count == 2 and "2 series in" in status(app)
        await pilot.press("backspace")
        assert table.row_count == PATIENTS and "3 studies in" in status(app)
        # Filter by the first patient's name, then clear it.
        await pilot.press("slash", *first_patient.split("^")[0])
        await pilot.pause()
        assert table.row_count == 1
        assert "1 shown" in status(app)
        await pilot.press("escape")
        await pilot.pause()
        assert table.row_count == PATIENTS
        assert not screen.query_one("#q-filter", Input).display
        # Sort by the first column.
        await pilot.press("s")
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert names == sorted(names) and "sorted by Patient" in status(app)


async def test_invalid_date_is_refused_inline(make_app, archive, tmp_path):
    app = make_app(_config(archive.port, tmp_path / "got"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_query(pilot)
        date = screen.query_one("#q-date", Input)
        date.focus()
        await pilot.press(*"2024-13-45")
        await pilot.pause()
        error = screen.query_one("#q-error", Static)
        assert error.display and "Date:" in str(error.render()) and "not a valid date" in str(error.render())
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert screen._run is None and not screen._levels
        assert screen.query_one(ResultTable).row_count == 0
        # A preset replaces it with a valid range.
        date.value = ""
        await pilot.press(*"20240101-20240131")
        await pilot.pause()
        assert not error.display


def test_presets():
    import datetime

    day = datetime.date(2026, 3, 1)
    assert preset_range("any", day) == ""
    assert preset_range("yesterday", day) == "20260228"
    assert preset_range("7d", day) == "20260223-20260301"
    assert preset_range("custom", day) is None


async def test_get_a_study_into_the_local_archive(make_app, archive, tmp_path):
    storage = tmp_path / "got"
    app = make_app(_config(archive.port, storage))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_query(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "3 studies in" in status(app))
        await pilot.press("g")
        await wait_for(pilot, lambda: "C-GET study" in status(app) and "6 instance(s)" in status(app), timeout=30)
        # A job in the queue, as `dicomtui get` makes: done, and said so wherever the user is.
        [job] = app.job_store.list()
        assert (job.kind, job.target, job.state, job.retrieve.completed) == ("get", "archive", "done", 6)
        assert job.id == screen._retrieve_job and f"(job {job.id}; Transfers, 4)" in status(app)
        await wait_for(pilot, lambda: any(f"Job {job.id} done: 6 instance(s) retrieved" in n.message
                                          for n in app.sent_notifications))
        await pilot.press("4")
        table = app.screen.query_one("#tx-jobs", DataTable)
        await wait_for(pilot, lambda: job.id in table.rows)
        assert str(table.get_cell(job.id, "kind")) == "get" and str(table.get_cell(job.id, "state")) == "done"
    assert len(list(storage.rglob("*.dcm"))) == 6


async def test_copy_command_and_export(make_app, archive, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    app = make_app(_config(archive.port, tmp_path / "got"))
    copied: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.copy_to_clipboard = copied.append
        screen = await open_query(pilot)
        screen.query_one("#q-patient", Input).focus()
        await pilot.press(*"*")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "3 studies in" in status(app))
        await pilot.press("y")  # the query, and a move and a get of the highlighted study, each two ways
        assert isinstance(app.screen, CommandLinesScreen)
        study = screen._selected()["StudyInstanceUID"]
        find = "dicomtui find archive -k 'PatientName=*' --level study"
        lines = shown(app)
        assert lines[1] == find and lines[2].startswith("findscu -S -aet TESTSCU -aec ")
        assert f"dicomtui move archive --dest TESTSCU --study {study}" in lines
        assert f"dicomtui get archive --study {study}" in lines
        assert any(line.startswith("movescu -S -aet TESTSCU") and "-aem TESTSCU" in line for line in lines)
        await pilot.press("enter")  # the first line
        await pilot.pause()
        assert copied == [find] and app.screen is screen
        # In a series, the lines name the series too.
        await pilot.press("enter")
        await wait_for(pilot, lambda: "2 series in" in status(app))
        await pilot.press("y")
        series = screen._selected()["SeriesInstanceUID"]
        lines = shown(app)
        assert f"dicomtui move archive --dest TESTSCU --study {study} --series {series}" in lines
        assert f"dicomtui get archive --study {study} --series {series}" in lines
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and copied == [find]  # closed without copying
        await pilot.press("escape")
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("X")
        await pilot.pause()
    exports = list((tmp_path / "data").rglob("*.csv"))
    assert len(exports) == 1
    lines = exports[0].read_text().splitlines()
    assert lines[0].startswith("PatientName,PatientID,StudyDate") and len(lines) == 1 + PATIENTS
    [as_json] = list((tmp_path / "data").rglob("*.json"))
    rows = json.loads(as_json.read_text())
    assert len(rows) == PATIENTS and list(rows[0])[:3] == ["PatientName", "PatientID", "StudyDate"]
    assert all(isinstance(v, str | list) or v is None for row in rows for v in row.values())


async def test_unreachable_node_says_why(make_app, tmp_path):
    from ..peers.harness import free_port

    app = make_app(_config(free_port(), tmp_path / "got"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_query(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "refused" in status(app).lower() or "connect" in status(app).lower())


def test_query_screen_snapshot(snap_compare, make_app):
    config = _config(4242, "archive") + '\n[[nodes]]\nname = "ct"\nae_title = "CT01"\nhost = "ct"\nport = 104\n'
    assert snap_compare(make_app(config), terminal_size=(80, 24), press=["2"])


async def test_quitting_does_not_wait_for_a_silent_archive(make_app, silent_peer, tmp_path):
    import time

    config = _config(silent_peer.port, tmp_path / "got")
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_query(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "querying DICOMTUI@127.0.0.1" in status(app))
        await wait_for(pilot, lambda: silent_peer.accepted >= 1)
        started = time.monotonic()
        await pilot.press("escape", "c")  # out of the form, then stop
        assert "stopped after 0 studies" in status(app)
        await pilot.press("enter")  # the table has focus: nothing to open, nothing runs
        await pilot.press("q")
    assert time.monotonic() - started < 2


async def test_move_a_study_to_another_node(make_app, receiver_factory, studies, storescp, tmp_path):
    # The archive (our own receiver) knows storescp as a node, so it can be a C-MOVE destination.
    storage = tmp_path / "archive"
    import_files(storage, studies)
    archive = receiver_factory(storage=storage,
                               nodes=(Node("store", storescp.ae_title, "127.0.0.1", storescp.port),))
    app = make_app(_config(archive.port, tmp_path / "got") + _node("store", storescp.ae_title, storescp.port))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_query(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "3 studies in" in status(app))
        await pilot.press("M")
        await pilot.pause()
        from dicomtui.tui.screens.query_modals import PickScreen

        assert isinstance(app.screen, PickScreen)
        options = app.screen.query_one("#pick-list")
        listed = [str(options.get_option_at_index(i).id) for i in range(options.option_count)]
        assert listed == ["TESTSCU", "DICOMTUI", "STORESCP"]  # ours first, then each node's AE title
        await pilot.press("end", "enter")
        await pilot.pause()
        assert app.screen is screen
        await wait_for(pilot, lambda: "C-MOVE study" in status(app) and "6 instance(s)" in status(app), timeout=30)
        assert "C-MOVE study" in status(app) and "to STORESCP:" in status(app)
        [job] = app.job_store.list()
        assert (job.kind, job.state, job.retrieve.destination) == ("move", "done", "STORESCP")
        assert any(n.title == screen._retrieve_what and n.message.startswith(f"Job {job.id}: C-MOVE study")
                   for n in app.sent_notifications)
        await wait_for(pilot, lambda: any(f"Job {job.id} done: 6 instance(s) moved" in n.message
                                          for n in app.sent_notifications))
    assert len(storescp.received()) == 6


async def test_a_move_waits_for_a_free_association_and_c_cancels_it(make_app, receiver_factory, studies,
                                                                       storescp_factory, tmp_path):
    """A move from this screen is a job like any other: it waits while [transfers] allows no association to the
    archive, shows on the Transfers screen, and c stops it with C-CANCEL."""
    from dicomtui.engine.jobs.lock import locks_folder
    from dicomtui.engine.jobs.slots import AssociationSlots, node_key

    storage = tmp_path / "archive"
    import_files(storage, studies)
    slow = storescp_factory(extra_args=["--sleep-after", "1"])  # a second per instance: time to cancel
    archive = receiver_factory(storage=storage, nodes=(Node("store", slow.ae_title, "127.0.0.1", slow.port),))
    config = (_config(archive.port, tmp_path / "got") + _node("store", slow.ae_title, slow.port)
              + "\n[transfers]\nmax_associations_per_node = 1\n")
    app = make_app(config)
    # Another process's job holds the one association allowed to the archive.
    held = AssociationSlots(locks_folder(app.job_store) / "slots", 8, 1).try_acquire(
        node_key("127.0.0.1", archive.port), 1)
    assert held is not None
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_query(pilot)
            await pilot.press("enter")
            await wait_for(pilot, lambda: "3 studies in" in status(app))
            await pilot.press("M")
            await pilot.pause()
            await pilot.press("end", "enter")
            await wait_for(pilot, lambda: "waiting for a free association" in status(app), timeout=15)
            job_id = screen._retrieve_job
            assert app.job_store.get(job_id).state == "running" and len(slow.received()) == 0
            held.release()
            held = None
            await wait_for(pilot, lambda: app.job_store.get(job_id).retrieve.completed >= 1, timeout=20)
            await wait_for(pilot, lambda: "1 done" in status(app) or "2 done" in status(app))
            await pilot.press("c")  # the table has focus
            await wait_for(pilot, lambda: app.job_store.get(job_id).state == "cancelled", timeout=15)
            await wait_for(pilot, lambda: "cancelled" in status(app))
            assert any(f"Job {job_id} cancelled" in n.message for n in app.sent_notifications)
            await pilot.press("4")
            table = app.screen.query_one("#tx-jobs", DataTable)
            await wait_for(pilot, lambda: job_id in table.rows)
            assert str(table.get_cell(job_id, "kind")) == "move"
            assert str(table.get_cell(job_id, "state")) == "cancelled"
    finally:
        if held is not None:
            held.release()
    assert 1 <= len(slow.received()) < 6  # C-CANCEL stopped the archive's sub-operations


async def test_save_and_open_a_query(make_app, archive, tmp_path):
    config = "# my own comment\n" + _config(archive.port, tmp_path / "got") + _node("other", "OTHER", 1)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_query(pilot)
        await pilot.press("escape", "o")  # out of the form; nothing saved yet: says so
        await pilot.pause()
        assert app.screen is screen and "No saved queries yet" in list(app.sent_notifications)[-1].message
        screen.query_one("#q-patient", Input).focus()
        await pilot.press(*"*")
        screen.query_one("#q-preset").value = "7d"
        await pilot.pause()
        await pilot.press("escape", "S")
        await pilot.pause()
        await pilot.press(*"all week", "enter")
        await pilot.pause()
        saved = app.config_file.config.queries
        assert [(q.name, q.node, q.level, q.keys, q.preset) for q in saved] == [
            ("all week", "archive", "study", {"PatientName": "*"}, "7d")]
        text = Path("config.toml").read_text()
        assert text.startswith("# my own comment\n") and 'keys = {PatientName = "*"}' in text
        # Saving a second one under another node, then opening the first from the picker fills the form and runs.
        app.config_file.add_query(app.config_file.config.queries[0].__class__("any", "archive", "study",
                                                                           {"PatientName": "NOBODY*"}))
        screen.query_one("#q-patient", Input).value = "changed"
        screen.query_one(ResultTable).focus()
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("enter")  # the first entry
        await wait_for(pilot, lambda: "studies in" in status(app) or "0 studies" in status(app))
        assert screen.query_one("#q-patient", Input).value == "*"
        assert str(screen.query_one("#q-preset").value) == "7d"
        assert screen._levels[0].keys["PatientName"] == "*" and "-" in screen._levels[0].keys["StudyDate"]


async def test_sort_reorders_the_same_rows(make_app, archive, tmp_path):
    app = make_app(_config(archive.port, tmp_path / "got"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_query(pilot)
        table = screen.query_one(ResultTable)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "3 studies in" in status(app))
        arrival = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        rows = sorted(screen._level.shown)
        await pilot.press("s", "s")  # by ID
        ids = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert ids == sorted(ids) and sorted(screen._level.shown) == rows  # the same rows, reordered
        assert [screen._selected()["PatientID"]] == ids[:1]
        for _ in range(len(COLUMNS["STUDY"]) - 1):  # past the last column: back to arrival order
            await pilot.press("s")
        assert "sorted by" not in status(app)
        assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == arrival


async def test_a_failed_move_to_us_says_what_our_receiver_saw(make_app, receiver_factory, studies, tmp_path):
    """The move runs in a job process, but the app's receiver is here: its view still reaches the user."""
    from ..peers.harness import free_port

    storage = tmp_path / "archive"
    import_files(storage, studies)
    ours, wrong = free_port(), free_port()
    # The archive has our AE title with a port where nothing listens: the move cannot reach us.
    archive = receiver_factory(storage=storage, nodes=(Node("us", "TESTSCU", "127.0.0.1", wrong),))
    config = _config(archive.port, tmp_path / "got").replace("port = 11112", f'port = {ours}\nbind = "127.0.0.1"')
    app = make_app(config)
    app._autostart_receiver = True
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.receiver is not None and app.receiver.running)
        await open_query(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "3 studies in" in status(app))
        await pilot.press("m")
        await wait_for(pilot, lambda: any(n.title == "Transfer" for n in app.sent_notifications), timeout=30)
        [ended] = [n.message for n in app.sent_notifications if n.title == "Transfer"]
        assert ended.startswith("Job 1 failed"), ended
        assert f"did not arrive at our receiver (port {ours})" in ended, ended


async def test_r_asks_again_and_shows_what_arrived_meanwhile(make_app, archive, tmp_path):
    app = make_app(_config(archive.port, tmp_path / "got"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_query(pilot)
        screen.query_one("#q-patient", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: f"{PATIENTS} studies in" in status(app))
        import_files(archive.storage, generate_studies(tmp_path / "later", patients=1, seed=42))
        screen.query_one(ResultTable).focus()
        await pilot.press("R")
        await wait_for(pilot, lambda: f"{PATIENTS + 1} studies in" in status(app))
        assert screen.query_one(ResultTable).row_count == PATIENTS + 1
