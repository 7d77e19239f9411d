"""dicomtui find TARGET [--level L] [--model M] [-k KEY=VALUE]... [--limit N] [--json|--csv]"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import threading
import time
import unicodedata

from ..dicom.validation import InvalidValue
from .common import CliError, Context, exit_code, log_journal, run_interruptible

TABLE_WIDTH = 80
MIN_CELL = 6
# Short headings for the table (JSON and CSV always use keywords).
HEADINGS = {
    "PatientName": "Name", "PatientID": "Patient ID", "PatientBirthDate": "Birth", "PatientSex": "Sex",
    "StudyDate": "Date", "StudyTime": "Time", "AccessionNumber": "Accession", "StudyDescription": "Description",
    "ModalitiesInStudy": "Mod", "StudyInstanceUID": "Study UID", "NumberOfStudyRelatedSeries": "Ser",
    "NumberOfStudyRelatedInstances": "Img", "Modality": "Mod", "SeriesNumber": "No", "SeriesDescription":
    "Description", "SeriesInstanceUID": "Series UID", "NumberOfSeriesRelatedInstances": "Img",
    "SOPClassUID": "SOP Class", "SOPInstanceUID": "SOP Instance UID", "InstanceNumber": "No",
}


def add_parser(subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "find",
        parents=[parent],
        help="query an archive with C-FIND",
        description="Query a node with C-FIND and print the matches. Keys are DICOM keywords or tags: "
                    "-k PatientName=SMITH* -k StudyDate=20240101-20240131 -k '(0008,0050)=A123'.",
    )
    parser.add_argument("target", metavar="TARGET", help="a node name, 'this machine' or AE@HOST:PORT")
    parser.add_argument("--level", choices=("patient", "study", "series", "image"), default="study",
                        help="query level (default study)")
    parser.add_argument("--model", choices=("patient", "study"), default="study",
                        help="information model: patient root or study root (default study)")
    parser.add_argument("-k", "--key", dest="keys", action="append", default=[], metavar="KEY=VALUE",
                        help="a matching key (wildcards * ?, ranges A-B, UID lists with \\); KEY alone "
                             "asks for that attribute to be returned")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="stop after N matches (the archive is sent C-CANCEL)")
    parser.add_argument("--timeout", type=float, default=None, metavar="S", help=argparse.SUPPRESS)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a JSON array of objects keyed by keyword")
    output.add_argument("--csv", action="store_true", help="print CSV: a header row, then one row per match")
    parser.set_defaults(run=run)


def _request(args: argparse.Namespace):
    from ..engine.query import QueryRequest, parse_key

    keys: dict[str, str] = {}
    extra: list[str] = []
    for text in args.keys:
        keyword, value = parse_key(text)
        if "=" in text:
            keys[keyword] = value
        else:
            extra.append(keyword)
    return QueryRequest(level=args.level, model=args.model, keys=keys, return_keys=extra, limit=args.limit)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from ..engine.query import QueryResult, find

    if args.limit is not None and args.limit < 1:
        raise CliError(f"--limit must be 1 or more, not {args.limit}")
    try:
        request = _request(args)
    except InvalidValue as exc:
        raise CliError(str(exc)) from None
    config, node = ctx.target(args.target)

    out = Output(args, request)
    result: QueryResult = run_interruptible(
        lambda cancel: find(node, config.local.ae_title, request, cancel=cancel, on_row=out.row,
                            timeout=args.timeout, journal=log_journal(f"find {node.name}"))
    )
    out.finish(result)
    return exit_code(result, f"find {args.target}")


def cell_text(value) -> str:
    """A value as one table or CSV cell: several values joined with a backslash, as DICOM writes them."""
    if value is None:
        return ""
    return "\\".join(value) if isinstance(value, list) else str(value)


class Output:
    """Prints rows as they arrive (JSON and CSV stream; the table waits for every row to size its columns)."""

    def __init__(self, args: argparse.Namespace, request) -> None:
        from ..engine.query import columns_for

        self.mode = "json" if args.json else "csv" if args.csv else "table"
        self.limit = args.limit
        self.columns = columns_for(request)
        self.count = 0
        self.flushed = 0.0
        self.lock = threading.Lock()
        self.writer = csv.writer(sys.stdout, lineterminator="\n") if self.mode == "csv" else None
        self.rows: list[dict] = []
        if self.writer is not None:
            self.writer.writerow(self.columns)

    def _shape(self, row: dict) -> dict:
        return {**{c: row.get(c) for c in self.columns}, **row}

    def row(self, row: dict) -> None:
        with self.lock:
            row = self._shape(row)
            self.count += 1
            if self.mode == "json":
                text = json.dumps(row, ensure_ascii=False)
                sys.stdout.write(("[\n  " if self.count == 1 else ",\n  ") + text)
                now = time.monotonic()
                if now - self.flushed > 0.1:  # the first row at once, then a few times a second
                    sys.stdout.flush()
                    self.flushed = now
            elif self.writer is not None:
                self.writer.writerow([cell_text(row.get(c)) for c in self.columns])
            else:
                self.rows.append(row)

    def finish(self, result) -> None:
        with self.lock:
            if self.mode == "json":
                sys.stdout.write("\n]\n" if self.count else "[]\n")
            elif self.mode == "table":
                if self.rows:
                    print(format_table(self.columns, self.rows))
                    print()
                if result.ok or self.rows:
                    note = f" (truncated at --limit {self.limit})" if result.truncated else ""
                    print(f"{len(self.rows)} match{'' if len(self.rows) == 1 else 'es'}{note}")
            sys.stdout.flush()


def width(text: str) -> int:
    """Terminal cells: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in text)


def truncate(text: str, cells: int) -> str:
    if width(text) <= cells:
        return text
    out, used = [], 0
    for ch in text:
        w = width(ch)
        if used + w > cells - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _pad(text: str, cells: int) -> str:
    return text + " " * (cells - width(text))


def format_table(columns: list[str], rows: list[dict], total: int = TABLE_WIDTH) -> str:
    """An aligned table in `total` cells where possible: the widest columns give way first."""
    cols = [c for c in columns if any(r.get(c) is not None for r in rows)] or columns
    heads = [HEADINGS.get(c, c) for c in cols]
    cells = [[cell_text(r.get(c)) for c in cols] for r in rows]
    widths = [max([width(h)] + [width(row[i]) for row in cells]) for i, h in enumerate(heads)]
    budget = total - 2 * (len(cols) - 1)
    while sum(widths) > budget:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= MIN_CELL:
            break
        widths[widest] -= 1
    lines = ["  ".join(_pad(truncate(h, w), w) for h, w in zip(heads, widths, strict=True)).rstrip()]
    for row in cells:
        lines.append("  ".join(_pad(truncate(v, w), w) for v, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
