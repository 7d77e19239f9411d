"""dicomtui config path|validate"""

from __future__ import annotations

import argparse
import sys

from ..config import load
from .common import EXIT_OK, EXIT_USAGE, Context


def add_parser(subparsers, parent: argparse.ArgumentParser) -> None:
    config = subparsers.add_parser("config", parents=[parent], help="find and check the config file",
                                   description="Show where the config file is, or check it.")
    actions = config.add_subparsers(dest="action", metavar="ACTION", required=True)
    path = actions.add_parser("path", parents=[parent], help="print the config file's path")
    path.set_defaults(run=run_path)
    validate = actions.add_parser("validate", parents=[parent],
                                  help="check the config file and list every problem")
    validate.set_defaults(run=run_validate)


def run_path(args: argparse.Namespace, ctx: Context) -> int:
    print(ctx.config_path)
    return EXIT_OK


def run_validate(args: argparse.Namespace, ctx: Context) -> int:
    loaded = load(ctx.config_path)
    if not loaded.exists:
        print(f"{ctx.config_path}: no config file yet; the defaults are in use (AE title "
              f"{loaded.config.local.ae_title}, port {loaded.config.local.port}, no nodes)")
        return EXIT_OK
    for note in loaded.notes:
        print(f"note: {note.format(ctx.config_path)}")
    if loaded.problems:
        # Problems are errors: stderr, like every other command's.
        for problem in loaded.problems:
            print(problem.format(ctx.config_path), file=sys.stderr)
        count = len(loaded.problems)
        print(f"{count} problem{'s' if count > 1 else ''}; the file was not changed.", file=sys.stderr)
        return EXIT_USAGE
    nodes = len(loaded.config.nodes)
    print(f"{ctx.config_path}: OK ({nodes} node{'s' if nodes != 1 else ''}, "
          f"local AE {loaded.config.local.ae_title} on port {loaded.config.local.port})")
    return EXIT_OK
