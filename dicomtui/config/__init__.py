"""The TOML config: local AE settings and the DICOM nodes the user manages."""

from .load import Loaded, load
from .model import DEFAULT_AE_TITLE, DEFAULT_PORT, DEFAULT_TIMEOUT, Config, LocalAE, Node, SavedQuery
from .problems import ConfigError, Problem
from .store import ConfigFile
from .target import parse_address, resolve_target

__all__ = [
    "DEFAULT_AE_TITLE",
    "DEFAULT_PORT",
    "DEFAULT_TIMEOUT",
    "Config",
    "ConfigError",
    "ConfigFile",
    "Loaded",
    "LocalAE",
    "Node",
    "Problem",
    "SavedQuery",
    "load",
    "parse_address",
    "resolve_target",
]
