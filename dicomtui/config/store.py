"""The config file as the faces use it: read, then change nodes safely.

Every change re-reads the file first, so edits made by hand while the app runs are not
overwritten, and refuses to write a file that has problems, so a broken file is never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from ..dicom.validation import InvalidValue, check_node_name
from . import save
from .load import Loaded, check_document, load
from .model import Config, Node, SavedQuery, WorklistPreset
from .problems import ConfigError, LineFinder, Problem
from .queries import check_query_name


class ConfigFile:
    """One config file on disk and what was last read from it."""

    def __init__(self, path: Path):
        self.path = path
        self.loaded: Loaded = load(path)

    @property
    def config(self) -> Config:
        return self.loaded.config

    @property
    def problems(self) -> list[Problem]:
        return self.loaded.problems

    def reload(self) -> Loaded:
        self.loaded = load(self.path)
        return self.loaded

    def require_ok(self) -> Config:
        """The config, or ConfigError listing every problem in the file."""
        if self.loaded.problems:
            raise ConfigError(self.path, self.loaded.problems)
        return self.loaded.config

    def add_node(self, node: Node) -> None:
        def change(document: tomlkit.TOMLDocument, config: Config) -> None:
            _check_name(node.name, config.node_names())
            save.add_node(document, node)

        self._change(change)

    def update_node(self, name: str, node: Node) -> None:
        def change(document: tomlkit.TOMLDocument, config: Config) -> None:
            current = config.require_node(name)
            others = [n for n in config.node_names() if n != current.name]
            _check_name(node.name, others)
            save.update_node(document, current.name, node)

        self._change(change)

    def remove_node(self, name: str) -> None:
        def change(document: tomlkit.TOMLDocument, config: Config) -> None:
            save.remove_node(document, config.require_node(name).name)

        self._change(change)

    def add_query(self, query: SavedQuery, *, replace: bool = False) -> None:
        """Keep a Query screen form under `query.name`; with `replace`, one of the same name goes first."""
        self._add_named(_QUERIES, query, replace)

    def remove_query(self, name: str) -> None:
        self._remove_named(_QUERIES, name)

    def add_worklist_preset(self, preset: WorklistPreset, *, replace: bool = False) -> None:
        """Keep a Worklist screen query under `preset.name`; with `replace`, one of the same name goes first."""
        self._add_named(_PRESETS, preset, replace)

    def remove_worklist_preset(self, name: str) -> None:
        self._remove_named(_PRESETS, name)

    def set_theme(self, name: str) -> None:
        """Keep the theme chosen in the app ([ui] theme), leaving the rest of the file as it is."""
        self._change(lambda document, _config: save.set_theme(document, name))

    def _add_named(self, kind: _Named, item: SavedQuery | WorklistPreset, replace: bool) -> None:
        def change(document: tomlkit.TOMLDocument, config: Config) -> None:
            current = kind.find(config, item.name)
            if current is not None and replace:
                kind.remove(document, current.name)
            taken = [entry.name for entry in kind.entries(config) if entry is not current or not replace]
            item.name = check_query_name(item.name, taken, kind.what)
            kind.add(document, item)

        self._change(change)

    def _remove_named(self, kind: _Named, name: str) -> None:
        def change(document: tomlkit.TOMLDocument, config: Config) -> None:
            current = kind.find(config, name)
            if current is None:
                known = ", ".join(entry.name for entry in kind.entries(config)) or "none yet"
                raise InvalidValue(f"there is no {kind.what} named {name!r} (saved: {known})")
            kind.remove(document, current.name)

        self._change(change)

    def _change(self, change: Callable[[tomlkit.TOMLDocument, Config], None]) -> None:
        loaded = self.reload()
        if loaded.problems or loaded.document is None:
            raise ConfigError(self.path, loaded.problems)
        document = loaded.document if loaded.exists else save.new_document()
        change(document, loaded.config)
        text = _same_line_endings(tomlkit.dumps(document), self.loaded)
        # Never write what we could not read back: the check runs on the new text first.
        _, problems, _ = check_document(tomlkit.parse(text).unwrap(), LineFinder(text))
        if problems:
            raise ConfigError(self.path, problems)
        save.write_atomic(self.path, text)
        self.reload()


@dataclass(frozen=True)
class _Named:
    """A list of named entries in the config file ([[queries]], [[worklist_presets]]): how to find, add, remove."""

    what: str  # "saved query": how messages name one
    entries: Callable[[Config], list]
    find: Callable[[Config, str], Any]
    add: Callable[[tomlkit.TOMLDocument, Any], None]
    remove: Callable[[tomlkit.TOMLDocument, str], None]


_QUERIES = _Named("saved query", lambda c: c.queries, Config.query, save.add_query, save.remove_query)
_PRESETS = _Named("worklist preset", lambda c: c.worklist_presets, Config.worklist_preset, save.add_worklist_preset,
                  save.remove_worklist_preset)


def _check_name(name: str, taken: list[str]) -> None:
    check_node_name(name, taken)


def _same_line_endings(text: str, loaded: Loaded) -> str:
    """New lines from tomlkit are "\n"; a file written with CRLF stays CRLF throughout."""
    if loaded.exists and loaded.crlf:
        return text.replace("\r\n", "\n").replace("\n", "\r\n")
    return text
