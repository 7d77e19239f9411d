"""The TOML config: local AE settings and the DICOM nodes the user manages."""

from .load import Loaded, load
from .model import (
    DEFAULT_AE_TITLE,
    DEFAULT_PORT,
    DEFAULT_TIMEOUT,
    LOCAL_NODE,
    Config,
    LocalAE,
    Node,
    SavedQuery,
    WorklistPreset,
)
from .problems import ConfigError, Problem
from .store import ConfigFile
from .target import parse_address, resolve_target

__all__ = [
    "DEFAULT_AE_TITLE",
    "DEFAULT_PORT",
    "DEFAULT_TIMEOUT",
    "LOCAL_NODE",
    "Config",
    "ConfigError",
    "ConfigFile",
    "Loaded",
    "LocalAE",
    "Node",
    "Problem",
    "SavedQuery",
    "WorklistPreset",
    "load",
    "parse_address",
    "resolve_target",
]
