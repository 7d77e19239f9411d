"""Export SVG screenshots of the real app into this folder.

    python screenshots/generate.py

The app runs headless at 80x24 (and 120x36) with a config in a temp folder. Echo results
are real: a dcmtk storescp (from the dcmtk package) answers, a closed port refuses, and a
listener that never answers times out, so the pictures show what a user sees.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def silent_listener() -> int:
    """A port that accepts TCP and never answers, like a hung PACS."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(server.accept()[0]) for _ in range(8)], daemon=True).start()
    return server.getsockname()[1]


def start_storescp(folder: Path) -> tuple[subprocess.Popen, int]:
    storescp = "/usr/bin/storescp"
    if not Path(storescp).exists():
        sys.exit("screenshots need dcmtk's storescp (apt-get install dcmtk)")
    port = free_port()
    process = subprocess.Popen([storescp, "--aetitle", "ARCHIVE", "-od", str(folder), str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "TCP_NODELAY": "1"}, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        time.sleep(0.05)
    process.kill()
    sys.exit("storescp did not start")


CONFIG = """\
[local]
ae_title = "DICOMTUI"
port = {receiver}
storage = "{storage}"
worklists = "{worklists}"

[[nodes]]
name = "self"
ae_title = "DICOMTUI"
host = "127.0.0.1"
port = {receiver}
description = "this machine's archive"

[[nodes]]
name = "archive"
ae_title = "ARCHIVE"
host = "127.0.0.1"
port = {archive}
description = "main archive (dcmtk storescp)"

[[nodes]]
name = "ct-scanner"
ae_title = "CT01"
host = "127.0.0.1"
port = {closed}
description = "CT in room 2, switched off"

[[nodes]]
name = "old-pacs"
ae_title = "OLDPACS"
host = "127.0.0.1"
port = {silent}
description = "legacy archive behind a firewall"
timeout = 2
"""


async def capture(tmp: Path, archive: int) -> None:
    from dicomtui.config import ConfigFile
    from dicomtui.store.echo_log import EchoLog
    from dicomtui.tui.app import DicomtuiApp

    config = tmp / "config.toml"
    receiver_port = free_port()
    config.write_text(CONFIG.format(archive=archive, closed=free_port(), silent=silent_listener(),
                                    receiver=receiver_port, storage=tmp / "archive", worklists=tmp / "worklists"))
    schedule_worklist(tmp / "worklists")
    app = DicomtuiApp(ConfigFile(config), EchoLog(tmp / "state.sqlite3"))
    async with app.run_test(size=(80, 24)) as pilot:
        deadline = time.monotonic() + 10
        while not (app.receiver and app.receiver.running) and time.monotonic() < deadline:
            await pilot.pause(0.1)  # the app starts its receiver just after the first frame
        await pilot.press("R")
        deadline = time.monotonic() + 15
        while app.screen._pending and time.monotonic() < deadline:  # noqa: SLF001 - wait for echoes
            await pilot.pause(0.1)
        await pilot.pause(0.5)
        app.clear_notifications()
        await pilot.pause()
        await pilot.press("down", "down")
        await pilot.pause()
        save(app, "nodes.svg")
        for theme in ("dicomtui-light", "dicomtui-contrast"):  # each shipped theme on the main screen
            app.theme = theme
            await pilot.pause(0.3)
            save(app, f"nodes-{theme.removeprefix('dicomtui-')}.svg")
        app.theme = "dicomtui-dark"
        await pilot.pause(0.3)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"mr", "tab", *"MR_SCANNER_ROOM_3", "tab", *"mr3.example.org", "tab", *"104")
        await pilot.pause()
        save(app, "node-form.svg")
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        save(app, "help.svg")
        await pilot.press("escape", "3")
        await send_studies(pilot, tmp, receiver_port)
        save(app, "receiver.svg")
        await pilot.press("2")
        await pilot.pause(0.3)
        await pilot.press("ctrl+r")
        await pilot.pause(1.5)
        save(app, "query.svg")
        await send_job(pilot, app, tmp)
        save(app, "transfers.svg")
        await show_worklist(pilot, app)
        save(app, "worklist.svg")
        await pilot.press("2")
        await pilot.pause(0.3)
        await pilot.press("y")  # Copy as command: the query and a retrieve of the highlighted study
        await pilot.pause(0.3)
        save(app, "copy-command.svg")
        await pilot.press("escape")
        await show_log(pilot, app)
        save(app, "log.svg")
    app = DicomtuiApp(ConfigFile(config), EchoLog(tmp / "state.sqlite3"))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.5)
        save(app, "nodes-120x36.svg")


async def send_studies(pilot, tmp: Path, port: int) -> None:
    """A real sender (dcmtk storescu) delivers synthetic studies to the app's receiver."""
    from dicomtui.dicom.synthetic import generate_studies

    files = generate_studies(tmp / "outgoing", patients=4, international=True, seed=5)
    sender = subprocess.Popen(["/usr/bin/storescu", "-aet", "CT_ROOM2", "-aec", "DICOMTUI", "127.0.0.1", str(port),
                               *map(str, files)], env={**os.environ, "TCP_NODELAY": "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while sender.poll() is None:
        await pilot.pause(0.05)
    await pilot.pause(0.6)


async def send_job(pilot, app, tmp: Path) -> None:
    """The Transfers screen: the studies sent to the receiver go on to the archive (storescp) as a job, through
    the Send dialog; a file that is not DICOM is skipped and listed."""
    (tmp / "outgoing" / "README.txt").write_text("not DICOM")
    await pilot.press("4")
    await pilot.pause(0.5)
    await pilot.press("n")
    await pilot.pause()
    app.screen.query_one("#send-node").value = "archive"
    app.screen.query_one("#send-path").value = str(tmp / "outgoing")
    await pilot.pause(0.3)
    await pilot.press("ctrl+s")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(job.state == "done" for job in app.job_store.list()):
        await pilot.pause(0.1)
    await pilot.pause(1.0)
    app.clear_notifications()
    await pilot.pause()


def schedule_worklist(folder: Path) -> None:
    """Today's procedures in the receiver's worklist folder, as `dicomtui demo` schedules them."""
    import datetime

    from dicomtui.dicom.synthetic_worklist import make_worklist_specs, write_worklist

    write_worklist(folder, make_worklist_specs(datetime.date.today(), seed=2026, items=12))


async def show_worklist(pilot, app) -> None:
    """The Worklist screen asking this machine's receiver, as a modality would, for today."""
    await pilot.press("5")
    await pilot.pause(0.3)
    await pilot.press("enter")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (app.screen._run is not None or "updated" not in  # noqa: SLF001
                                           str(app.screen.query_one("#wl-status").render())):
        await pilot.pause(0.1)
    await pilot.pause(0.3)
    app.clear_notifications()
    await pilot.pause()


async def show_log(pilot, app) -> None:
    """The Log screen: every association of the session (echoes that failed, what the receiver took, the
    query, the send job's); the query's entry shows its contexts, its messages and its keys, names masked."""
    await pilot.press("6")
    deadline = time.monotonic() + 10
    table = app.screen.query_one("#log-table")
    while time.monotonic() < deadline and table.row_count < 5:
        await pilot.pause(0.2)
    rows = [table.get_row_at(i) for i in range(table.row_count)]
    find = next((i for i, row in enumerate(rows) if row[2] == "find"), 0)
    table.move_cursor(find)
    await pilot.pause(0.8)
    app.clear_notifications()
    await pilot.pause()


def save(app, name: str) -> None:
    app.save_screenshot(filename=name, path=str(HERE))
    print(f"wrote screenshots/{name}")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
        os.environ["XDG_DATA_HOME"] = str(tmp / "data")
        process, port = start_storescp(tmp)
        try:
            asyncio.run(capture(tmp, port))
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(5)
    shutil.rmtree(HERE / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
