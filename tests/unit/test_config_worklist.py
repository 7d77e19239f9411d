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


def test_preset_dates_are_checked_as_the_cli_checks_them(tmp_path):
    """One reading of a date for `--date`, the screen's form and the file: what one accepts the others accept."""
    from dicomtui.engine.worklist import resolve_date

    loaded = load(_write(tmp_path, """
[[worklist_presets]]
name = "week"
node = "ris"
date = "this-week"

[[worklist_presets]]
name = "iso"
node = "ris"
date = "2026-01-05-2026-01-09"

[[worklist_presets]]
name = "no such month"
node = "ris"
date = "20241301"

[[worklist_presets]]
name = "backwards"
node = "ris"
date = "20240131-20240101"
"""))
    assert [(p.name, p.date) for p in loaded.config.worklist_presets] == [
        ("week", "week"), ("iso", "2026-01-05-2026-01-09")]
    assert resolve_date("this-week") and resolve_date("2026-01-05-2026-01-09") == "20260105-20260109"
    by_line = {p.line: p.message for p in loaded.problems}
    assert len(by_line) == 2 and all(isinstance(line, int) for line in by_line)
    month, backwards = sorted(by_line)
    assert by_line[month] == ("[[worklist_presets]] #3 ('no such month'): date: '20241301' is not a valid date "
                              "(month must be in 1..12)")
    assert by_line[backwards].endswith("date: the range '20240131-20240101' ends before it starts")
    text = (tmp_path / "config.toml").read_text(encoding="utf-8").splitlines()
    assert text[month - 1] == 'date = "20241301"' and text[backwards - 1] == 'date = "20240131-20240101"'


def test_config_validate_names_the_line_of_a_bad_preset_date(tmp_path):
    from ..cli_runner import Home, run

    home = Home(tmp_path)
    home.config.parent.mkdir(parents=True)
    home.config.write_text(HEAD + '\n[[worklist_presets]]\nname = "CT"\nnode = "ris"\ndate = "20241301"\n',
                           encoding="utf-8")
    line = home.config.read_text(encoding="utf-8").splitlines().index('date = "20241301"') + 1
    result = run(home, "config", "validate")
    assert result.code == 2 and "Traceback" not in result.err, result
    assert result.err.splitlines()[0] == (f"{home.config}:{line}: [[worklist_presets]] #1 ('CT'): date: "
                                          "'20241301' is not a valid date (month must be in 1..12)"), result
