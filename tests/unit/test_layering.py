"""The engine, config, store and CLI never import textual: scripts and cron start fast, and
the engine is usable without a terminal. Only dicomtui/tui/ may import it."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import dicomtui

PACKAGE = Path(dicomtui.__file__).resolve().parent
HEADLESS = ("engine", "dicom", "config", "store", "cli")

PROBE = """
import json, sys
assert not any(m == "textual" or m.startswith("textual.") for m in sys.modules), "textual preloaded"
import dicomtui.engine.echo, dicomtui.engine.association, dicomtui.config, dicomtui.store.echo_log, dicomtui.cli
code = dicomtui.cli.main(["nodes", "list"])
print(json.dumps({
    "code": code,
    "textual": sorted(m for m in sys.modules if m == "textual" or m.startswith("textual.")),
    "dicomtui": sorted(m for m in sys.modules if m.startswith("dicomtui")),
}))
"""


def test_headless_import_and_cli_run_do_not_load_textual(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DICOMTUI_CONFIG"}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    assert "No nodes yet" in proc.stdout  # the command really ran
    assert report["textual"] == []
    # The probe did load what it claims to check (so an empty list above means something).
    for module in ("dicomtui.engine.echo", "dicomtui.engine.association", "dicomtui.config",
                   "dicomtui.store.echo_log", "dicomtui.cli", "dicomtui.cli.nodes_cmd"):
        assert module in report["dicomtui"]
    assert not any(m.startswith("dicomtui.tui") for m in report["dicomtui"])


def _textual_imports(source: str, label: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename=label)):  # also imports inside functions
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            if name == "textual" or name.startswith("textual."):
                found.append(f"{label}:{node.lineno}: imports {name}")
    return found


def test_headless_packages_have_no_textual_import_line():
    files = [f for folder in HEADLESS for f in sorted((PACKAGE / folder).rglob("*.py"))]
    for folder in HEADLESS:  # the walk found the code, not an empty or renamed folder
        assert any(f.parent == PACKAGE / folder and f.name != "__init__.py" for f in files), folder
    offenders = [hit for f in files
                 for hit in _textual_imports(f.read_text(encoding="utf-8"), str(f.relative_to(PACKAGE.parent)))]
    assert offenders == []


def test_the_import_scan_catches_every_form():
    source = ("import os\nimport textual\nfrom textual.app import App\n"
              "def f():\n    import json, textual.widgets as w\n"
              "from textualize import x\nfrom . import textual_free\n"
              "# import textual\ntext = 'from textual import App'\n")
    assert _textual_imports(source, "probe.py") == [
        "probe.py:2: imports textual",
        "probe.py:3: imports textual.app",
        "probe.py:5: imports textual.widgets",
    ]
