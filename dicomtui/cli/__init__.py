"""The command line face: argparse subcommands over the engine, for scripts and cron.

Exit codes are a promise to users' scripts: 0 success, 1 the operation ran but failed,
2 usage or bad input, 3 no association, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from .. import paths
from . import (
    archive_cmd,
    config_cmd,
    echo_cmd,
    find_cmd,
    jobs_cmd,
    nodes_cmd,
    retrieve_cmd,
    send_cmd,
    serve_cmd,
    worklist_cmd,
)
from .common import EXIT_INTERRUPTED, CliError, Context, hard_exit

COMMANDS = (echo_cmd, find_cmd, worklist_cmd, retrieve_cmd, send_cmd, jobs_cmd, nodes_cmd, config_cmd, serve_cmd,
            archive_cmd)


def build_parser() -> argparse.ArgumentParser:
    # --config is accepted before or after the subcommand; SUPPRESS keeps a later default
    # from overwriting an earlier value.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help=f"config file (default: ${paths.CONFIG_ENV} or {paths.config_file()})")
    parser = argparse.ArgumentParser(
        prog="dicomtui",
        description="A terminal console for DICOM networks. Without a command, starts the full-screen app.",
        parents=[common],
    )
    parser.add_argument("--theme", metavar="NAME", help="the app's theme for this run (the command palette's "
                        "'Change theme' keeps one): dicomtui-dark, dicomtui-light, dicomtui-contrast or your own")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers, common)
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = Context(config_path=paths.config_file(getattr(args, "config", None)))
    try:
        return args.run(args, ctx)
    except CliError as exc:
        print(f"dicomtui: {exc.message}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("dicomtui: interrupted", file=sys.stderr)
        hard_exit(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `dicomtui nodes list | head` is not an error.
        return 0
