"""Keys on the Worklist screen's table: filter, sort, export, and back out of the filter, the pane or the form."""

from __future__ import annotations

from textual.widgets import Input

from ..exports import export_rows
from ..worklist_export import export


class WorklistTableKeys:
    """Mixed into WorklistScreen, which provides `_table`, `_rows`, `_shown`, `_vanished`, `_columns`, `_sort` and
    `_fill()`."""

    def action_edit_form(self) -> None:
        self.query_one("#wl-station", Input).focus()

    def action_back(self) -> None:
        filter_input = self.query_one("#wl-filter", Input)
        if filter_input.display:
            self._close_filter()
        elif self.has_class("-big-detail"):
            self.action_toggle_detail()
        elif isinstance(self.focused, Input):
            self._table.focus()  # out of the form, so that letters and number keys act again

    def action_filter(self) -> None:
        filter_input = self.query_one("#wl-filter", Input)
        filter_input.display = True
        filter_input.focus()

    def _close_filter(self) -> None:
        filter_input = self.query_one("#wl-filter", Input)
        filter_input.value = ""
        filter_input.display = False
        self._table.focus()

    def action_sort(self) -> None:
        """Sort by the next column; after the last, back to the worklist's own order (by start)."""
        keys = [c.key for c in self._columns if c.key != "start"]
        position = keys.index(self._sort) + 1 if self._sort in keys else 0
        self._sort = keys[position] if self._sort is None or position < len(keys) else None
        self._table.move_cursor(0)
        self._fill()

    def action_export(self) -> None:
        self._export("csv")

    def action_export_json(self) -> None:
        self._export("json")

    def _export(self, kind: str) -> None:
        vanished = {id(row) for row in self._vanished}  # shown until the next refresh, but no longer scheduled
        rows = [self._rows[i] for i in self._shown if id(self._rows[i]) not in vanished]
        if not rows:
            self.notify("Nothing to export: no rows are shown.", title="Export", severity="warning")
            return
        export_rows(self, lambda folder: export(rows, folder, kind),
                    f"{len(rows)} scheduled step{'' if len(rows) == 1 else 's'}")
