"""The Worklist screen driven by keys against real worklist servers: our own receiver serving `.wl` files (what
"this machine" asks) and dcmtk's wlmscpfs as a configured node. The clock the screen reads is fixed, so "today"
and "updated HH:MM:SS" are the same on every run."""

from __future__ import annotations

import csv
import datetime
import json
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, Select, Static

from dicomtui.dicom.synthetic_worklist import make_worklist_specs, write_worklist
from dicomtui.tui.screens import worklist as worklist_screen
from dicomtui.tui.screens.query_modals import NameScreen, PickScreen
from dicomtui.tui.screens.worklist import WorklistScreen
from dicomtui.tui.widgets.result_table import ResultTable

from ..peers.dcmtk import start_wlmscpfs
from ..peers.fixtures import running
from ..peers.harness import free_port
from .test_nodes_flow import wait_for

pytestmark = pytest.mark.peers

NOW = datetime.datetime(2026, 1, 15, 10, 30, 0)
DAY = "20260115"
# Six items today, one step each except the fourth (two steps): seven rows; CT01 and DX01 have two each.
SPECS = make_worklist_specs(DAY, seed=606, items=6)
LATER = make_worklist_specs(DAY, seed=607, items=1)  # scheduled between two refreshes

CONFIG = """\
# Worklist checks for the CT team.
[local]
ae_title = "DICOMTUI"   # ours, and the receiver's
port = {port}

[keymap]   # keys by binding id; must survive saves
"nodes.echo" = "e"

[worklist]
refresh_seconds = {refresh}   # quick, for the test
{nodes}"""


def _config(port: int, refresh: int = 30, nodes: str = "") -> str:
    return CONFIG.format(port=port, refresh=refresh, nodes=nodes)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(worklist_screen, "now", lambda: NOW)


@pytest.fixture
def folder(tmp_path) -> Path:
    write_worklist(tmp_path / "wl", SPECS)
    return tmp_path / "wl"


@pytest.fixture
def local(receiver_factory, folder):
    """This machine's receiver, serving the worklist folder."""
    return receiver_factory(worklists=folder)


def line(table: ResultTable, y: int) -> str:
    """What the table shows on its line `y` (0: the header), as it is scrolled now."""
    return table.render_line(y).text


def status(app) -> str:
    return str(app.screen.query_one("#wl-status", Static).render())


def detail(app) -> str:
    return str(app.screen.query_one("#wl-detail-text", Static).render())


async def open_worklist(pilot) -> WorklistScreen:
    await pilot.press("5")
    await pilot.pause()
    assert isinstance(pilot.app.screen, WorklistScreen)
    return pilot.app.screen


async def ask(pilot, screen: WorklistScreen, done: str = "updated") -> None:
    """Enter in the form; wait for the answer (or the failure) to show."""
    screen.query_one("#wl-station", Input).focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: done in status(pilot.app) and screen._run is None)


async def test_query_filter_detail_and_refresh_highlights(make_app, local, folder, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    app = make_app(_config(local.port))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_worklist(pilot)
        table = screen.query_one(ResultTable)
        assert "press enter" in detail(app)
        # Placeholders read as hints, never as a value already set ("CT" alone looked like a filter in force).
        modality = screen.query_one("#wl-modality", Input)
        assert modality.placeholder == "e.g. CT" and modality.content_region.width >= len("e.g. CT")
        for field in ("station", "patient"):
            assert "e.g." in screen.query_one(f"#wl-{field}", Input).placeholder
        await ask(pilot, screen)
        assert table.row_count == 7 and "7 steps on 2026-01-15" in status(app) and "updated 10:30:00" in status(app)
        assert app.focused is table
        # What a modality's list shows fills the 80 columns; the rest of what the issue lists lies to the right.
        assert [c.heading for c in screen._columns] == ["Time", "Patient", "Patient ID", "Accession", "Mod",
                                                        "Station", "Procedure", "Born", "Sex", "Status",
                                                        "Referring", "Requested procedure"]
        assert screen._fit == 7
        assert table.get_row_at(0)[0] == "08:00" and table.get_row_at(0)[5] == "CT01"
        # Filter by a station, then clear it.
        await pilot.press("slash", *"DX01")
        await pilot.pause()
        assert table.row_count == 2 and "filter 'DX01': 2 shown" in status(app)
        await pilot.press("escape")
        await pilot.pause()
        assert table.row_count == 7 and not screen.query_one("#wl-filter", Input).display
        # Sort by patient name.
        await pilot.press("s")
        names = [table.get_row_at(i)[1] for i in range(7)]
        assert names == sorted(names) and "sorted by Patient" in status(app)
        await pilot.press(*"s" * 11)  # through the other columns, back to the worklist's order
        assert "sorted by" not in status(app) and table.get_row_at(0)[0] == "08:00"
        # The detail pane: every attribute, the steps' sequence with its nested protocol codes.
        await pilot.press("enter")
        assert screen.has_class("-big-detail")
        text = detail(app)
        for keyword in ("StudyInstanceUID", "AdmissionID", "ScheduledProcedureStepSequence", "▸ Modality CT",
                        "ScheduledProtocolCodeSequence [CodeValue PCT1", "CodeMeaning"):
            assert keyword in text, keyword
        await pilot.press("escape")
        assert not screen.has_class("-big-detail")
        # One item done (its file removed), one scheduled meanwhile: R compares.
        (folder / f"{SPECS[0].accession_number}.wl").unlink()
        write_worklist(folder, LATER)
        await pilot.press("R")
        await wait_for(pilot, lambda: "+1 new" in status(app) and screen._run is None)
        assert "7 steps" in status(app) and "1 vanished" in status(app)
        marks = {i: screen.row_mark(i) for i in range(table.row_count) if screen.row_mark(i)}
        assert table.row_count == 8 and sorted(marks.values()) == ["added", "vanished"]
        [added] = [i for i, mark in marks.items() if mark == "added"]
        assert table.get_row_at(added)[3] == LATER[0].accession_number
        # The step gone stays in its place (the first, at 08:00), marked, until the next refresh.
        assert marks.get(0) == "vanished" and table.get_row_at(0)[3] == SPECS[0].accession_number
        assert line(table, 1).startswith("×08:00") and line(table, added + 1).startswith("+")
        table.move_cursor(0)
        await pilot.pause()
        assert detail(app).startswith("No longer scheduled") and SPECS[0].patient.patient_id in detail(app)
        assert any("No longer scheduled" in n.message for n in app.sent_notifications)
        # An export has what is scheduled: not the vanished step.
        await pilot.press("x")
        await wait_for(pilot, lambda: list((tmp_path / "data").rglob("worklist-*.csv")))
        [as_csv] = list((tmp_path / "data").rglob("worklist-*.csv"))
        exported = [r["AccessionNumber"] for r in csv.DictReader(as_csv.open(encoding="utf-8"))]
        assert len(exported) == 7 and SPECS[0].accession_number not in exported
        assert LATER[0].accession_number in exported
        # Another question (a station) is not compared with the rows before.
        screen.query_one("#wl-station", Input).value = "CT01"
        await ask(pilot, screen)
        assert {table.get_row_at(i)[5] for i in range(table.row_count)} == {"CT01"}
        assert "new" not in status(app) and "as CT01" in status(app)


async def test_auto_refresh_notices_a_new_item_and_a_vanished_one(make_app, local, folder):
    app = make_app(_config(local.port, refresh=1))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_worklist(pilot)
        table = screen.query_one(ResultTable)
        await ask(pilot, screen)
        await pilot.press("a")  # asks at once, then a second after each answer
        assert "auto 1 s" in status(app)
        await wait_for(pilot, lambda: screen._run is None)
        # Both changes between two refreshes: no refresh starts while this (synchronous) code runs.
        write_worklist(folder, LATER)
        (folder / f"{SPECS[-1].accession_number}.wl").unlink()
        await wait_for(pilot, lambda: "+1 new" in status(app), timeout=8)
        assert "1 vanished" in status(app) and "7 steps" in status(app) and table.row_count == 8
        [gone] = [i for i in range(table.row_count) if screen.row_mark(i) == "vanished"]
        assert table.get_row_at(gone)[3] == SPECS[-1].accession_number
        # The next refresh, with nothing new: the vanished step is no longer shown.
        await wait_for(pilot, lambda: "vanished" not in status(app) and screen._run is None, timeout=8)
        assert table.row_count == 7 and "7 steps" in status(app) and "new" not in status(app)
        assert SPECS[-1].accession_number not in {table.get_row_at(i)[3] for i in range(7)}
        await pilot.press("a")
        assert "auto" not in status(app) and screen._timer is None


async def test_station_presets_keep_the_config_comments(make_app, local):
    app = make_app(_config(local.port))
    original = Path("config.toml").read_text()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_worklist(pilot)
        screen.query_one("#wl-preset", Select).value = "week"
        screen.query_one("#wl-modality", Input).value = "mr"
        screen.query_one("#wl-station", Input).value = "MR01"
        await pilot.pause()
        await pilot.press("escape", "S")
        await pilot.pause()
        assert isinstance(app.screen, NameScreen)
        await pilot.press(*"MR room", "enter")
        await pilot.pause()
        [preset] = app.config_file.config.worklist_presets
        assert (preset.name, preset.node, preset.station, preset.modality, preset.date) == (
            "MR room", "this machine", "MR01", "MR", "week")
        text = Path("config.toml").read_text()
        assert text.startswith(original) and 'station = "MR01"' in text
        # Another form, then the preset: it fills the form back and asks, o and its number.
        screen.query_one("#wl-station", Input).value = ""
        screen.query_one("#wl-preset", Select).value = "any"
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        listed = app.screen.query_one(OptionList).get_option_at_index(0).prompt
        assert str(listed) == "1  MR room  (this machine, as MR01, MR, this week)"
        await pilot.press("1")
        await wait_for(pilot, lambda: "updated" in status(app) and screen._run is None)
        table = screen.query_one(ResultTable)
        assert table.row_count == 1 and table.get_row_at(0)[5] == "MR01"
        assert screen.query_one("#wl-station", Input).value == "MR01"
        assert screen.query_one("#wl-preset", Select).value == "week" and "this week" in status(app)
        # And deleted from the list: the file is as it was.
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.config_file.config.worklist_presets == []
    assert Path("config.toml").read_text().rstrip() == original.rstrip()


async def test_export_csv_and_json(make_app, local, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    app = make_app(_config(local.port))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_worklist(pilot)
        await ask(pilot, screen)
        await pilot.press("slash", *"CT01", "enter")
        await pilot.press("x", "X")
        await pilot.pause()
    [as_csv] = list((tmp_path / "data").rglob("worklist-*.csv"))
    rows = list(csv.DictReader(as_csv.open(encoding="utf-8")))
    assert [r["ScheduledStationAETitle"] for r in rows] == ["CT01", "CT01"]
    assert rows[0]["ScheduledProtocolCodeSequence"].endswith("(99DICOMTUI:PCT1)")
    [as_json] = list((tmp_path / "data").rglob("worklist-*.json"))
    items = json.loads(as_json.read_text(encoding="utf-8"))
    assert len(items) == 2 and items[0]["AccessionNumber"] == SPECS[0].accession_number
    assert items[0]["ScheduledProtocolCodeSequence"][0]["CodeValue"] == "PCT1"
    assert {"PatientName", "StudyInstanceUID", "ScheduledProcedureStepStartDate"} <= set(items[0])


async def test_a_dcmtk_worklist_and_errors_in_words(make_app, folder, tmp_path):
    with running(start_wlmscpfs, tmp_path, folder, ae_title="WLMSCPFS") as wlm:
        nodes = f'\n[[nodes]]\nname = "ris"\nae_title = "WLMSCPFS"\nhost = "127.0.0.1"\nport = {wlm.port}\n'
        app = make_app(_config(free_port(), nodes=nodes))  # nothing listens on this machine's port
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_worklist(pilot)
            # This machine, with no receiver running: refused, and why.
            await ask(pilot, screen, done="refused")
            assert "receiver is not running" in status(app)
            assert app.sent_notifications[-1].title == "Worklist query failed"
            # The RIS (wlmscpfs), asked as the CT station.
            screen.query_one("#wl-node", Select).value = "ris"
            screen.query_one("#wl-station", Input).value = "CT01"
            await ask(pilot, screen)
            table = screen.query_one(ResultTable)
            assert table.row_count == 2 and {table.get_row_at(i)[5] for i in range(2)} == {"CT01"}
            # A date that is no date is refused in the form, before any network.
            screen.query_one("#wl-date", Input).focus()
            await pilot.press(*"2026-13-45")
            await pilot.pause()
            error = screen.query_one("#wl-error", Static)
            assert error.display and "not a valid date" in str(error.render())
            await pilot.press("enter")
            await pilot.pause()
            assert screen._run is None and "not a valid date" in app.sent_notifications[-1].message


# What the issue says the table shows, as the screen's column keys.
LISTED = {"start", "patient_name", "patient_id", "birth_date", "sex", "accession_number", "modality",
          "requested_procedure_description", "step_description", "station_ae_title", "status",
          "referring_physician"}


@pytest.mark.parametrize(("size", "fit", "beside"), [((80, 24), 7, False), ((120, 36), 10, False),
                                                     ((170, 40), 12, False), ((184, 40), 10, True)])
async def test_every_listed_column_at_every_width(make_app, local, size, fit, beside):
    app = make_app(_config(local.port))
    async with app.run_test(size=size) as pilot:
        screen = await open_worklist(pilot)
        await ask(pilot, screen)
        table = screen.query_one(ResultTable)
        keys = {"step_description" if c.key == "procedure" else c.key for c in screen._columns}
        assert keys == LISTED and screen._fit == fit
        assert screen.has_class("-side-detail") == beside
        assert table.scrollable_content_region.width >= (120 if beside else size[0] - 2)
        shown = next(i for i in range(table.row_count) if table.get_row_at(i)[2] == SPECS[0].patient.patient_id)
        assert SPECS[0].patient.patient_id in line(table, shown + 1)  # whole, not cut with …
        # The columns past the right edge, one press a column: each heading comes into view, whole.
        headings = [c.heading for c in screen._columns]
        seen = line(table, 0)
        assert all(h in seen for h in headings[:fit]) and ("→" in seen) == (fit < len(headings))
        table.focus()
        for _ in headings[fit:]:
            await pilot.press("right")
            seen += line(table, 0)
        assert all(h in seen for h in headings), seen
        assert "→" not in line(table, 0) and ("←" in line(table, 0)) == (fit < len(headings))
        if fit < len(headings):
            assert "REFERRER^RITA" in line(table, 1) and "Referring" in line(table, 0)
            await pilot.press(*["left"] * len(headings))
            assert table.scroll_x == 0 and line(table, 0).split()[0] == "Time"


# A Japanese name among the generated ones (the issue asks for Chinese and Japanese names): the seventh item of
# a generated day is the fourth international patient, Yamada Tarou in ISO 2022 IR 87.
JAPANESE = make_worklist_specs(DAY, seed=608, items=7)[6:]


@pytest.mark.parametrize("size", [(80, 24), (120, 36), (170, 40)], ids=lambda size: f"{size[0]}x{size[1]}")
def test_worklist_screen_snapshot(snap_compare, make_app, local, folder, size):
    assert JAPANESE[0].patient.name.startswith("Yamada^Tarou=山田^太郎")
    write_worklist(folder, JAPANESE)

    async def query(pilot):
        await pilot.press("5")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "updated" in status(pilot.app) and pilot.app.screen._run is None)
        await pilot.pause(0.2)

    assert snap_compare(make_app(_config(local.port)), terminal_size=size, run_before=query)


async def test_every_action_has_a_key_and_a_palette_entry(make_app):
    from dicomtui.tui.screens.worklist_commands import WorklistCommands

    app = make_app(_config(free_port()))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_worklist(pilot)
        entries = WorklistCommands(screen)._commands()
        in_palette = {getattr(callback, "__name__", "") for _title, callback, _help in entries}
        for binding in WorklistScreen.BINDINGS:
            assert binding.id and binding.id.startswith("worklist.") and binding.description and binding.tooltip
            if binding.action != "back":  # esc backs out of what is open: nothing to run from the palette
                assert f"action_{binding.action}" in in_palette, binding.action
