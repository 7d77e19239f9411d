"""Changing the config file: edit the parsed document in place, then replace the file atomically.

Editing the tomlkit document (not re-serialising our dataclasses) is what keeps the user's
comments, key order and keys we do not know about.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import tomlkit
from tomlkit.items import AoT, Table

from ..dicom.validation import InvalidValue
from .model import DEFAULT_AE_TITLE, DEFAULT_BIND, DEFAULT_PORT, Node, SavedQuery, WorklistPreset

_HEADER = f"""\
# dicomtui configuration. Edit it by hand or from the app; comments and order are kept.
# Docs: the README's "Configuration" section.

[local]
# This machine as a DICOM node: the AE title we call with, and where the receiver listens.
ae_title = "{DEFAULT_AE_TITLE}"
port = {DEFAULT_PORT}
bind = "{DEFAULT_BIND}"
# storage = "/srv/dicom"   # default: the 'storage' folder in the data directory
# worklists = "/srv/worklists"   # .wl files of the local worklist; default: 'worklists' in the data directory
"""


def new_document() -> tomlkit.TOMLDocument:
    return tomlkit.parse(_HEADER)


def _node_tables(document: tomlkit.TOMLDocument, name: str = "nodes") -> AoT:
    what = {"nodes": "node", "queries": "saved query", "worklist_presets": "worklist preset"}[name]
    tables = document.get(name)
    if tables is not None and not isinstance(tables, AoT):
        if len(tables):
            raise InvalidValue(
                f"the {name} in the config file are written as one inline list; write each {what} as a "
                f"[[{name}]] table to change {name} from dicomtui"
            )
        del document[name]  # `nodes = []`: replaced by real tables below
        tables = None
    if tables is None:
        document.add(tomlkit.nl())
        document.append(name, tomlkit.aot())
    return document[name]


def _find(tables: AoT, name: str) -> int:
    key = name.casefold()
    for index, table in enumerate(tables):
        if str(table.get("name", "")).casefold() == key:
            return index
    raise KeyError(name)


def _fill(table: Table, node: Node) -> None:
    table["name"] = node.name
    table["ae_title"] = node.ae_title
    table["host"] = node.host
    table["port"] = node.port
    optional = {
        "description": node.description or None,
        "timeout": node.timeout,
        "dimse_timeout": node.dimse_timeout,
        "max_pdu": node.max_pdu,
        "charset": node.charset,
    }
    for key, value in optional.items():
        if value is None:
            if key in table:
                del table[key]
        else:
            table[key] = value


def add_node(document: tomlkit.TOMLDocument, node: Node) -> None:
    table = tomlkit.table()
    _fill(table, node)
    _append(_node_tables(document), table)


def _append(tables: AoT, table: Table) -> None:
    if len(tables):
        # One blank line between tables, as a person would write them. If the last node
        # already ends with one, something follows the nodes (another table): the new table
        # goes after that blank line and brings its own, so what follows stays apart.
        if tables[-1].as_string().endswith("\n\n"):
            table.add(tomlkit.nl())
        else:
            tables[-1].add(tomlkit.nl())
    tables.append(table)


def update_node(document: tomlkit.TOMLDocument, name: str, node: Node) -> None:
    tables = _node_tables(document)
    _fill(tables[_find(tables, name)], node)


def remove_node(document: tomlkit.TOMLDocument, name: str) -> None:
    tables = _node_tables(document)
    del tables[_find(tables, name)]
    if not len(tables):
        # An empty array of tables would be written as `nodes = []` at the top of the file.
        del document["nodes"]


def add_query(document: tomlkit.TOMLDocument, query: SavedQuery) -> None:
    table = tomlkit.table()
    table["name"] = query.name
    table["node"] = query.node
    table["level"] = query.level
    keys = tomlkit.inline_table()
    keys.update(query.keys)
    table["keys"] = keys
    if query.preset is not None:
        table["preset"] = query.preset
    _append(_node_tables(document, "queries"), table)


def remove_query(document: tomlkit.TOMLDocument, name: str) -> None:
    _remove(document, "queries", name)


def add_worklist_preset(document: tomlkit.TOMLDocument, preset: WorklistPreset) -> None:
    table = tomlkit.table()
    table["name"] = preset.name
    table["node"] = preset.node
    for key in ("station", "modality", "date"):
        if getattr(preset, key):
            table[key] = getattr(preset, key)
    _append(_node_tables(document, "worklist_presets"), table)


def remove_worklist_preset(document: tomlkit.TOMLDocument, name: str) -> None:
    _remove(document, "worklist_presets", name)


def _remove(document: tomlkit.TOMLDocument, tables_name: str, name: str) -> None:
    tables = _node_tables(document, tables_name)
    del tables[_find(tables, name)]
    if not len(tables):
        # An empty array of tables would be written as `name = []` at the top of the file.
        del document[tables_name]


def set_theme(document: tomlkit.TOMLDocument, name: str) -> None:
    """theme = NAME in [ui], which is added at the end if the file has none; the rest stays as it was."""
    table = document.get("ui")
    if not isinstance(table, Table):
        table = tomlkit.table()
        document.add(tomlkit.nl())
        document.add("ui", table)
    table["theme"] = name


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that a crash leaves either the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    # Make the rename itself durable.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
