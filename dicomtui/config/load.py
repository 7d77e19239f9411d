"""Reading the config file: every problem at once, never a half-read config used as if whole."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from ..dicom.validation import (
    InvalidValue,
    check_ae_title,
    check_charset,
    check_host,
    check_max_pdu,
    check_node_name,
    check_port,
    check_timeout,
)
from .model import Config, LocalAE, Node
from .problems import LineFinder, Problem
from .queries import check_queries
from .receiver_options import check_receiver
from .tables import check_entries, check_fields, check_table
from .transfer_options import check_transfers
from .ui_options import check_keymap, check_ui
from .worklist import check_worklist, check_worklist_presets

NODE_KEYS = {"name", "ae_title", "host", "port", "description", "timeout", "dimse_timeout", "max_pdu", "charset"}


@dataclass
class Loaded:
    """The outcome of reading a config file."""

    path: Path
    config: Config
    document: tomlkit.TOMLDocument | None  # None when the file could not be parsed
    exists: bool
    problems: list[Problem] = field(default_factory=list)  # the file must not be used or saved
    notes: list[Problem] = field(default_factory=list)  # worth knowing, harmless (unknown keys)
    crlf: bool = False  # written with Windows line endings; saving keeps them

    @property
    def ok(self) -> bool:
        return not self.problems


def load(path: Path) -> Loaded:
    """Read and check `path`. A missing file gives the defaults and no problem."""
    if not path.exists():
        return Loaded(path, Config(), tomlkit.document(), exists=False)
    try:
        text = read_text(path)
    except UnicodeDecodeError as exc:
        return _broken(path, f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8")
    except IsADirectoryError:
        return _broken(path, "this is a folder, not a config file; point --config at a .toml file")
    except OSError as exc:
        return _broken(path, f"cannot read the file: {exc.strerror}")
    try:
        document = tomlkit.parse(text)
    except TOMLKitError as exc:
        return _broken(path, *_explain_parse_error(exc, LineFinder(text)))
    config, problems, notes = check_document(document.unwrap(), LineFinder(text))
    return Loaded(path, config, document, True, problems, notes, crlf="\r\n" in text)


def read_text(path: Path) -> str:
    """The file's text exactly as written: line endings kept (save writes them back), BOM dropped."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return handle.read()


def _explain_parse_error(exc: TOMLKitError, lines: LineFinder) -> tuple[str, int | None]:
    message = str(exc).split(" at line ")[0]
    duplicate = re.match(r'Key "(.+)" already exists', message)
    if duplicate:
        # tomlkit reports a repeated table where the table ends, and a repeated key without
        # a line at all: point at the second occurrence instead.
        key = duplicate.group(1)
        return (f"{key!r} is written twice; keep one (each table and each key may appear only once)",
                lines.duplicate(key) or getattr(exc, "line", None))
    column = getattr(exc, "col", None)
    where = f" (column {column})" if column else ""
    return f"not valid TOML: {message}{where}", getattr(exc, "line", None)


def _broken(path: Path, message: str, line: int | None = None) -> Loaded:
    return Loaded(path, Config(), None, True, [Problem(message, line)])


def check_document(data: dict[str, Any], lines: LineFinder) -> tuple[Config, list[Problem], list[Problem]]:
    """Turn parsed TOML into a Config, collecting every problem instead of stopping at the first."""
    problems: list[Problem] = []
    notes: list[Problem] = []
    local = _check_local(data.get("local", {}), lines, problems, notes)
    nodes = _check_nodes(data.get("nodes", []), lines, problems, notes)
    receiver = check_receiver(data.get("receiver", {}), lines, problems, notes)
    queries = check_queries(data.get("queries", []), nodes, lines, problems, notes)
    transfers = check_transfers(data.get("transfers", {}), lines, problems, notes)
    worklist = check_worklist(data.get("worklist", {}), lines, problems, notes)
    presets = check_worklist_presets(data.get("worklist_presets", []), nodes, lines, problems, notes)
    ui = check_ui(data.get("ui", {}), lines, problems, notes)
    keymap = check_keymap(data.get("keymap", {}), lines, problems)
    config = Config(local=local, nodes=nodes, receiver=receiver, queries=queries, transfers=transfers,
                    worklist=worklist, worklist_presets=presets, ui=ui,
                    keymap=keymap)
    return config, problems, notes


def _check_local(raw: Any, lines: LineFinder, problems: list[Problem], notes: list[Problem]) -> LocalAE:
    local = LocalAE()
    checks = {
        "ae_title": check_ae_title,
        "port": _strict_int(check_port),
        "bind": check_host,
        "storage": _folder,
        "worklists": _folder,
    }
    check_table(raw, "local", local, checks, lines, problems, notes)
    return local


def _folder(value: Any) -> Path:
    if isinstance(value, str) and value.strip():
        return Path(value).expanduser()
    raise InvalidValue(f"must be the path of a folder, as text, not {value!r}")


def _check_nodes(raw: Any, lines: LineFinder, problems: list[Problem], notes: list[Problem]) -> list[Node]:
    names: list[str] = []

    def check(entry: dict[str, Any], index: int, label: str) -> Node | None:
        required = {
            "name": lambda v: check_node_name(v, names),
            "ae_title": check_ae_title,
            "host": check_host,
            "port": _strict_int(check_port),
        }
        optional = {
            "description": _text,
            "timeout": lambda v: check_timeout(_number(v), "the value"),
            "dimse_timeout": lambda v: check_timeout(_number(v), "the value"),
            "max_pdu": _strict_int(check_max_pdu),
            "charset": check_charset,
        }
        values = check_fields(entry, index, "nodes", label, required, optional,
                              "every node needs name, ae_title, host and port", lines, problems)
        if isinstance(entry.get("name"), str) and entry["name"].strip():
            # Every name counts for uniqueness, also a broken node's: all problems at once.
            names.append(entry["name"].strip())
        return None if values is None else Node(**values)

    return check_entries(raw, "nodes", "name, ae_title, host and port", NODE_KEYS, check, lines, problems, notes)


def _strict_int(check):
    """TOML has real integers: "104" in quotes is a mistake worth pointing out, not guessing."""

    def run(value: Any):
        if isinstance(value, str):
            raise InvalidValue(f"write the number without quotes ({value!r} is text)")
        if isinstance(value, float):
            raise InvalidValue(f"must be a whole number, not {value}")
        return check(value)

    return run


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue(f"must be a number of seconds, not {value!r}")
    return float(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"must be text in quotes, not {value!r}")
    return value
