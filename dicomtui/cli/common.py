"""What every subcommand shares: exit codes, errors in words, loading the config, Ctrl-C."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .. import paths
from ..config import Config, ConfigError, ConfigFile, Node, resolve_target
from ..dicom.validation import InvalidValue
from ..store.echo_log import EchoLog

EXIT_OK = 0
EXIT_FAILED = 1  # the operation ran but something failed
EXIT_USAGE = 2  # usage or bad input
EXIT_NO_ASSOCIATION = 3  # refused, timed out, rejected, aborted
EXIT_INTERRUPTED = 130

T = TypeVar("T")


class CliError(Exception):
    """Ends the command with `code` after printing `message` to stderr."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        self.message = message
        self.code = code
        super().__init__(message)


@dataclass
class Context:
    """What a subcommand gets besides its arguments."""

    config_path: Path

    def config_file(self) -> ConfigFile:
        return ConfigFile(self.config_path)

    def config(self) -> Config:
        """The config, or exit 2 listing every problem in the file (which is left untouched)."""
        try:
            return self.config_file().require_ok()
        except ConfigError as exc:
            raise config_error(exc) from None

    def target(self, text: str) -> tuple[Config, Node]:
        """The config and the node TARGET names (a node name, "this machine" or AE@HOST:PORT), or exit 2 saying why."""
        config = self.config()
        try:
            return config, resolve_target(text, config)
        except InvalidValue as exc:
            raise CliError(str(exc)) from None

    def echo_log(self) -> EchoLog:
        return EchoLog(paths.state_db())


def config_error(exc: ConfigError) -> CliError:
    lines = [f"the config file {exc.path} has problems; it was not changed:"]
    lines += [f"  {p.format(exc.path)}" for p in exc.problems]
    lines.append("Fix them in the file ('dicomtui config validate' checks it) and try again.")
    return CliError("\n".join(lines), EXIT_USAGE)


def exit_code(result: Any, what: str) -> int:
    """EXIT_OK for a result that is ok; else its error on stderr ("dicomtui: find PACS: ...") and the
    code for it. `result` has ok, error and no_association, as the engine's results do."""
    if result.ok:
        return EXIT_OK
    print(f"dicomtui: {what}: {result.error}", file=sys.stderr)
    return EXIT_NO_ASSOCIATION if result.no_association else EXIT_FAILED


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


JOB_GRACE_SECONDS = 5.0  # a job releases its associations and records itself (a slow peer needs a second or two)


def run_interruptible(work: Callable[[threading.Event], T], grace: float = 1.0) -> T:
    """Run `work(cancel)` in a thread so Ctrl-C is answered at once.

    The main thread only waits; on Ctrl-C it sets `cancel`, gives the work up to `grace`
    seconds to end its association cleanly (JOB_GRACE_SECONDS for a job, which records how
    it stopped), and then leaves even if a network call is still stuck.
    """
    cancel = threading.Event()
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work(cancel)
        except BaseException as exc:  # handed to the main thread below
            outcome["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=target, name="dicomtui-cli-work", daemon=True)
    thread.start()
    try:
        # An Event, not thread.join(): a join that Ctrl-C interrupts leaves the thread looking finished
        # (CPython before 3.13), so the grace below would not wait and a job would be left "running".
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        cancel.set()
        done.wait(grace)  # a second Ctrl-C cuts this short
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def hard_exit(code: int) -> None:
    """Exit now even if a pynetdicom thread (not a daemon) is still waiting on the network."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def log_journal(origin: str):
    """Where a command's associations are logged (the data folder's association log), as caused by `origin`."""
    from ..store.association_log import journal

    return journal(origin)
