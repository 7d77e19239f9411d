"""Saved queries on the Query screen against a real archive (our own receiver): patient-level ones, saved
from the form and opened from the config, and deleting one from the picker."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Select

from dicomtui.tui.screens.confirm import ConfirmScreen
from dicomtui.tui.screens.query_modals import PickScreen
from dicomtui.tui.widgets.result_table import ResultTable

from . import test_query_screen
from .test_copy_command import shown
from .test_nodes_flow import wait_for
from .test_query_screen import PATIENTS, _config, open_query, status

pytestmark = pytest.mark.peers

# The same archive as the Query screen's other tests: our own receiver holding synthetic studies.
studies = test_query_screen.studies
archive = test_query_screen.archive


def _query(name: str, level: str, keys: str, comment: str = "") -> str:
    return f'\n[[queries]]{comment}\nname = "{name}"\nnode = "archive"\nlevel = "{level}"\nkeys = {keys}\n'


async def test_patient_level_saved_query_lists_patients_then_their_studies(make_app, archive, tmp_path):
    config = _config(archive.port, tmp_path / "got") + _query("everyone", "patient", '{PatientName = "*"}')
    app = make_app(config)
    copied: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.copy_to_clipboard = copied.append
        screen = await open_query(pilot)
        table = screen.query_one(ResultTable)
        await pilot.press("escape", "o")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: f"{PATIENTS} patients in" in status(app))
        # The form shows the saved level; the study fields do not apply to it.
        assert screen.query_one("#q-level", Select).value == "patient"
        assert screen.query_one("#q-date", Input).disabled and not screen.query_one("#q-patient", Input).disabled
        assert table.row_count == PATIENTS
        row = screen._selected()
        assert row["PatientID"] and row["NumberOfPatientRelatedStudies"] == "1"
        assert table.get_row_at(0)[1] == row["PatientID"] and table.get_row_at(0)[4] == "1"
        await pilot.press("y")  # a patient is not retrieved: only the query's two lines, the first copied
        assert len(shown(app)) == 3 and shown(app)[0].startswith("Find patient on archive")
        await pilot.press("enter")
        await pilot.pause()
        assert copied[-1] == ("dicomtui find archive -k 'PatientName=*' -k NumberOfPatientRelatedStudies "
                              "--level patient --model patient")
        await pilot.press("g")  # a whole patient is not retrieved: says what to do instead
        assert screen._retrieve_job is None and "list this patient's studies" in app.sent_notifications[-1].message
        # Enter opens the patient's studies.
        await pilot.press("enter")
        await wait_for(pilot, lambda: "1 study in" in status(app))
        assert screen._selected()["PatientID"] == row["PatientID"]
        assert str(row["PatientName"]).split("=")[0] in status(app)
        await pilot.press("escape")
        assert f"{PATIENTS} patients in" in status(app)


async def test_save_a_patient_level_query_from_the_form(make_app, archive, tmp_path):
    app = make_app(_config(archive.port, tmp_path / "got"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_query(pilot)
        screen.query_one("#q-level", Select).value = "patient"
        await pilot.pause()
        assert screen.query_one("#q-date", Input).disabled
        screen.query_one("#q-patient", Input).focus()
        await pilot.press("*", "enter")
        await wait_for(pilot, lambda: f"{PATIENTS} patients in" in status(app))
        await pilot.press("S")
        await pilot.pause()
        await pilot.press(*"all patients", "enter")
        await pilot.pause()
        [saved] = app.config_file.config.queries
        assert (saved.name, saved.level, saved.keys, saved.preset) == ("all patients", "patient",
                                                                      {"PatientName": "*"}, None)
        assert 'level = "patient"' in Path("config.toml").read_text()


async def test_delete_a_saved_query_from_the_picker(make_app, archive, tmp_path):
    config = ("# my own comment\n" + _config(archive.port, tmp_path / "got")
              + _query("first", "study", '{PatientName = "A*"}', "   # keep me")
              + _query("second", "patient", '{PatientID = "1"}'))
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_query(pilot)
        await pilot.press("escape", "o")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, PickScreen)
        await pilot.press("down", "d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # asked, and no: nothing changes
        await pilot.pause()
        assert app.screen is picker and len(app.config_file.config.queries) == 2
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is picker  # still open, on what is left
        assert [q.name for q in app.config_file.config.queries] == ["first"]
        text = Path("config.toml").read_text()
        assert text.startswith("# my own comment\n") and "# keep me" in text and "second" not in text
        assert "Deleted 'second'" in app.sent_notifications[-1].message
        # The last one: the list closes, and nothing runs.
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is screen and screen._run is None and not screen._levels
        assert app.config_file.config.queries == [] and "[[queries]]" not in Path("config.toml").read_text()
        assert Path("config.toml").read_text().startswith("# my own comment\n")
