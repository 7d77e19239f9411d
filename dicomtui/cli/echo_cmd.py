"""dicomtui echo TARGET [--count N] [--timeout S] [--json]"""

from __future__ import annotations

import argparse
import sys

from ..dicom.validation import InvalidValue, check_timeout
from .common import (
    EXIT_FAILED,
    EXIT_NO_ASSOCIATION,
    EXIT_OK,
    CliError,
    Context,
    log_journal,
    print_json,
    run_interruptible,
)


def add_parser(subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "echo",
        parents=[parent],
        help="check a node with C-ECHO",
        description="Send C-ECHO to a node and report whether it answers and how fast.",
    )
    parser.add_argument("target", metavar="TARGET", help="a node name, 'this machine' or AE@HOST:PORT")
    parser.add_argument("--count", type=int, default=1, metavar="N",
                        help="number of C-ECHOs on one association (default 1)")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds to wait for the connection and each answer (default: the node's, or 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    # pynetdicom (with pydicom and numpy) takes ~0.2 s to import: only commands that talk
    # DICOM pay for it, not `nodes list` or the TUI's start.
    from ..engine.echo import EchoResult, echo

    if args.count < 1:
        raise CliError(f"--count must be 1 or more, not {args.count}")
    try:
        timeout = check_timeout(args.timeout, "--timeout") if args.timeout is not None else None
    except InvalidValue as exc:
        raise CliError(str(exc)) from None
    config, node = ctx.target(args.target)
    known = config.node(args.target) is not None

    if not args.json:
        print(f"C-ECHO {node.address} from {config.local.ae_title}", flush=True)

    def on_reply(number: int, rtt_ms: float) -> None:
        if not args.json:
            print(f"reply {number}: {rtt_ms:.2f} ms", flush=True)

    result: EchoResult = run_interruptible(
        lambda cancel: echo(node, config.local.ae_title, count=args.count, timeout=timeout,
                            cancel=cancel, on_reply=on_reply, journal=log_journal(f"echo {node.name}"))
    )
    result.target = args.target
    if known:
        ctx.echo_log().record_result(node.name, result)

    if args.json:
        print_json({"target": result.target, "ok": result.ok, "rtt_ms": result.rtt_ms, "error": result.error})
    elif result.ok:
        rtts = result.rtt_ms
        print(f"ok: {len(rtts)}/{args.count} replies, rtt min/avg/max "
              f"{min(rtts):.2f}/{sum(rtts) / len(rtts):.2f}/{max(rtts):.2f} ms "
              f"(association {result.association_ms:.1f} ms)")
    if not result.ok:
        print(f"dicomtui: echo {args.target}: {result.error}", file=sys.stderr)
        return EXIT_NO_ASSOCIATION if result.no_association else EXIT_FAILED
    return EXIT_OK
