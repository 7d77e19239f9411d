"""Where dicomtui keeps its files.

platformdirs follows XDG_CONFIG_HOME / XDG_DATA_HOME on Linux, which is how tests and
users relocate everything; `--config` or DICOMTUI_CONFIG point at another config file.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "dicomtui"
CONFIG_ENV = "DICOMTUI_CONFIG"


def config_dir() -> Path:
    return platformdirs.user_config_path(APP_NAME)


def config_file(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: an explicit path, else $DICOMTUI_CONFIG, else the default."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return config_dir() / "config.toml"


def data_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME)


def default_storage_dir() -> Path:
    return data_dir() / "storage"


def default_worklist_dir() -> Path:
    """The local worklist's `.wl` files, beside the archive's default folder."""
    return data_dir() / "worklists"


def state_db() -> Path:
    """SQLite file for state the app keeps between runs (last echo results, and later jobs)."""
    return data_dir() / "state.sqlite3"


def jobs_db() -> Path:
    """SQLite file of the transfer queue: a file of its own, so its schema evolves apart from state_db's."""
    return data_dir() / "jobs.sqlite3"


def associations_db() -> Path:
    """SQLite file of the association log: every association opened or accepted, by any dicomtui process."""
    return data_dir() / "associations.sqlite3"
