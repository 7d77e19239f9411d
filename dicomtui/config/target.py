"""TARGET on the command line: a node's name, "this machine" (the receiver, as the Worklist screen and its
presets name it), or AE@HOST:PORT for a node not in the config."""

from __future__ import annotations

import re

from ..dicom.validation import InvalidValue, check_ae_title, check_host, check_port
from .model import LOCAL_NODE, Config, Node

_ADDRESS = re.compile(r"^(?P<ae>.+)@(?P<host>\[[^\]]+\]|[^:@]+):(?P<port>[^:@]+)$")


def parse_address(text: str) -> tuple[str, str, int]:
    """Split AE@HOST:PORT (IPv6 as AE@[::1]:104) into checked parts."""
    match = _ADDRESS.match(text.strip())
    if not match:
        raise InvalidValue(
            f"{text!r} is not of the form AE@HOST:PORT (for example ORTHANC@10.0.0.5:4242)"
        )
    return (
        check_ae_title(match["ae"]),
        check_host(match["host"]),
        check_port(match["port"]),
    )


def local_node(config: Config) -> Node:
    """This machine's receiver as a node, named LOCAL_NODE: it serves the local archive and worklist."""
    bind = config.local.bind
    host = "127.0.0.1" if bind in ("", "0.0.0.0") else "::1" if bind == "::" else bind
    return Node(LOCAL_NODE, config.local.ae_title, host, config.local.port, description="this machine's receiver")


def resolve_target(text: str, config: Config) -> Node:
    """The node named `text` (a node of that name first, then "this machine"), or an unnamed node built from
    AE@HOST:PORT."""
    node = config.node(text)
    if node is not None:
        return node
    if text.strip().casefold() == LOCAL_NODE:
        return local_node(config)
    if "@" in text:
        ae_title, host, port = parse_address(text)
        return Node(name=text.strip(), ae_title=ae_title, host=host, port=port)
    known = ", ".join(config.node_names()) or "none are configured yet"
    raise InvalidValue(
        f"there is no node named {text!r} (nodes: {known}); give a node name, '{LOCAL_NODE}' or AE@HOST:PORT"
    )
