"""A read-only table for tens of thousands of rows, drawn line by line with Textual's line API.

The table keeps no rows of its own: its owner says how many there are and gives a function that
returns the cells of row i. Only the lines on screen are ever drawn, so loading, filtering and
sorting cost what the owner's work on plain data costs. A DataTable copies and measures every cell
instead, and needs seconds to take 30,000 rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual import events
from textual.actions import SkipAction
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

PADDING = 1  # blank cells either side of each column, as in a DataTable
MIN_REST = 10  # the least a "what is left" column gets when the others fill the width
# Archives may send control characters; drawn raw they would move the terminal's cursor.
_CONTROLS = {code: "?" for code in [*range(32), 127]}

Column = tuple[str, int | None]  # heading, width (None: what is left)
# Drawn in the blank before a marked row's first column, so that the mark shows without colour too (NO_COLOR, a
# plain capture of the screen, a reader who cannot tell green from yellow).
MARK_GLYPHS = {"added": "+", "changed": "~", "vanished": "×"}


def printable(text: str) -> str:
    return text if text.isprintable() else text.translate(_CONTROLS)


def fit(text: str, width: int) -> str:
    """`text` in exactly `width` cells: padded, or cut with an ellipsis (wide characters count twice)."""
    text = printable(text)
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…" if width > 0 else ""


class ResultTable(ScrollView, can_focus=True):
    """Rows of text under a fixed header, with a row cursor; enter posts RowSelected."""

    DEFAULT_CSS = """
    ResultTable {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .result-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .result-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .result-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .result-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .result-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .result-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .result-table--added {
            color: $text-success;
            text-style: bold;
        }
        & > .result-table--changed {
            color: $text-warning;
        }
        & > .result-table--vanished {
            color: $text-muted;
            text-style: strike;
        }
        & > .result-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    COMPONENT_CLASSES = {"result-table--header", "result-table--even-row", "result-table--odd-row",
                         "result-table--cursor", "result-table--added", "result-table--changed",
                         "result-table--vanished"}
    MARKS = tuple(MARK_GLYPHS)  # what `marks(i)` may say of a row: drawn with result-table--<mark>
    BINDINGS = [
        Binding("enter", "select", "Select", show=False, id="results.select", tooltip="Select the highlighted row"),
        Binding("up", "cursor_up", "Up", show=False, id="results.up", tooltip="Highlight the row above"),
        Binding("down", "cursor_down", "Down", show=False, id="results.down", tooltip="Highlight the row below"),
        Binding("pageup", "page_up", "Page up", show=False, id="results.page_up", tooltip="One screen up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="results.page_down",
                tooltip="One screen down"),
        Binding("home,ctrl+home", "first", "First", show=False, id="results.first", tooltip="The first row"),
        Binding("end,ctrl+end", "last", "Last", show=False, id="results.last", tooltip="The last row"),
        Binding("left", "scroll_left", "Left", show=False, id="results.left",
                tooltip="One column left, when the columns are wider than the screen"),
        Binding("right", "scroll_right", "Right", show=False, id="results.right",
                tooltip="One column right, when the columns are wider than the screen"),
    ]

    class RowHighlighted(Message):
        def __init__(self, table: ResultTable, cursor_row: int) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row

        @property
        def control(self) -> ResultTable:
            return self.table

    class RowSelected(RowHighlighted):
        pass

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._columns: list[Column] = []
        self._fit: int | None = None  # how many of the first columns fill the width (None: all)
        self._count = 0
        self._cells: Callable[[int], Sequence[str]] = lambda _i: ()
        self._marks: Callable[[int], str | None] | None = None
        self._cursor = 0
        self._widths: tuple[int, list[int]] = (-1, [])  # (for this region width, column widths)

    # -- what the owner calls ---------------------------------------------------------------------------
    def set_columns(self, columns: Sequence[Column], fit: int | None = None) -> None:
        """The columns, left to right. With `fit`, only the first `fit` columns fill the width (their "what is
        left" columns share what their fixed ones leave of it) and the others follow at their own widths, to
        the right of the screen (left and right scroll to them, arrows on the header say they are there);
        without it, all of them share the width."""
        self._columns = list(columns)
        self._fit = fit
        self._widths = (-1, [])
        self._resized()

    def show_rows(self, count: int, cells: Callable[[int], Sequence[str]], cursor: int = 0,
                  marks: Callable[[int], str | None] | None = None) -> None:
        """Show `count` rows whose cells come from `cells(i)`, with the cursor on row `cursor`; `marks(i)`,
        when given, names one of MARKS for a row to stand out (a row new since the last refresh, one gone
        since), or None."""
        self._cells = cells
        self._marks = marks
        self._count = count
        self._resized()
        self.move_cursor(cursor)
        self.refresh()

    def rows_changed(self, count: int) -> None:
        """The same source now has `count` rows (more arrived, or they were reordered); the cursor stays put."""
        before = self._count
        self._count = count
        self._resized()
        if self._cursor >= count > 0 or before == 0 < count:  # the cursor needs a row under it
            self.move_cursor(self._cursor)
        self.refresh()

    @property
    def row_count(self) -> int:
        return self._count

    @property
    def cursor_row(self) -> int:
        return self._cursor

    def get_row_at(self, index: int) -> list[str]:
        if not 0 <= index < self._count:
            raise IndexError(f"no row {index} (there are {self._count})")
        return list(self._cells(index))

    def move_cursor(self, row: int, *, animate: bool = False) -> None:
        """Highlight row `row` (clamped to the rows there are) and scroll it into view."""
        row = max(0, min(row, self._count - 1))
        moved = row != self._cursor
        self._cursor = row
        self._scroll_to_cursor(animate)
        if moved:
            self.refresh()
        if self._count:  # also when it stays: the row under it may be another one now
            self.post_message(self.RowHighlighted(self, row))

    # -- keys and mouse ---------------------------------------------------------------------------------
    def action_select(self) -> None:
        if self._count:
            self.post_message(self.RowSelected(self, self._cursor))

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self._cursor - self._page())

    def action_page_down(self) -> None:
        self.move_cursor(self._cursor + self._page())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self._count - 1)

    def _on_click(self, event: events.Click) -> None:
        """A click highlights a row; a click on the highlighted row selects it, like enter."""
        if event.y < 1 or not self._count:  # the header
            return
        row = round(self.scroll_y) + event.y - 1
        if row >= self._count:
            return
        if row == self._cursor:
            self.action_select()
        else:
            self.move_cursor(row)

    def _on_resize(self, _event: events.Resize) -> None:
        self._resized()  # "what is left" columns take a share of the new width
        self._scroll_to_cursor(False)

    def watch_show_vertical_scrollbar(self) -> None:
        self._resized()  # the scrollbar takes its cells from the width the columns share

    def action_scroll_left(self) -> None:
        """Bring the column before into view, at the left edge: a press a column, not a cell."""
        if not self.allow_horizontal_scroll:
            raise SkipAction()
        x = round(self.scroll_target_x)
        self.scroll_to(x=max((s for s in self._column_starts() if s < x), default=0), animate=False)

    def action_scroll_right(self) -> None:
        """Bring the next column cut off at the right edge wholly into view, with a column start at the left."""
        if not self.allow_horizontal_scroll:
            raise SkipAction()
        x, width = round(self.scroll_target_x), self.scrollable_content_region.width
        starts = self._column_starts()
        ends = [*starts[1:], self.virtual_size.width]
        cut = next((end for end in ends if end > x + width), None)
        target = self.max_scroll_x if cut is None else min((s for s in starts if s >= cut - width),
                                                            default=self.max_scroll_x)
        if target <= x:  # a column wider than the screen: to its start
            target = min((s for s in starts if s > x), default=self.max_scroll_x)
        self.scroll_to(x=min(target, self.max_scroll_x), animate=False)

    # -- geometry ----------------------------------------------------------------------------------------
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _resized(self) -> None:
        widths = self._column_widths(self.scrollable_content_region.width)
        # The blank after the last column need not be scrolled to; + 1 line: the header.
        self.virtual_size = Size(max(0, sum(w + 2 * PADDING for w in widths) - PADDING), self._count + 1)

    def _column_starts(self) -> list[int]:
        starts, x = [], 0
        for w in self._column_widths(self.scrollable_content_region.width):
            starts.append(x)
            x += w + 2 * PADDING
        return starts

    def _scroll_to_cursor(self, animate: bool) -> None:
        rows = self.scrollable_content_region.height - 1
        if rows <= 0:
            return
        top = round(self.scroll_y)
        target = min(max(top, self._cursor - rows + 1), self._cursor)
        target = max(0, min(target, self._count - rows))
        if target != top:
            self.scroll_to(y=target, animate=animate, immediate=True)

    def _column_widths(self, width: int) -> list[int]:
        """Each column's width in cells (without padding); "what is left" columns among the fitted ones share
        the rest of `width`, never less than MIN_REST (the columns then go on past the right edge)."""
        if self._widths[0] == width:
            return self._widths[1]
        fitted = self._columns[:self._fit] if self._fit is not None else self._columns
        fixed = sum(w + 2 * PADDING for _h, w in fitted if w is not None)
        rest = sum(1 for _h, w in fitted if w is None)
        share = (width - fixed) // rest - 2 * PADDING if rest else 0
        widths = [w if w is not None else max(MIN_REST, share) if i < len(fitted) else MIN_REST
                  for i, (_h, w) in enumerate(self._columns)]
        self._widths = (width, widths)
        return widths

    # -- drawing ---------------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        base = self.rich_style
        mark = None
        if y == 0:
            texts: Sequence[str] = [h for h, _w in self._columns]
            style = base + self.get_component_rich_style("result-table--header")
        else:
            row = scroll_y + y - 1
            if row >= self._count:
                return Strip.blank(width, base)
            texts = self._cells(row)
            style = base + self.get_component_rich_style(
                "result-table--odd-row" if row % 2 else "result-table--even-row")
            mark = self._marks(row) if self._marks is not None else None
            if mark in self.MARKS:
                style += self.get_component_rich_style(f"result-table--{mark}")
            if row == self._cursor:
                style += self.get_component_rich_style("result-table--cursor")
        line = self._line(texts, self._column_widths(width), MARK_GLYPHS.get(mark or "", ""))
        strip = Strip([Segment(line, style)]).crop_extend(scroll_x, scroll_x + width, style)
        if y == 0 and self._fit is not None and width > 2:  # arrows on the header where columns lie past an edge
            left = "←" if scroll_x > 0 else ""
            right = "→" if scroll_x < self.max_scroll_x else ""
            if left or right:
                strip = Strip.join([Strip([Segment(left, style)]), strip.crop(len(left), width - len(right)),
                                    Strip([Segment(right, style)])])
        return strip

    @staticmethod
    def _line(texts: Sequence[str], widths: list[int], glyph: str = "") -> str:
        pad = " " * PADDING
        line = "".join(pad + fit(text, w) + pad for text, w in zip(texts, widths, strict=False))
        return glyph + line[len(glyph):] if glyph and PADDING else line

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.refresh()

