"""Entry point: no command starts the TUI, a command runs the CLI.

The CLI path must not import textual (scripts and cron start fast, and the engine stays
usable without a terminal): only the TUI branch imports it.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from .cli import build_parser

    parser = build_parser()
    namespace, _ = parser.parse_known_args(args)
    if namespace.command is None and not {"-h", "--help"} & set(args):
        parser.parse_args(args)  # reject unknown options with a usage message (exit 2)
        from .tui.run import run_tui

        return run_tui(getattr(namespace, "config", None), namespace.theme)
    from .cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
