"""The config file as the faces use it: read, then change nodes safely.

Every change re-reads the file first, so edits made by hand while the app runs are not
overwritten, and refuses to write a file that has problems, so a broken file is never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import tomlkit

from ..dicom.validation import InvalidValue, check_node_name
from . import save
from .load import Loaded, check_document, load
from .model import Config, Node, SavedQuery
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

        def change(document: tomlkit.TOMLDocument, config: Config) -> None:
            current = config.query(query.name)
            if current is not None and replace:
                save.remove_query(document, current.name)
            taken = [q.name for q in config.queries if q is not current or not replace]
            query.name = check_query_name(query.name, taken)
            save.add_query(document, query)

        self._change(change)

    def remove_query(self, name: str) -> None:
        def change(document: tomlkit.TOMLDocument, config: Config) -> None:
            current = config.query(name)
            if current is None:
                known = ", ".join(q.name for q in config.queries) or "none yet"
                raise InvalidValue(f"there is no saved query named {name!r} (saved: {known})")
            save.remove_query(document, current.name)

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


def _check_name(name: str, taken: list[str]) -> None:
    check_node_name(name, taken)


def _same_line_endings(text: str, loaded: Loaded) -> str:
    """New lines from tomlkit are "\n"; a file written with CRLF stays CRLF throughout."""
    if loaded.exists and loaded.crlf:
        return text.replace("\r\n", "\n").replace("\n", "\r\n")
    return text
