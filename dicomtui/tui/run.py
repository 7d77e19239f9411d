"""Starting the full-screen app (the only module the entry point imports from the TUI)."""

from __future__ import annotations

import os
import sys
import threading

from .. import paths
from ..config import ConfigFile
from ..store.echo_log import EchoLog


def run_tui(config_path: str | None = None, theme: str | None = None) -> int:
    from .app import DicomtuiApp

    app = DicomtuiApp(ConfigFile(paths.config_file(config_path)), EchoLog(paths.state_db()), theme=theme)
    app.run()
    code = app.return_code or 0
    if app.receiver is not None:
        # Instances in flight are finished (or given up after a grace period) before we go.
        app.receiver.stop(grace=10)
    if _threads_still_waiting():
        # A worker can still be waiting for a node that does not answer (up to its timeout),
        # and threads cannot be cancelled. The user asked to quit: the terminal is already
        # restored and every write the app makes is a committed transaction or an atomic
        # rename, so leaving now loses nothing.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _threads_still_waiting() -> bool:
    main = threading.main_thread()
    return any(t.is_alive() and not t.daemon and t is not main for t in threading.enumerate())
