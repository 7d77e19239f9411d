"""Copy as command: each line command_lines.py writes is run in bash, as a colleague would paste it, against a real
peer; the dicomtui line and the dcmtk line must both work and agree (the same matches, the same instances).

bash finds `dicomtui` (this venv's) and the dcmtk tools (/usr/bin) through a PATH of its own: pynetdicom installs
tools named echoscu, storescu... that would otherwise shadow dcmtk's. Node names, values and paths carry spaces,
apostrophes, wildcards and non-ASCII text, so a quoting mistake breaks a run instead of passing unseen.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from dicomtui import command_lines as cl
from dicomtui.config.model import Node
from dicomtui.dicom.synthetic import INTERNATIONAL_PATIENTS, StudySpec, make_patient, make_specs, write_instances
from dicomtui.dicom.synthetic_worklist import make_worklist_specs, write_worklist
from dicomtui.engine.query_request import QueryRequest
from dicomtui.engine.receiver import Receiver, ReceiverSettings
from dicomtui.engine.worklist_request import WorklistRequest

from ..cli_runner import Home
from .harness import HOST, dcmtk, free_port
from .receiver_fixtures import write_config

pytestmark = pytest.mark.peers

LOCAL_AE = "DICOMTUI"
TOOLS = ("echoscu", "findscu", "movescu", "getscu", "storescu")
TIMEOUT = 60


@dataclass
class Ran:
    line: str
    code: int
    out: str
    err: str

    def __str__(self) -> str:  # shown by pytest when an assertion fails
        return f"$ {self.line}\n-> {self.code}\n--- stdout\n{self.out[-3000:]}--- stderr\n{self.err[-3000:]}"


class Shell:
    """bash in the `home` sandbox, with `dicomtui` and the dcmtk tools on its PATH and a config of test nodes."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.bin = home.root / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        dicomtui = Path(sys.executable).parent / "dicomtui"
        assert dicomtui.is_file(), f"{dicomtui} is missing: install the package into the venv (pip install -e .)"
        (self.bin / "dicomtui").symlink_to(dicomtui)
        for tool in TOOLS:
            (self.bin / tool).symlink_to(dcmtk(tool))

    def configure(self, *nodes: Node) -> None:
        text = f'[local]\nae_title = "{LOCAL_AE}"\n'
        for node in nodes:
            text += (f"\n[[nodes]]\nname = {json.dumps(node.name, ensure_ascii=False)}\n"
                     f'ae_title = "{node.ae_title}"\nhost = "{node.host}"\nport = {node.port}\n')
        write_config(self.home, text)

    def run(self, line: str) -> Ran:
        env = self.home.env | {"PATH": f"{self.bin}:/usr/bin:/bin", "TCP_NODELAY": "1", "LC_ALL": "C.UTF-8"}
        with subprocess.Popen(["bash", "-c", line], env=env, cwd=self.home.root, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                              errors="replace", start_new_session=True) as proc:
            try:
                out, err = proc.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
                pytest.fail(f"did not finish within {TIMEOUT} s: {line}\n{out[-2000:]}{err[-2000:]}", pytrace=False)
        return Ran(line, proc.returncode, out, err)

    def both(self, lines: cl.CommandLine) -> tuple[Ran, Ran]:
        """Run the dicomtui line, then the dcmtk one; each must succeed."""
        ours, theirs = self.run(lines.dicomtui), self.run(lines.dcmtk)
        assert ours.code == 0, ours
        assert theirs.code == 0, theirs
        assert "Traceback" not in ours.err, ours
        return ours, theirs


@pytest.fixture
def shell(home: Home) -> Shell:
    return Shell(home)


def node_of(peer, name: str) -> Node:
    return Node(name=name, ae_title=peer.ae_title, host=peer.host, port=peer.port)


def sop_uids(files) -> set[str]:
    return {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files}


def find_responses(ran: Ran) -> int:
    """How many pending responses findscu printed (one dump each, on stderr at its default log level)."""
    return len(re.findall(r"Find Response: \d+ \(Pending\)", ran.err + ran.out))


def dumped(ran: Ran, keyword: str) -> list[str]:
    """The values of `keyword` in findscu's dumps of the responses."""
    found = re.findall(rf"\[([^\]]*)\][^\n]*\b{keyword}$", ran.err + ran.out, flags=re.MULTILINE)
    return [value.strip() for value in found]


# -- echo ------------------------------------------------------------------------------------------------------


def test_echo_lines_of_a_node_and_of_an_address(shell, storescp):
    node = node_of(storescp, "store scp d'essai")  # a space and an apostrophe in the name users type
    nowhere = Node("nowhere", "NOBODY", HOST, free_port())
    shell.configure(node, nowhere)
    lines = cl.echo_lines(node, LOCAL_AE)
    assert lines.dicomtui == 'dicomtui echo "store scp d\'essai"'
    ours, theirs = shell.both(lines)
    assert ours.out.startswith(f"C-ECHO STORESCP@{HOST}:{storescp.port} from {LOCAL_AE}")
    shell.both(cl.echo_lines(node, LOCAL_AE, configured=False))
    # Both lines fail the same way when nothing answers.
    down = cl.echo_lines(nowhere, LOCAL_AE)
    ours, theirs = shell.run(down.dicomtui), shell.run(down.dcmtk)
    assert ours.code == 3 and "connection refused" in ours.err, ours
    assert theirs.code != 0, theirs


# -- find ------------------------------------------------------------------------------------------------------

ASCII = make_specs(patients=3, studies_per_patient=2, series_per_study=1, instances_per_series=1, seed=7401)
WORLD = make_specs(patients=4, international=True, series_per_study=1, instances_per_series=1, seed=7402)


@pytest.fixture(scope="module")
def archive(orthanc, tmp_path_factory: pytest.TempPathFactory):
    """The session Orthanc holding studies of this module's own seeds."""
    base = tmp_path_factory.mktemp("command-lines")
    orthanc.upload(write_instances(base / "ascii", ASCII) + write_instances(base / "world", WORLD))
    return orthanc


def test_find_lines_at_study_and_patient_level(shell, archive):
    node = node_of(archive, "archive ü*")  # non-ASCII and a wildcard in the name
    shell.configure(node)
    studies = QueryRequest(level="STUDY", keys={"PatientID": "SYN007401P*", "StudyDate": ""},
                           return_keys=["StudyID"])
    lines = cl.find_lines(node, LOCAL_AE, studies)
    ours, theirs = shell.both(lines)
    expected = {str(spec.study_uid) for spec in ASCII}
    assert ours.out.rstrip().endswith(f"{len(expected)} matches"), ours
    assert find_responses(theirs) == len(expected), theirs
    assert set(dumped(theirs, "StudyInstanceUID")) == expected, theirs

    limited = cl.find_lines(node, LOCAL_AE, QueryRequest(level="STUDY", keys={"PatientID": "SYN007401P*"}, limit=2))
    ours, theirs = shell.both(limited)
    assert ours.out.rstrip().endswith("2 matches (truncated at --limit 2)"), ours
    # findscu sends its C-CANCEL after 2 responses too, but prints what Orthanc had sent already (all of them):
    # the note says so.
    assert "--cancel 2" in limited.dcmtk and "C-CANCEL" in limited.note
    assert 2 <= find_responses(theirs) <= len(expected), theirs

    name = WORLD[0].patient.name  # Müller^Jürgen, stored as ISO_IR 100: the lines ask in UTF-8
    assert name == INTERNATIONAL_PATIENTS[0][0]
    patients = QueryRequest(level="PATIENT", model="patient", keys={"PatientName": name.split("^")[0] + "*",
                                                                    "PatientID": "SYN007402I*"},
                            return_keys=["NumberOfPatientRelatedStudies"])
    lines = cl.find_lines(node, LOCAL_AE, patients)
    assert "-P" in lines.dcmtk and "'SpecificCharacterSet=ISO_IR 192'" in lines.dcmtk
    ours, theirs = shell.both(lines)
    assert ours.out.rstrip().endswith("1 match"), ours
    assert find_responses(theirs) == 1, theirs
    assert dumped(theirs, "PatientID") == [WORLD[0].patient.patient_id], theirs


# -- move and get ----------------------------------------------------------------------------------------------


def study_files(out: Path, seed: int) -> list[Path]:
    spec = StudySpec(make_patient(0, seed=seed), modality="CT", series_count=2, instances_per_series=2, seed=seed)
    return write_instances(out, [spec])


def uids_of(path: Path) -> tuple[str, str, str]:
    ds = dcmread(path, stop_before_pixels=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)


def test_move_lines_at_each_level(shell, orthanc, storescp_factory, tmp_path):
    files = study_files(tmp_path / "src", seed=7403)
    orthanc.upload(files)
    peer = storescp_factory(ae_title="CMDMOVE")
    orthanc.set_modality("cmdmove", "CMDMOVE", peer.host, peer.port)
    node = node_of(orthanc, "Orthanc (main)")
    shell.configure(node)
    study, series, instance = uids_of(files[0])
    in_series = {uids_of(f)[2] for f in files if uids_of(f)[1] == series}
    for uids, expected in (((study,), sop_uids(files)), ((study, series), in_series),
                           ((study, series, instance), {instance})):
        lines = cl.move_lines(node, LOCAL_AE, "CMDMOVE", *uids)
        arrived = []
        for line in (lines.dicomtui, lines.dcmtk):
            ran = shell.run(line)
            assert ran.code == 0, ran
            arrived.append(sop_uids(peer.received()))
            for path in peer.received():
                path.unlink()
        assert arrived == [expected, expected], lines


def test_get_lines(shell, orthanc, tmp_path):
    files = study_files(tmp_path / "src", seed=7404)
    orthanc.upload(files)
    node = node_of(orthanc, "orthanc")
    shell.configure(node)
    study, series, _ = uids_of(files[0])
    folder = tmp_path / "got it"
    folder.mkdir()
    lines = cl.get_lines(node, LOCAL_AE, study, series, output=str(folder))
    shell.both(lines)
    expected = {uids_of(f)[2] for f in files if uids_of(f)[1] == series}
    archive = shell.home.root / "data" / "dicomtui" / "storage"
    assert sop_uids(p for p in archive.rglob("*.dcm") if ".incoming" not in p.parts) == expected
    assert sop_uids(p for p in folder.iterdir() if p.is_file()) == expected


# -- send ------------------------------------------------------------------------------------------------------


def test_send_lines_with_a_folder_tree_and_a_compressed_file(shell, storescp_factory, tmp_path):
    storescp = storescp_factory(fork=True)  # --parallel 2 may open two associations at once
    source = tmp_path / "to send"  # a space in the path
    files = write_instances(source / "tree", make_specs(patients=1, series_per_study=2, instances_per_series=2,
                                                         seed=7405))
    jpeg = Path(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm", download=False))
    single = tmp_path / "l'image.dcm"  # an apostrophe in a file name given on its own
    shutil.copyfile(jpeg, single)
    syntaxes = {str(dcmread(f, stop_before_pixels=True).file_meta.TransferSyntaxUID) for f in [*files, single]}
    node = node_of(storescp, "store")
    shell.configure(node)
    lines = cl.send_lines(node, LOCAL_AE, [str(source), str(single)], parallel=2, transfer_syntaxes=syntaxes)
    assert "-xy" in lines.dcmtk.split() and "--parallel 2" in lines.dicomtui and not lines.note
    expected = sop_uids([*files, single])
    arrived = []
    for line in (lines.dicomtui, lines.dcmtk):
        ran = shell.run(line)
        assert ran.code == 0, ran
        arrived.append(sop_uids(storescp.received()))
        syntax = {str(dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID) for p in storescp.received()}
        assert syntax == syntaxes, line  # each file went as it is, nothing converted
        for path in storescp.received():
            path.unlink()
    assert arrived == [expected, expected]


# -- worklist --------------------------------------------------------------------------------------------------


def steps_said(ran: Ran) -> int:
    match = re.search(r"^(\d+) scheduled steps?\b", ran.out, flags=re.MULTILINE)
    assert match, ran
    return int(match[1])


def test_worklist_lines_against_wlmscpfs(shell, wlmscpfs):
    node = node_of(wlmscpfs, "ris")
    shell.configure(node)
    for request, expected in ((WorklistRequest(modality="mr"), ["VIVALDI^ANTONIO", "MOZART^WOLFGANG^AMADEUS"]),
                              (WorklistRequest(modality="CT", date="19960101-19961231"),
                               ["VIVALDI^ANTONIO", "BEETHOVEN^LUDWIG^VAN"]),
                              (WorklistRequest(station="AA32", patient_name="HAYDN*"), ["HAYDN^FRANZ^JOSEPH"])):
        lines = cl.worklist_lines(node, LOCAL_AE, request)
        ours, theirs = shell.both(lines)
        assert steps_said(ours) == find_responses(theirs) == len(expected), (ours, theirs)
        assert sorted(dumped(theirs, "PatientName")) == sorted(expected), theirs


@pytest.fixture
def local_worklist(tmp_path) -> Iterator[tuple[Node, list]]:
    """Our receiver serving generated items scheduled for today (names in several character sets)."""
    specs = make_worklist_specs(datetime.date.today(), seed=7406, items=8)
    write_worklist(tmp_path / "worklists", specs)
    receiver = Receiver(ReceiverSettings(ae_title="LOCALWL", port=free_port(), bind=HOST, storage=tmp_path / "a",
                                         min_free_bytes=0, fsync=False, worklists=tmp_path / "worklists"))
    receiver.start()
    try:
        yield Node("this machine", "LOCALWL", HOST, receiver.settings.port), specs
    finally:
        receiver.stop(grace=2.0)


def test_worklist_lines_with_a_date_preset_and_a_non_ascii_name(shell, local_worklist):
    node, specs = local_worklist
    shell.configure()  # not a configured node: the dicomtui line names it AE@HOST:PORT
    today = [s for s in specs for step in s.steps if step.station == "CT01"]
    request = WorklistRequest(date="today", station="CT01")
    lines = cl.worklist_lines(node, LOCAL_AE, request, configured=False)
    assert "--date today" in lines.dicomtui and f"StartDate={datetime.date.today():%Y%m%d}" in lines.dcmtk
    ours, theirs = shell.both(lines)
    assert steps_said(ours) == find_responses(theirs) == len(today) >= 2, (ours, theirs)

    world = next(s for s in specs if not s.patient.name.isascii())
    request = WorklistRequest(date="today", patient_name=world.patient.name)
    lines = cl.worklist_lines(node, LOCAL_AE, request, configured=False)
    assert "'SpecificCharacterSet=ISO_IR 192'" in lines.dcmtk
    ours, theirs = shell.both(lines)
    assert steps_said(ours) == len(world.steps) and find_responses(theirs) == 1, (ours, theirs)
    assert dumped(theirs, "AccessionNumber") == [world.accession_number], theirs
