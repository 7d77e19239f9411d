"""[worklist] and [[worklist_presets]]: read with every problem at once, written back keeping the file's comments."""

from __future__ import annotations

from pathlib import Path

from dicomtui.config import ConfigFile, WorklistPreset, load

HEAD = """\
# kept as written
[local]
ae_title = "DICOMTUI"   # ours

[[nodes]]
name = "ris"
ae_title = "RIS"
host = "127.0.0.1"
port = 104
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(HEAD + text, encoding="utf-8")
    return path


def test_presets_and_refresh_are_read(tmp_path):
    loaded = load(_write(tmp_path, """
[worklist]
refresh_seconds = 10

[[worklist_presets]]
name = "CT today"
node = "ris"
station = "CT01"
modality = "ct"
date = "today"

[[worklist_presets]]
name = "here"
node = "this machine"
date = "20260101-20260107"
"""))
    assert loaded.ok and not loaded.notes
    assert loaded.config.worklist.refresh_seconds == 10
    assert loaded.config.worklist_presets == [WorklistPreset("CT today", "ris", "CT01", "CT", "today"),
                                              WorklistPreset("here", "this machine", "", "", "20260101-20260107")]


def test_every_problem_at_once_and_a_missing_node_is_a_note(tmp_path):
    loaded = load(_write(tmp_path, """
[worklist]
refresh_seconds = 0

[[worklist_presets]]
name = "bad"
node = "ris"
date = "next tuesday"
station = "A_STATION_TITLE_TOO_LONG"

[[worklist_presets]]
name = "gone"
node = "old-ris"
"""))
    messages = [p.message for p in loaded.problems]
    assert any("refresh_seconds" in m and "from 1 to 86400" in m for m in messages)
    assert any("date:" in m and "next tuesday" in m for m in messages)
    assert any("station:" in m for m in messages)
    assert [p.node for p in loaded.config.worklist_presets] == ["old-ris"]
    assert any("no node named 'old-ris'" in n.message for n in loaded.notes)


def test_saving_and_deleting_keep_comments(tmp_path):
    path = _write(tmp_path, "")
    config = ConfigFile(path)
    config.add_worklist_preset(WorklistPreset("MR week", "ris", "MR01", "MR", "week"))
    text = path.read_text(encoding="utf-8")
    assert text.startswith(HEAD) and '[[worklist_presets]]\nname = "MR week"' in text
    assert 'date = "week"' in text
    config.add_worklist_preset(WorklistPreset("mr WEEK", "ris", "MR02"), replace=True)
    assert [(p.name, p.station) for p in config.config.worklist_presets] == [("mr WEEK", "MR02")]
    config.remove_worklist_preset("MR week")
    assert path.read_text(encoding="utf-8").rstrip() == HEAD.rstrip()
