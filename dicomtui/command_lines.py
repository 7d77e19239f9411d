"""Every echo, query, retrieve, send and worklist as the `dicomtui` command line and the dcmtk one.

For tickets and for colleagues who script: each function returns a `CommandLine` whose two lines are
quoted for a POSIX shell (shlex) and ask the same thing of the same peer. The dicomtui line names a node
as the CLI takes it (its name, or AE@HOST:PORT for a node not in the config) and leaves the rest to the
config; the dcmtk line spells out everything dicomtui would send: our AE title, the peer's, the host, the
port and the whole identifier. Plain Python: no textual, and no pydicom or pynetdicom on import.
"""

from __future__ import annotations

import datetime
import math
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .config.model import Node
from .engine.query_request import KNOWN, QueryRequest, identifier_elements, resolve_attribute
from .engine.send_limits import DEFAULT_PARALLEL
from .engine.worklist_request import STEP_KEYS, STEP_SEQUENCES, TOP_KEYS, WorklistRequest, matching_values

UTF8 = "ISO_IR 192"
_STEP = "ScheduledProcedureStepSequence[0]"
_KEYWORD_BY_TAG = {tag: keyword for keyword, (tag, _vr) in KNOWN.items()}

# storescu proposes uncompressed transfer syntaxes unless told one compressed syntax to add, and dcmtk 3.6.7
# cannot decompress on the fly: a compressed file goes out as it is or not at all. These options add the
# file's own syntax (and keep the uncompressed ones for every other file).
STORESCU_PROPOSE = {
    "1.2.840.10008.1.2.1.99": "-xd",  # Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.4.50": "-xy",  # JPEG Baseline (8 bit)
    "1.2.840.10008.1.2.4.51": "-xx",  # JPEG Extended (12 bit)
    "1.2.840.10008.1.2.4.70": "-xs",  # JPEG Lossless, first-order prediction
    "1.2.840.10008.1.2.4.80": "-xt",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81": "-xu",  # JPEG-LS Near-Lossless
    "1.2.840.10008.1.2.4.90": "-xv",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91": "-xw",  # JPEG 2000
    "1.2.840.10008.1.2.5": "-xr",  # RLE Lossless
}
UNCOMPRESSED = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"})


@dataclass(frozen=True)
class CommandLine:
    """One action as two shell lines; `note` says where they cannot be the same (empty when they are)."""

    label: str
    dicomtui: str
    dcmtk: str
    note: str = ""


def target(node: Node, configured: bool = True) -> str:
    """What `dicomtui` takes as TARGET: the node's name, or AE@HOST:PORT for a node not in the config."""
    return node.name if configured else node.address


# -- echo ------------------------------------------------------------------------------------------------------


def echo_lines(node: Node, local_ae: str, *, configured: bool = True) -> CommandLine:
    """C-ECHO: `dicomtui echo NODE` and `echoscu -aet LOCAL -aec AE HOST PORT`."""
    return CommandLine(
        f"Echo {target(node, configured)}",
        _dicomtui("echo", target(node, configured)),
        _dcmtk("echoscu", node, local_ae),
    )


# -- find ------------------------------------------------------------------------------------------------------


def find_lines(node: Node, local_ae: str, request: QueryRequest, *, configured: bool = True) -> CommandLine:
    """C-FIND: `dicomtui find NODE -k K=V ... --level L` and `findscu -S|-P ... -k QueryRetrieveLevel=L ...`
    with every key the engine sends (its default return keys included, so both show the same columns)."""
    args = _keys(_find_identifier(request))
    note = ""
    if request.limit is not None:
        args += ["--cancel", str(request.limit)]
        note = _CANCEL_NOTE
    return CommandLine(
        f"Find {request.level.lower()} on {target(node, configured)}",
        find_command(target(node, configured), request),
        _dcmtk("findscu", node, local_ae, args, flag="-P" if request.model == "patient" else "-S"),
        note,
    )


# Measured with Orthanc: it sends every match before it reads the C-CANCEL.
_CANCEL_NOTE = ("findscu --cancel sends C-CANCEL after that many matches, as dicomtui does, but still prints "
                "the matches the archive had sent before it stopped.")


def find_command(node: str, request: QueryRequest) -> str:
    """The `dicomtui find` line: matching keys, extra return keys, the level always, the model when not study."""
    options: list[str] = []
    for key, value in request.keys.items():
        options += ["-k", f"{key}={value}"]
    for key in request.return_keys:
        options += ["-k", key]
    options += ["--level", request.level.lower()]
    if request.model != "study":
        options += ["--model", request.model]
    if request.limit is not None:
        options += ["--limit", str(request.limit)]
    return _dicomtui("find", node, options)


def _find_identifier(request: QueryRequest) -> list[tuple[str, str]]:
    """(dcmtk key name, value) of the identifier: the level and character set first, then the matching keys in
    the order given, then the return keys (empty values)."""
    elements = identifier_elements(request)
    matching = [resolve_attribute(name)[0] for name in request.keys]
    first = [0x00080052, 0x00080005, *(tag for tag in matching if elements[tag][1])]
    order = [tag for tag in dict.fromkeys(first) if tag in elements]
    order += [tag for tag in elements if tag not in order]
    return [(_dcmtk_name(tag), elements[tag][1]) for tag in order]


def _dcmtk_name(tag: int) -> str:
    """A keyword dcmtk's dictionary knows by the same name, else the tag as dcmtk writes it (gggg,eeee)."""
    return _KEYWORD_BY_TAG.get(tag) or f"{tag >> 16:04X},{tag & 0xFFFF:04X}"


# -- move and get ----------------------------------------------------------------------------------------------


def move_lines(node: Node, local_ae: str, destination: str, study: str, series: str | None = None,
               instance: str | None = None, *, configured: bool = True) -> CommandLine:
    """C-MOVE to `destination`: `dicomtui move NODE --dest AE --study UID ...` and
    `movescu -S -aet LOCAL -aec AE -aem DEST -k QueryRetrieveLevel=.. -k StudyInstanceUID=.. HOST PORT`."""
    return CommandLine(
        f"Move {_what(series, instance)} from {target(node, configured)} to {destination}",
        move_command(target(node, configured), destination, study, series, instance),
        _dcmtk("movescu", node, local_ae, ["-aem", destination, *_keys(_uid_keys(study, series, instance))], flag="-S"),
    )


def get_lines(node: Node, local_ae: str, study: str, series: str | None = None, instance: str | None = None,
              *, output: str = ".", configured: bool = True) -> CommandLine:
    """C-GET: `dicomtui get NODE --study UID ...` (into the local archive) and
    `getscu -S -aet LOCAL -aec AE -od OUTPUT -k ... HOST PORT` (into the folder `output`, which must exist)."""
    return CommandLine(
        f"Get {_what(series, instance)} from {target(node, configured)}",
        get_command(target(node, configured), study, series, instance),
        _dcmtk("getscu", node, local_ae, ["-od", output, *_keys(_uid_keys(study, series, instance))], flag="-S"),
    )


def move_command(node: str, destination: str, study: str | None, series: str | None = None,
                 instance: str | None = None) -> str:
    """The `dicomtui move` line alone (TARGET as the CLI takes it)."""
    return _dicomtui("move", node, ["--dest", destination, *_uid_options(study, series, instance)])


def get_command(node: str, study: str | None, series: str | None = None, instance: str | None = None) -> str:
    """The `dicomtui get` line alone (TARGET as the CLI takes it)."""
    return _dicomtui("get", node, _uid_options(study, series, instance))


def _uid_options(study: str | None, series: str | None, instance: str | None) -> list[str]:
    args: list[str] = []
    for option, uid in (("--study", study), ("--series", series), ("--instance", instance)):
        if uid:
            args += [option, uid]
    return args


def _uid_keys(study: str, series: str | None, instance: str | None) -> list[tuple[str, str]]:
    level = "IMAGE" if instance else "SERIES" if series else "STUDY"
    keys = [("QueryRetrieveLevel", level), ("StudyInstanceUID", study)]
    if series:
        keys.append(("SeriesInstanceUID", series))
    if instance:
        keys.append(("SOPInstanceUID", instance))
    return keys


def _what(series: str | None, instance: str | None) -> str:
    return "instance" if instance else "series" if series else "study"


# -- send ------------------------------------------------------------------------------------------------------


def send_lines(node: Node, local_ae: str, paths: Sequence[str], parallel: int = DEFAULT_PARALLEL, *,
               transfer_syntaxes: Iterable[str] | None = None, configured: bool = True) -> CommandLine:
    """C-STORE files and folders: `dicomtui send NODE PATH... [--parallel N]` and
    `storescu -aet LOCAL -aec AE +sd +r -R [-x?] HOST PORT PATH...`.

    +sd +r: folders are scanned recursively, as dicomtui does. -R: only the SOP classes of the files are
    proposed (storescu's full list leaves out newer classes). `transfer_syntaxes` (the files' own, when
    known) picks the option that adds a compressed one; storescu 3.6.7 proposes at most one per run.
    """
    options = ["--parallel", str(parallel)] if parallel != DEFAULT_PARALLEL else []
    args = ["+sd", "+r", "-R"]
    note = ""
    compressed = sorted({ts for ts in (transfer_syntaxes or ()) if ts not in UNCOMPRESSED})
    known = [STORESCU_PROPOSE[ts] for ts in compressed if ts in STORESCU_PROPOSE]
    if transfer_syntaxes is None:
        note = ("storescu proposes uncompressed transfer syntaxes only: for compressed files add the option "
                "of their syntax (-xy JPEG baseline, -xs JPEG lossless, -xv JPEG 2000 lossless, -xr RLE...).")
    elif len(compressed) == 1 and known:
        args.append(known[0])
    elif compressed:
        unknown = [ts for ts in compressed if ts not in STORESCU_PROPOSE]
        note = ("storescu proposes one compressed transfer syntax per run"
                + (f": send the files in runs with {', '.join(known)}" if len(known) > 1 else "")
                + (f"; it has no option for {', '.join(unknown)}" if unknown else "") + ".")
    count = f"{len(paths)} path{'' if len(paths) == 1 else 's'}"
    return CommandLine(
        f"Send {count} to {target(node, configured)}",
        _dicomtui("send", target(node, configured), options, list(paths)),
        # dcmtk reads a word that starts with "-" as an option wherever it is.
        _dcmtk("storescu", node, local_ae, args, [f"./{p}" if p.startswith("-") else p for p in paths]),
        note,
    )


# -- worklist --------------------------------------------------------------------------------------------------


def worklist_lines(node: Node, local_ae: str, request: WorklistRequest, *, today: datetime.date | None = None,
                   configured: bool = True) -> CommandLine:
    """MWL C-FIND: `dicomtui worklist NODE --date .. --modality .. --station .. --patient ..` and
    `findscu -W ... -k "ScheduledProcedureStepSequence[0].Modality=CT" ...` with the engine's whole identifier.
    A date preset stays a word for dicomtui (which resolves it when it runs) and is the date of `today` for
    findscu."""
    options: list[str] = []
    for option, value in (("--date", request.date), ("--modality", request.modality),
                          ("--station", request.station), ("--patient", request.patient_name)):
        if value:
            options += [option, value]
    top, step = matching_values(request, today)
    keys: list[tuple[str, str]] = []
    if any(not value.isascii() for value in (*top.values(), *step.values())):
        keys.append(("SpecificCharacterSet", UTF8))
    keys += [(keyword, top.get(keyword, "")) for keyword in TOP_KEYS]
    keys += [(f"{_STEP}.{keyword}", step.get(keyword, "")) for keyword in STEP_KEYS]
    keys += [(f"{_STEP}.{keyword}", "") for keyword in STEP_SEQUENCES]
    args = _keys(sorted(keys, key=lambda kv: not kv[1]))  # matching keys first, as a reader looks
    if request.limit is not None:
        args += ["--cancel", str(request.limit)]
    missing = [what for what, value in (("start time", request.time), ("performing physician",
               request.performing_physician), ("patient ID", request.patient_id),
               ("accession number", request.accession_number), ("limit", request.limit)) if value]
    notes = [f"dicomtui worklist has no option for the {', '.join(missing)}; only the findscu line has it."
             if missing else "", _CANCEL_NOTE if request.limit is not None else ""]
    note = " ".join(n for n in notes if n)
    return CommandLine(
        f"Worklist of {target(node, configured)}",
        _dicomtui("worklist", target(node, configured), options),
        _dcmtk("findscu", node, local_ae, args, flag="-W"),
        note,
    )


# -- building lines --------------------------------------------------------------------------------------------


def _dicomtui(command: str, node: str, options: Sequence[str] = (), positionals: Sequence[str] = ()) -> str:
    """`dicomtui COMMAND TARGET POSITIONALS... OPTIONS...`; a target or path that starts with '-' would be read
    as an option, so then the options come first and '--' ends them."""
    if node.startswith("-") or any(p.startswith("-") for p in positionals):
        return _join(["dicomtui", command, *options, "--", node, *positionals])
    return _join(["dicomtui", command, node, *positionals, *options])


def _dcmtk(tool: str, node: Node, local_ae: str, args: Sequence[str] = (), files: Sequence[str] = (),
           flag: str = "") -> str:
    """`TOOL [FLAG] -aet LOCAL -aec AE [timeouts] ARGS... HOST PORT FILES...`. FLAG: the information model; the
    node's own timeouts, when it has them, as dcmtk's whole seconds (connection and association, then each
    DIMSE answer)."""
    argv = [tool, *([flag] if flag else []), "-aet", local_ae, "-aec", node.ae_title]
    if node.timeout:
        seconds = str(math.ceil(node.timeout))
        argv += ["-to", seconds, "-ta", seconds]
    if node.dimse_timeout:
        argv += ["-td", str(math.ceil(node.dimse_timeout))]
    return _join([*argv, *args, node.host, str(node.port), *files])


def _join(words: Sequence[str]) -> str:
    return " ".join(_quote(word) for word in words)


def _quote(word: str) -> str:
    """shlex.quote, except that a word with an apostrophe (O'Brien) goes in double quotes when nothing in it is
    special there ($ ` \\ " and !, which an interactive bash expands): 'O'"'"'Brien' is correct but unreadable."""
    quoted = shlex.quote(word)
    if quoted != word and "'" in word and not any(ch in word for ch in '"$`\\!'):
        return f'"{word}"'
    return quoted


def _keys(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """-k NAME=VALUE for a matching key, -k NAME for a return key."""
    args: list[str] = []
    for name, value in pairs:
        args += ["-k", f"{name}={value}" if value else name]
    return args


# -- a transfer job ---------------------------------------------------------------------------------------------


def job_lines(job, node: Node, local_ae: str, *, configured: bool = True) -> CommandLine:
    """A job from the queue (store.jobs.Job) as the command that would queue it again: send, move or get."""
    if job.retrieve is None:
        return send_lines(node, local_ae, job.sources, int(job.options.get("parallel", DEFAULT_PARALLEL)),
                          configured=configured)
    request = job.retrieve.request
    where = (request.get("study_uid") or "", request.get("series_uid"), request.get("instance_uid"))
    if job.kind == "move":
        return move_lines(node, local_ae, job.retrieve.destination, *where, configured=configured)
    return get_lines(node, local_ae, *where, configured=configured)
