"""dicomtui archive reindex|stats [--storage DIR]; dicomtui demo [--storage DIR] [--worklists DIR]"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from .common import EXIT_OK, Context


def add_parser(subparsers, parent: argparse.ArgumentParser) -> None:
    archive = subparsers.add_parser("archive", parents=[parent], help="look after the local archive",
                                    description="Rebuild or summarise the local archive's index.")
    actions = archive.add_subparsers(dest="action", metavar="ACTION", required=True)
    reindex = actions.add_parser("reindex", parents=[parent],
                                 help="rebuild the index from the files in the storage folder")
    reindex.add_argument("--storage", help="archive folder (default: [local] storage)")
    reindex.set_defaults(run=run_reindex)
    stats = actions.add_parser("stats", parents=[parent], help="count what the archive holds")
    stats.add_argument("--storage", help="archive folder (default: [local] storage)")
    stats.set_defaults(run=run_stats)

    demo = subparsers.add_parser("demo", parents=[parent], help="fill the local archive with synthetic studies",
                                 description="Fill the local archive with synthetic patients across modalities, "
                                             "including Chinese, Japanese and accented Latin names, and the local "
                                             "worklist with procedures scheduled today, so every screen has "
                                             "something to show.")
    demo.add_argument("--storage", help="archive folder (default: [local] storage)")
    demo.add_argument("--patients", type=int, default=8, help="how many patients (default 8)")
    demo.add_argument("--worklists", help="worklist folder for the demo's scheduled procedures "
                                          "(default: [local] worklists)")
    demo.set_defaults(run=run_demo)


def _storage(args: argparse.Namespace, ctx: Context) -> Path:
    from .. import paths

    if args.storage:
        return Path(args.storage).expanduser().resolve()
    return ctx.config().local.storage or paths.default_storage_dir()


def run_reindex(args: argparse.Namespace, ctx: Context) -> int:
    from ..store.archive_index import ArchiveIndex

    storage = _storage(args, ctx)
    started = time.monotonic()
    result = ArchiveIndex(storage).reindex()
    for item in result.skipped:
        print(f"skipped {item.path}: {item.reason}", file=sys.stderr)
    print(f"reindexed {result.indexed} instance(s) in {storage} in {time.monotonic() - started:.1f} s"
          + (f"; {len(result.skipped)} file(s) skipped" if result.skipped else ""))
    return EXIT_OK


def run_stats(args: argparse.Namespace, ctx: Context) -> int:
    from ..store.archive_index import ArchiveIndex

    storage = _storage(args, ctx)
    counts = ArchiveIndex(storage).counts()
    print(f"{storage}: {counts.patients} patient(s), {counts.studies} study(ies), {counts.series} series, "
          f"{counts.instances} instance(s), {counts.bytes / 1e6:.1f} MB")
    return EXIT_OK


def run_demo(args: argparse.Namespace, ctx: Context) -> int:
    from ..dicom.synthetic import generate_studies
    from ..engine.archive.importing import import_files

    storage = _storage(args, ctx)
    storage.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=storage, prefix=".demo-") as scratch:
        files = generate_studies(Path(scratch), patients=max(1, args.patients), studies_per_patient=2,
                                 series_per_study=2, instances_per_series=3,
                                 modalities=("CT", "MR", "CR", "DX", "US", "OT"), international=True, seed=2026)
        outcome = import_files(storage, files, source="DEMO")
    print(f"demo: {outcome.stored} synthetic instance(s) stored in {storage}"
          + (f" ({outcome.duplicates} already there)" if outcome.duplicates else ""))
    folder, items = _demo_worklist(args, ctx)
    print(f"demo: {items} worklist item(s) scheduled today and tomorrow in {folder}")
    return EXIT_OK


def _demo_worklist(args: argparse.Namespace, ctx: Context) -> tuple[Path, int]:
    """Scheduled procedures for today (and a few for tomorrow), so the local worklist has something to
    show; running demo again on another day moves them to that day (same file names)."""
    import datetime

    from .. import paths
    from ..dicom.synthetic_worklist import make_worklist_specs, write_worklist

    if args.worklists:
        folder = Path(args.worklists).expanduser().resolve()
    else:
        folder = ctx.config().local.worklists or paths.default_worklist_dir()
    today = datetime.date.today()
    specs = (make_worklist_specs(today, seed=2026, items=12)
             + make_worklist_specs(today + datetime.timedelta(days=1), seed=2027, items=3))
    return folder, len(write_worklist(folder, specs))
