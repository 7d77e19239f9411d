"""Reading the [receiver] table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..dicom.validation import InvalidValue, check_ae_title, check_max_pdu
from .model import ReceiverOptions
from .problems import LineFinder, Problem
from .tables import check_table, true_or_false

DUPLICATE_POLICIES = ("keep-newest", "keep-first")


def check_receiver(raw: Any, lines: LineFinder, problems: list[Problem], notes: list[Problem]) -> ReceiverOptions:
    options = ReceiverOptions()
    checks = {
        "accept": _accept,
        "max_associations": lambda v: whole(v, 1, 64, "simultaneous associations"),
        "duplicates": _duplicates,
        "min_free_mb": lambda v: whole(v, 0, 10_000_000, "megabytes"),
        "max_pdu": lambda v: check_max_pdu(v) if not isinstance(v, str) else _text_number(v),
        "fsync": true_or_false,
        "workers": lambda v: whole(v, 1, 64, "processes"),
        "tls_port": lambda v: whole(v, 1, 65535, "(a port number)"),
        "tls_cert": _pem_file,
        "tls_key": _pem_file,
        "tls_ca": _pem_file,
    }
    check_table(raw, "receiver", options, checks, lines, problems, notes)
    if options.tls_port is not None and (options.tls_cert is None or options.tls_key is None):
        problems.append(Problem("[receiver] tls_port: a TLS listener needs tls_cert and tls_key (PEM files) as well",
                                lines.key("receiver", "tls_port")))
    return options


def _pem_file(value: Any) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"must be the path of a PEM file, as text, not {value!r}")
    path = Path(value).expanduser()
    if not path.is_file():
        raise InvalidValue(f"{path} does not exist or is not a file")
    return path


def _accept(value: Any) -> str | tuple[str, ...]:
    if value in ("any", "nodes"):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(check_ae_title(v) for v in value)
    raise InvalidValue('use "any", "nodes" (only the configured nodes) or a list of AE titles like ["CT1", "MR2"]')


def _duplicates(value: Any) -> str:
    if value in DUPLICATE_POLICIES:
        return value
    raise InvalidValue(f"use {' or '.join(repr(p) for p in DUPLICATE_POLICIES)}, not {value!r}")


def whole(value: Any, low: int, high: int, unit: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"must be a whole number of {unit} without quotes, not {value!r}")
    if not low <= value <= high:
        raise InvalidValue(f"must be from {low} to {high} {unit}, not {value}")
    return value


def _text_number(value: str) -> int:
    raise InvalidValue(f"write the number without quotes ({value!r} is text)")


