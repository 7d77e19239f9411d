"""dicomtui worklist TARGET [--date today|YYYYMMDD|YYYYMMDD-YYYYMMDD] [--modality M] [--station AE]
[--patient NAME] [--json]"""

from __future__ import annotations

import argparse

from ..dicom.validation import InvalidValue
from .common import CliError, Context, exit_code, log_journal, print_json, run_interruptible
from .find_cmd import cell_text, format_table


def add_parser(subparsers, parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "worklist",
        parents=[parent],
        help="query a Modality Worklist (MWL C-FIND) as a modality would",
        description="Ask a RIS or worklist server what is scheduled, the way a modality asks: for its station "
                    "AE title, its modality and a day. Each scheduled procedure step is one row.",
    )
    parser.add_argument("target", metavar="TARGET", help="a node name, 'this machine' or AE@HOST:PORT")
    parser.add_argument("--date", default="", metavar="DATE",
                        help="scheduled start date: today, tomorrow, yesterday, week, YYYYMMDD or "
                             "YYYYMMDD-YYYYMMDD (default: any date)")
    parser.add_argument("--modality", default="", metavar="M", help="modality, e.g. CT (wildcards * ?)")
    parser.add_argument("--station", default="", metavar="AE",
                        help="Scheduled Station AE Title: query as this modality would")
    parser.add_argument("--patient", default="", metavar="NAME", help="patient name, e.g. 'SMITH*'")
    parser.add_argument("--timeout", type=float, default=None, metavar="S", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true",
                        help="print a JSON array, one object per scheduled step, keyed by DICOM keyword")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from ..engine.worklist import WorklistRequest, query_worklist
    from ..engine.worklist_request import check_modality, check_station, resolve_date

    try:
        # Checked first, to name the option in the message; the request checks the same again.
        resolve_date(args.date, what="--date")
        check_modality(args.modality, what="--modality")
        check_station(args.station, what="--station")
        request = WorklistRequest(date=args.date, modality=args.modality, station=args.station,
                                  patient_name=args.patient)
    except InvalidValue as exc:
        raise CliError(str(exc)) from None
    config, node = ctx.target(args.target)
    result = run_interruptible(lambda cancel: query_worklist(node, config.local.ae_title, request, cancel=cancel,
                                                             timeout=args.timeout,
                                                             journal=log_journal(f"worklist {node.name}")))
    rows = sorted(result.rows, key=_order)
    if args.json:
        print_json([row.as_json() for row in rows])
    else:
        print_table(rows, result.items, result.ok)
    return exit_code(result, f"worklist {args.target}")


def _order(row) -> tuple[str, ...]:
    return tuple(cell_text(v) for v in (row.start_date, row.start_time, row.station_ae_title, row.accession_number,
                                        row.step_id))


def _day(date: str) -> str:
    return f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 and date.isdigit() else date


def _clock(time: str) -> str:
    return f"{time[:2]}:{time[2:4]}" if len(time) >= 4 and time[:4].isdigit() else time


# Table headings -> what each shows (JSON always has every attribute, keyed by keyword).
_CELLS = {
    "Name": lambda r: cell_text(r.patient_name),
    "Patient ID": lambda r: cell_text(r.patient_id),
    "Accession": lambda r: cell_text(r.accession_number),
    "Mod": lambda r: cell_text(r.modality),
    "Station": lambda r: cell_text(r.station_ae_title),
    "Procedure": lambda r: cell_text(r.step_description or r.requested_procedure_description),
    "Status": lambda r: cell_text(r.status),
}


def print_table(rows: list, items: int, ok: bool) -> None:
    """An 80-column table. A column with one value on every row (the date, the station asked for, the
    modality, the status) is said once under the table instead, leaving room for names."""
    common: dict[str, str] = {}
    day = None
    if rows:
        cells = [{"Start": _start(row), **{h: cell(row) for h, cell in _CELLS.items()}} for row in rows]
        common = {h: cells[0][h] for h in _SAID_ONCE if cells[0][h] and all(c[h] == cells[0][h] for c in cells)}
        days = {cell_text(row.start_date) for row in rows}
        day = next(iter(days)) if len(days) == 1 and next(iter(days)) else None
        start = "Time" if day else "Start"
        shown = [{start: _clock(cell_text(row.start_time)) if day else c["Start"],
                  **{h: c[h] for h in _CELLS if h not in common}} for c, row in zip(cells, rows, strict=True)]
        columns = [start] + [h for h in _CELLS if h not in common]
        print(format_table(columns, [{h: v or None for h, v in c.items()} for c in shown]))
        print()
    if ok or rows:
        steps = len(rows)
        said = ([f"on {_day(day)}"] if day else []) + [f"{h.lower()} {v}" for h, v in common.items()]
        print(f"{steps} scheduled step{'' if steps == 1 else 's'}"
              + (f" in {items} worklist item{'' if items == 1 else 's'}" if items != steps else "")
              + (f" ({', '.join(said)})" if said else ""))


_SAID_ONCE = ("Mod", "Station", "Status")


def _start(row) -> str:
    return f"{_day(cell_text(row.start_date))} {_clock(cell_text(row.start_time))}".strip()
