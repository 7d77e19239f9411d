"""Saved queries in the config file: [[queries]] tables written by the Query screen, kept through
reloads and hand edits, and every broken entry reported with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomtui import paths
from dicomtui.config import ConfigError, ConfigFile, SavedQuery, load
from dicomtui.dicom.validation import InvalidValue


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv(paths.CONFIG_ENV, raising=False)


HAND_WRITTEN = """\
# Our nodes; keep this comment.
[local]
ae_title = "WS1"  # us

[[nodes]]
name = "pacs"   # the main archive
ae_title = "PACS"
host = "10.0.0.5"
port = 104

[keymap]
echo = "e"
"""


@pytest.fixture
def path(tmp_path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    return path


def test_add_query_survives_a_reload_and_keeps_comments(path):
    store = ConfigFile(path)
    store.add_query(SavedQuery("CT this week", "pacs", "study", {"PatientName": "SMITH*", "ModalitiesInStudy": "CT"},
                               preset="7d"))
    text = path.read_text()
    assert "# Our nodes; keep this comment." in text and "# the main archive" in text and "[keymap]" in text
    assert "[[queries]]" in text and 'keys = {PatientName = "SMITH*", ModalitiesInStudy = "CT"}' in text
    loaded = load(path)
    assert loaded.ok and not loaded.notes
    assert loaded.config.queries == [SavedQuery("CT this week", "pacs", "study",
                                                {"PatientName": "SMITH*", "ModalitiesInStudy": "CT"}, "7d")]
    assert ConfigFile(path).config.query("ct THIS week") is not None


def test_second_query_then_remove_both(path):
    store = ConfigFile(path)
    store.add_query(SavedQuery("one", "pacs", keys={"PatientID": "1"}))
    store.add_query(SavedQuery("two", "pacs", "series", {"StudyInstanceUID": "1.2.3"}))
    assert [q.name for q in store.config.queries] == ["one", "two"]
    assert store.config.queries[1].level == "series"
    with pytest.raises(InvalidValue, match="already a saved query named 'ONE'"):
        store.add_query(SavedQuery("ONE", "pacs"))
    store.add_query(SavedQuery("one", "pacs", keys={"PatientID": "9"}), replace=True)
    assert {q.name: q.keys for q in store.config.queries} == {"two": {"StudyInstanceUID": "1.2.3"},
                                                               "one": {"PatientID": "9"}}
    store.remove_query("ONE")
    store.remove_query("two")
    assert store.config.queries == []
    text = path.read_text()
    assert "queries" not in text and "# the main archive" in text
    with pytest.raises(InvalidValue, match="no saved query named 'three'"):
        store.remove_query("three")


def test_hand_edit_between_changes_is_kept(path):
    store = ConfigFile(path)
    store.add_query(SavedQuery("one", "pacs"))
    path.write_text(path.read_text() + '\n[[queries]]\nname = "by hand"   # mine\nnode = "pacs"\n')
    store.add_query(SavedQuery("two", "pacs"))
    assert [q.name for q in store.config.queries] == ["one", "by hand", "two"]
    assert "# mine" in path.read_text()


def test_broken_entries_are_problems_with_lines(path):
    path.write_text(HAND_WRITTEN + """
[[queries]]
name = "ok"
node = "pacs"

[[queries]]
name = "bad level"
node = "pacs"
level = "frame"

[[queries]]
node = "pacs"
keys = { "Patient Name" = "X" }

[[queries]]
name = "ok"
node = "elsewhere"
preset = "last week"
colour = "red"
""")
    loaded = load(path)
    messages = {p.message: p.line for p in loaded.problems}
    assert messages == {
        "[[queries]] #2 ('bad level'): level: use one of patient, study, series, image, not 'frame'": 21,
        "[[queries]] #3: 'name' is missing; every saved query needs a name and a node": 23,
        "[[queries]] #3: keys: 'Patient Name' is not a DICOM keyword or a tag like (0010,0010)": 25,
        "[[queries]] #4 ('ok'): name: there is already a saved query named 'ok'": 28,
        "[[queries]] #4 ('ok'): preset: use one of 'any', 'today', 'yesterday', '7d', '30d', 'custom', "
        "not 'last week'": 30,
    }
    assert [n.message for n in loaded.notes] == ["[[queries]] #4 ('ok'): unknown key 'colour' is kept but not used"]
    # A broken file is never written over.
    with pytest.raises(ConfigError):
        ConfigFile(path).add_query(SavedQuery("new", "pacs"))


def test_unknown_node_is_a_note_so_removing_a_node_still_works(path):
    store = ConfigFile(path)
    store.add_query(SavedQuery("one", "pacs"))
    store.remove_node("pacs")
    assert store.problems == []
    assert [n.message for n in store.loaded.notes] == [
        "[[queries]] #1 ('one'): there is no node named 'pacs'; the query cannot run"]
    assert store.config.queries[0].node == "pacs"


def test_inline_queries_list_is_refused_for_changes(path):
    path.write_text(HAND_WRITTEN.replace("[local]", 'queries = [{name = "a", node = "pacs"}]\n[local]'))
    store = ConfigFile(path)
    assert [q.name for q in store.config.queries] == ["a"]
    with pytest.raises(InvalidValue, match=r"write each saved query as a \[\[queries\]\] table"):
        store.add_query(SavedQuery("b", "pacs"))
