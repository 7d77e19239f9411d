"""Starting the full-screen app (the only module the entry point imports from the TUI)."""

from __future__ import annotations

from .. import paths
from ..config import ConfigFile
from ..store.echo_log import EchoLog


def run_tui(config_path: str | None = None) -> int:
    from .app import DicomtuiApp

    app = DicomtuiApp(ConfigFile(paths.config_file(config_path)), EchoLog(paths.state_db()))
    app.run()
    return app.return_code or 0
