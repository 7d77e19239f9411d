"""Building the real app around a config file and state database in a temp folder."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from dicomtui.config import ConfigFile
from dicomtui.store.echo_log import EchoLog
from dicomtui.tui.app import DicomtuiApp

# A config as a user would write it: comments, an unknown table, an unknown key.
SAMPLE_CONFIG = """\
# Radiology nodes, maintained by the PACS team.
[local]
ae_title = "DICOMTUI"   # our calling AE
port = 11112

[keymap]   # keys by binding id; must survive saves
"nodes.echo" = "e"

[[nodes]]
name = "archive"
ae_title = "ARCHIVE"
host = "127.0.0.1"
port = {archive_port}
description = "main archive"
site = "basement"   # unknown key, kept

[[nodes]]
name = "ct-scanner"
ae_title = "CT01"
host = "127.0.0.1"
port = {ct_port}
"""

# A fixed moment for snapshots: 2026-01-15 10:30:00 UTC.
FIXED_TIME = 1768473000.0


@pytest.fixture
def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., DicomtuiApp]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    # A relative config path: the screens show it, and snapshots must not depend on tmp_path.
    monkeypatch.chdir(tmp_path)

    def make(config_text: str | None = None, records: list[dict] | tuple = ()) -> DicomtuiApp:
        path = Path("config.toml")
        if config_text is not None:
            path.write_text(config_text, encoding="utf-8")
        log = EchoLog(tmp_path / "state.sqlite3")
        for record in records:
            log.record(**record)
        app = DicomtuiApp(ConfigFile(path), log, receiver=False)
        _record_notifications(app)
        return app

    yield make
    monkeypatch.delenv("TZ")
    time.tzset()


def _record_notifications(app: DicomtuiApp) -> None:
    """Keep every notification as `app.sent_notifications` (message, title), through the public notify."""
    sent: list[SimpleNamespace] = []
    original = app.notify

    def notify(message, *args, **kwargs):
        sent.append(SimpleNamespace(message=str(message), title=kwargs.get("title", "")))
        return original(message, *args, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    app.sent_notifications = sent  # type: ignore[attr-defined]
