"""Checks for what users type: AE titles, ports, host names, node names.

Each check returns the cleaned value or raises `InvalidValue` with a sentence a PACS
administrator can act on. The TUI form, the CLI and the config loader share them, so a
value is judged the same way wherever it is entered.
"""

from __future__ import annotations

import ipaddress
import re

AE_TITLE_MAX = 16


class InvalidValue(ValueError):
    """A value a user entered is not acceptable; str() is the explanation."""


def _ascii_digits(text: str) -> bool:
    # str.isdigit() is also true for '²' and other scripts' digits, which int() then refuses.
    return text.isascii() and text.isdigit()


def check_ae_title(value: str) -> str:
    """Return the AE title without insignificant leading/trailing spaces.

    PS3.5 6.2: at most 16 characters of the default character repertoire (printable
    ASCII), no backslash, no control characters; spaces at either end are not
    significant, and a title of only spaces is not a title.
    """
    if not isinstance(value, str):
        raise InvalidValue(f"an AE title must be text, not {value!r}")
    title = value.strip(" ")
    if not title:
        raise InvalidValue("the AE title is empty; give 1 to 16 characters, for example STORESCP")
    if len(title) > AE_TITLE_MAX:
        raise InvalidValue(
            f"the AE title {title!r} has {len(title)} characters; DICOM allows at most {AE_TITLE_MAX}"
        )
    for ch in title:
        if ch == "\\":
            raise InvalidValue(f"the AE title {title!r} contains a backslash, which DICOM does not allow")
        if not (" " <= ch <= "~"):
            what = "a control character" if ord(ch) < 32 or ord(ch) == 127 else f"the character {ch!r}"
            raise InvalidValue(
                f"the AE title {title!r} contains {what}; use only plain ASCII letters, digits, "
                "spaces and punctuation"
            )
    return title


def check_port(value: object) -> int:
    """Return a TCP port number from an int or a string of digits."""
    if isinstance(value, bool):
        raise InvalidValue(f"the port must be a whole number from 1 to 65535, not {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not _ascii_digits(text):
            raise InvalidValue(f"the port must be a whole number from 1 to 65535, not {value!r}")
        value = int(text)
    if not isinstance(value, int):
        raise InvalidValue(f"the port must be a whole number from 1 to 65535, not {value!r}")
    if not 1 <= value <= 65535:
        raise InvalidValue(
            f"the port {value} is out of range; use a number from 1 to 65535 (DICOM often uses 104 or 11112)"
        )
    return value


# RFC 1123 labels; underscores are tolerated because many hospital networks have them
# in internal names and every common resolver accepts them.
_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def check_host(value: str) -> str:
    """Return a host name or IP address (IPv6 without brackets)."""
    if not isinstance(value, str):
        raise InvalidValue(f"the host must be a name or an IP address, not {value!r}")
    host = value.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise InvalidValue("the host is empty; give a host name (pacs.example.org) or an IP address (10.0.0.5)")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", host):
        raise InvalidValue(f"{host!r} is not a valid IPv4 address (four numbers from 0 to 255, like 10.0.0.5)")
    if ":" in host:
        raise InvalidValue(f"{host!r} is not a valid IPv6 address")
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise InvalidValue(
            f"{host!r} is not a valid host name; use letters, digits, hyphens and dots "
            "(like pacs.example.org) or an IP address"
        )
    return host


def check_node_name(value: str, existing: list[str] | tuple[str, ...] = ()) -> str:
    """Return a node name that is non-empty, printable and not already taken."""
    if not isinstance(value, str):
        raise InvalidValue(f"the node name must be text, not {value!r}")
    name = value.strip()
    if not name:
        raise InvalidValue("the node name is empty; give a short name such as 'pacs' or 'ct-scanner-2'")
    if len(name) > 64:
        raise InvalidValue(f"the node name has {len(name)} characters; keep it to 64 or fewer")
    if any(not ch.isprintable() for ch in name):
        raise InvalidValue("the node name contains control characters")
    if "@" in name:
        raise InvalidValue(f"the node name {name!r} contains '@', which is reserved for AE@HOST:PORT targets")
    if name.casefold() in {other.casefold() for other in existing}:
        raise InvalidValue(f"a node named {name!r} already exists; choose another name")
    return name


def check_timeout(value: object, what: str = "the timeout") -> float:
    """Return a positive number of seconds; `what` names the value in messages ("--timeout")."""
    if isinstance(value, bool):
        raise InvalidValue(f"{what} must be a number of seconds, not {value!r}")
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidValue(f"{what} must be a number of seconds, not {value!r}") from None
    if not 0 < seconds <= 3600 or seconds != seconds:
        raise InvalidValue(f"{what} must be more than 0 and at most 3600 seconds, not {value!r}")
    return seconds


def check_max_pdu(value: object) -> int:
    """Return a maximum PDU length: 0 (unlimited) or 4096..2**32-1 bytes (PS3.8 D.1)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidValue(f"the maximum PDU size must be a whole number of bytes, not {value!r}")
    if isinstance(value, str):
        if not _ascii_digits(value.strip()):
            raise InvalidValue(f"the maximum PDU size must be a whole number of bytes, not {value!r}")
        value = int(value)
    if value != 0 and not 4096 <= value <= 0xFFFFFFFF:
        raise InvalidValue(
            f"the maximum PDU size {value} is out of range; use 0 for unlimited or 4096 to 4294967295 bytes "
            "(16384 or 65536 are common)"
        )
    return value


def check_charset(value: object) -> str:
    """A DICOM Specific Character Set term pydicom can decode, e.g. 'ISO_IR 192' or 'GB18030'."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"the character set must be a DICOM term like 'ISO_IR 192', not {value!r}")
    from ..engine.loading import import_engine  # pydicom, never from two threads at once

    python_encoding = import_engine("pydicom.charset").python_encoding
    term = value.strip()
    if term not in python_encoding:
        known = ", ".join(sorted(k for k in python_encoding if k))
        raise InvalidValue(f"{term!r} is not a DICOM character set pydicom knows; use one of {known}")
    return term
