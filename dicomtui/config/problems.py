"""Problems found in a config file, with the line they are on where it can be found."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    message: str
    line: int | None = None

    def format(self, path: Path | str) -> str:
        where = f"{path}:{self.line}" if self.line else str(path)
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """The config file cannot be used or changed; `problems` says why, all at once."""

    def __init__(self, path: Path, problems: list[Problem]):
        self.path = path
        self.problems = problems
        super().__init__("\n".join(p.format(path) for p in problems))


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]#]+?)\s*\]\]?\s*(?:#.*)?$")


class LineFinder:
    """Finds the line of a table or a key in TOML text.

    tomlkit does not keep line numbers on items, so this scans the text the way a reader
    would: good enough for the hand-written files users have, None when unsure.
    """

    def __init__(self, text: str):
        self._lines = text.splitlines()
        # (line number, header name, occurrence index for [[arrays]])
        self._headers: list[tuple[int, str, int]] = []
        seen: dict[str, int] = {}
        for number, line in enumerate(self._lines, start=1):
            match = _HEADER.match(line)
            if match:
                name = match.group(2).strip()
                index = seen.get(name, 0)
                seen[name] = index + 1
                self._headers.append((number, name, index))

    def duplicate(self, key: str) -> int | None:
        """Line of the second [key] header, or of the second `key =` in one table."""
        tables_seen: set[str] = set()
        keys_seen: set[str] = set()
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number, line in enumerate(self._lines, start=1):
            match = _HEADER.match(line)
            if match:
                keys_seen = set()
                if match.group(1) == "[":
                    name = match.group(2).strip()
                    if name == key and name in tables_seen:
                        return number
                    tables_seen.add(name)
            elif pattern.match(line):
                if key in keys_seen:
                    return number
                keys_seen.add(key)
        return None

    def table(self, name: str, index: int = 0) -> int | None:
        for number, header, occurrence in self._headers:
            if header == name and occurrence == index:
                return number
        return None

    def key(self, table: str | None, key: str, index: int = 0) -> int | None:
        """Line of `key = ...` inside [table] (or the index-th [[table]]); top level if table is None."""
        start = 0 if table is None else self.table(table, index)
        if start is None:
            return None
        end = next((n for n, _, _ in self._headers if n > start), len(self._lines) + 1)
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(start + 1 if table else 1, end):
            if pattern.match(self._lines[number - 1]):
                return number
        return start or None
