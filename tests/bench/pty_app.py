"""The app in a pseudo-terminal of 80x24 that a benchmark types into and reads from.

Polling `tmux capture-pane` every few milliseconds costs a process start per look, and on a
two-core machine that load slows the very app being timed. Here a thread reads the app's output
as it comes and marks when a text appears, so a key's latency is the time from writing the key
to reading the frame that shows its effect, with nothing else running.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
import threading
import time


class PtyApp:
    def __init__(self, argv: list[str], env: dict[str, str], columns: int = 80, lines: int = 24):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.process = subprocess.Popen(argv, env={**env, "TERM": "xterm-256color"}, stdin=slave, stdout=slave,
                                        stderr=slave, start_new_session=True)
        os.close(slave)
        self._master = master
        self._output = bytearray()
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:
                chunk = b""
            with self._changed:
                if not chunk:
                    self._output += b"\0EOF"
                    self._changed.notify_all()
                    return
                self._output += chunk
                self._changed.notify_all()

    def mark(self) -> int:
        with self._changed:
            return len(self._output)

    def wait_for(self, text: str, since: int = 0, limit: float = 20.0) -> float:
        """Seconds until `text` shows in the output written after position `since`."""
        wanted = text.encode()
        started = time.perf_counter()
        with self._changed:
            while self._output.find(wanted, since) < 0:
                left = limit - (time.perf_counter() - started)
                if left <= 0 or self._output.endswith(b"\0EOF"):
                    tail = bytes(self._output[-2000:]).decode("utf-8", "replace")
                    raise RuntimeError(f"{text!r} did not show within {limit} s; output ends with:\n{tail}")
                self._changed.wait(left)
        return time.perf_counter() - started

    def press(self, key: str, shows: str, limit: float = 20.0) -> float:
        """Type `key` and return the seconds until the app's output shows `shows`."""
        since = self.mark()
        os.write(self._master, key.encode())
        return self.wait_for(shows, since, limit)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        os.close(self._master)
