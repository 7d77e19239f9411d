"""The Query screen with 30,000 result rows: loading, filtering, sorting and scrolling to the end stay quick.

This tests the screen, not the wire: the rows go through the screen's own query run (thread, drain timer,
end of run) from a stand-in for the engine's find, as an archive would stream them.
"""

from __future__ import annotations

import csv
import random
import time

from textual.widgets import Input

from dicomtui.engine.query import QueryResult
from dicomtui.tui.screens import query as query_screen
from dicomtui.tui.widgets.result_table import ResultTable

from .test_nodes_flow import wait_for
from .test_query_screen import open_query, status

ROWS = 30_000
# Generous for a busy two-core CI box: each step takes well under half a second here, while rebuilding
# a DataTable of this size took about four seconds.
LIMIT = 3.0
CONFIG = '[[nodes]]\nname = "big"\nae_title = "BIG"\nhost = "127.0.0.1"\nport = 104\n'


def synthetic_rows(n: int) -> list[dict]:
    rnd = random.Random(30)
    families = ["SMITH", "JONES", "MILLER", "GARCIA", "WANG", "TANAKA", "MÜLLER", "DUBOIS", "ROSSI", "NOVAK"]
    return [{"PatientName": f"{rnd.choice(families)}^{rnd.choice(['ANN', 'BOB', 'CHI'])}",
             "PatientID": f"P{rnd.randrange(10**7):07d}",
             "StudyDate": f"20{rnd.randrange(10, 26)}0{rnd.randrange(1, 10)}15",
             "ModalitiesInStudy": rnd.choice([["CT"], ["MR", "SR"], "US"]),
             "StudyDescription": rnd.choice(["CHEST", "HEAD W/O", "ABDOMEN PELVIS"]),
             "AccessionNumber": f"A{i:08d}", "NumberOfStudyRelatedSeries": str(rnd.randrange(1, 9)),
             "NumberOfStudyRelatedInstances": str(rnd.randrange(1, 900)),
             "StudyInstanceUID": f"1.2.826.0.1.3680043.8.498.{i}"} for i in range(n)]


def streaming(rows: list[dict]):
    """Stands in for query_runs.find_call: the rows arrive in chunks, over several drains of the screen."""

    def find_call(_node, _calling_ae, _request, _journal=None):
        def call(run):
            for start in range(0, len(rows), 5_000):
                for row in rows[start:start + 5_000]:
                    run.add_row(dict(row))
                time.sleep(0.05)
            return QueryResult(rows=[])

        return call

    return find_call


async def timed(pilot, *keys: str) -> float:
    started = time.monotonic()
    await pilot.press(*keys)
    await pilot.pause()
    return time.monotonic() - started


def last_line(table: ResultTable) -> str:
    return table.render_line(table.scrollable_content_region.height - 1).text


async def test_thirty_thousand_rows_filter_sort_and_scroll(make_app, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    rows = synthetic_rows(ROWS)
    monkeypatch.setattr(query_screen, "find_call", streaming(rows))
    app = make_app(CONFIG)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_query(pilot)
        table = screen.query_one(ResultTable)
        started = time.monotonic()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: f"{ROWS} studies in" in status(app), timeout=30)
        assert time.monotonic() - started < LIMIT + 1  # the chunks themselves take a quarter of a second
        assert table.row_count == ROWS and app.focused is table

        # Filter: every keystroke narrows the rows; what is shown is exactly what contains the text.
        took = await timed(pilot, "slash", *"müller^b")
        expected = [r["AccessionNumber"] for r in rows if "müller^b" in r["PatientName"].casefold()]
        assert took < LIMIT, took
        assert table.row_count == len(expected) and f"{len(expected)} shown" in status(app)
        assert [screen._level.row_at(i)["AccessionNumber"] for i in range(table.row_count)] == expected
        await pilot.press("enter")  # back to the table
        assert app.focused is table

        # Sort the filtered rows by ID, then scroll to the end: the last row is highlighted and drawn.
        took = await timed(pilot, "s", "s")
        ids = [table.get_row_at(i)[1] for i in range(table.row_count)]
        assert took < LIMIT, took
        assert ids == sorted(ids) and "sorted by ID" in status(app)
        took = await timed(pilot, "end")
        assert took < LIMIT, took
        assert table.cursor_row == table.row_count - 1 and screen._selected()["PatientID"] == ids[-1]
        assert ids[-1] in last_line(table)

        # Export writes the rows shown, in the order shown.
        await pilot.press("x")
        await pilot.pause()
        [exported] = (tmp_path / "data").rglob("*.csv")
        with open(exported, encoding="utf-8") as f:
            assert [r["PatientID"] for r in csv.DictReader(f)] == ids

        # Clearing the filter brings all 30,000 back, still sorted; the end is the largest ID of all.
        took = await timed(pilot, "slash", "escape")
        assert took < LIMIT, took
        assert table.row_count == ROWS and not screen.query_one("#q-filter", Input).display
        took = await timed(pilot, "end")
        assert took < LIMIT, took
        highest = max(r["PatientID"] for r in rows)
        assert screen._selected()["PatientID"] == highest and highest in last_line(table)
        took = await timed(pilot, "pageup", "pageup", "home")
        assert took < LIMIT, took
        assert table.cursor_row == 0 and screen._selected()["PatientID"] == min(r["PatientID"] for r in rows)
        await pilot.click(ResultTable, offset=(3, 3))  # the header is line 0: this is the third row
        assert table.cursor_row == 2 and screen._selected()["PatientID"] in str(screen.query_one("#q-detail").render())
