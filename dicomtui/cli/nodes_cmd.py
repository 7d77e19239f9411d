"""dicomtui nodes list|add|remove|show"""

from __future__ import annotations

import argparse
import time

from ..config import ConfigError, Node, parse_address
from ..dicom.validation import InvalidValue, check_max_pdu, check_node_name, check_timeout
from ..store.echo_log import EchoRecord
from .common import EXIT_OK, CliError, Context, config_error, print_json


def add_parser(subparsers, parent: argparse.ArgumentParser) -> None:
    nodes = subparsers.add_parser("nodes", parents=[parent], help="list and manage DICOM nodes",
                                  description="List, add, remove and show the DICOM nodes in the config.")
    actions = nodes.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", parents=[parent], help="list the nodes")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(run=run_list)

    add = actions.add_parser("add", parents=[parent], help="add a node",
                             description="Add a node, for example: dicomtui nodes add pacs PACS@10.0.0.5:104")
    add.add_argument("name", metavar="NAME", help="a short unique name, e.g. pacs")
    add.add_argument("address", metavar="AE@HOST:PORT", help="the node's AE title, host and port")
    add.add_argument("--description", default="", metavar="TEXT", help="a note shown next to the node")
    add.add_argument("--timeout", metavar="S", help="seconds for connecting and negotiating (default 10)")
    add.add_argument("--dimse-timeout", metavar="S", help="seconds to wait for each response (default 30)")
    add.add_argument("--max-pdu", metavar="BYTES", help="our maximum receive PDU for this node")
    add.set_defaults(run=run_add)

    remove = actions.add_parser("remove", parents=[parent], help="remove a node")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(run=run_remove)

    show = actions.add_parser("show", parents=[parent], help="show one node and its last echo")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true", help="print a JSON object")
    show.set_defaults(run=run_show)


def _summary(node: Node) -> dict:
    return {"name": node.name, "ae_title": node.ae_title, "host": node.host, "port": node.port,
            "description": node.description}


def _last_echo_text(record: EchoRecord | None) -> str:
    if record is None:
        return "never"
    ago = _ago(time.time() - record.at)
    if record.ok:
        return f"ok {record.rtt_ms:.1f} ms, {ago}" if record.rtt_ms is not None else f"ok, {ago}"
    return f"FAILED {ago}"


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 0):.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    config = ctx.config()
    if args.json:
        print_json([_summary(n) for n in config.nodes])
        return EXIT_OK
    if not config.nodes:
        print(f"No nodes yet. Add one: dicomtui nodes add NAME AE@HOST:PORT  (config: {ctx.config_path})")
        return EXIT_OK
    latest = ctx.echo_log().latest()
    rows = [("NAME", "AE TITLE", "HOST", "PORT", "LAST ECHO", "DESCRIPTION")]
    rows += [(n.name, n.ae_title, n.host, str(n.port), _last_echo_text(latest.get(n.name)), n.description)
             for n in config.nodes]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
    return EXIT_OK


def run_add(args: argparse.Namespace, ctx: Context) -> int:
    try:
        name = check_node_name(args.name)
        ae_title, host, port = parse_address(args.address)
        node = Node(
            name=name, ae_title=ae_title, host=host, port=port, description=args.description.strip(),
            timeout=check_timeout(args.timeout, "--timeout") if args.timeout is not None else None,
            dimse_timeout=(check_timeout(args.dimse_timeout, "--dimse-timeout")
                           if args.dimse_timeout is not None else None),
            max_pdu=check_max_pdu(args.max_pdu) if args.max_pdu is not None else None,
        )
        ctx.config_file().add_node(node)
    except InvalidValue as exc:
        raise CliError(str(exc)) from None
    except ConfigError as exc:
        raise config_error(exc) from None
    print(f"added node {node.name!r}: {node.address}  (config: {ctx.config_path})")
    return EXIT_OK


def run_remove(args: argparse.Namespace, ctx: Context) -> int:
    file = ctx.config_file()
    try:
        node = file.require_ok().require_node(args.name)
        file.remove_node(node.name)
    except InvalidValue as exc:
        raise CliError(str(exc)) from None
    except ConfigError as exc:
        raise config_error(exc) from None
    ctx.echo_log().forget(node.name)
    print(f"removed node {node.name!r} ({node.address})")
    return EXIT_OK


def run_show(args: argparse.Namespace, ctx: Context) -> int:
    try:
        node = ctx.config().require_node(args.name)
    except InvalidValue as exc:
        raise CliError(str(exc)) from None
    record = ctx.echo_log().latest().get(node.name)
    if args.json:
        print_json({
            **_summary(node),
            "timeout": node.timeout,
            "dimse_timeout": node.dimse_timeout,
            "max_pdu": node.max_pdu,
            "last_echo": None if record is None else {
                "at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(record.at)),
                "ok": record.ok, "rtt_ms": record.rtt_ms, "error": record.error,
            },
        })
        return EXIT_OK
    fields = [
        ("name", node.name), ("ae_title", node.ae_title), ("host", node.host), ("port", node.port),
        ("description", node.description or "-"),
        ("timeout", f"{node.timeout:g} s" if node.timeout else "default (10 s)"),
        ("dimse_timeout", f"{node.dimse_timeout:g} s" if node.dimse_timeout else "default (30 s)"),
        ("max_pdu", node.max_pdu if node.max_pdu is not None else "default"),
        ("last echo", _last_echo_text(record)),
    ]
    if record is not None and record.error:
        fields.append(("last error", record.error))
    for key, value in fields:
        print(f"{key + ':':<15}{value}")
    return EXIT_OK
