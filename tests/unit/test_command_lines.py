"""command_lines.py without a peer: quoting (spaces, apostrophes, non-ASCII, wildcards, a leading dash), what
the CLI's own parser reads back from each dicomtui line, and the choices in the dcmtk lines.
tests/peers/test_command_lines.py runs the lines against real peers."""

from __future__ import annotations

import datetime
import json
import os
import shlex
import subprocess
import sys

import pytest

from dicomtui import command_lines as cl
from dicomtui.cli import build_parser
from dicomtui.config.model import Node
from dicomtui.engine.query_request import QueryRequest
from dicomtui.engine.worklist_request import WorklistRequest

AWKWARD = ["main pacs", "O'Brien's PACS", "archivo ñ", "pacs*", "-dash", 'say "hi" $HOME `x` \\ ;']
PACS = Node("pacs", "PACS", "10.0.0.5", 104)
JPEG = "1.2.840.10008.1.2.4.50"
RLE = "1.2.840.10008.1.2.5"
EXPLICIT = "1.2.840.10008.1.2.1"


def parsed(line: str):
    """What `dicomtui` makes of a line: the shell's words, read by the CLI's own parser."""
    argv = shlex.split(line)
    assert argv[0] == "dicomtui"
    return build_parser().parse_args(argv[1:])


def dcmtk_keys(line: str) -> list[str]:
    argv = shlex.split(line)
    return [argv[i + 1] for i, word in enumerate(argv) if word == "-k"]


@pytest.mark.parametrize("name", AWKWARD)
def test_every_dicomtui_line_gives_the_cli_the_node_name_as_typed(name):
    node = Node(name, "PACS", "10.0.0.5", 104)
    request = QueryRequest(keys={"PatientName": "O'Brien*"})
    lines = [cl.echo_lines(node, "ME"), cl.find_lines(node, "ME", request),
             cl.move_lines(node, "ME", "DEST", "1.2.3"), cl.get_lines(node, "ME", "1.2.3"),
             cl.send_lines(node, "ME", ["/data/a b"]), cl.worklist_lines(node, "ME", WorklistRequest(modality="CT"))]
    for line in lines:
        assert parsed(line.dicomtui).target == name, line.dicomtui
        assert shlex.split(line.dcmtk)[-2:] == ["10.0.0.5", "104"] or "storescu" in line.dcmtk


@pytest.mark.parametrize("name", AWKWARD)
def test_bash_reads_the_words_back(name):
    """The words bash makes of a line are the ones meant (printf stands in for the program)."""
    line = cl.find_lines(Node(name, "PACS", "10.0.0.5", 104), "ME", QueryRequest(keys={"PatientName": "O'Brien*"}))
    for text in (line.dicomtui, line.dcmtk):
        program, rest = text.split(" ", 1)
        # failglob: a wildcard left unquoted fails the run instead of staying as it is when nothing matches.
        said = subprocess.run(["bash", "-O", "failglob", "-c", f"printf '%s\\0' {rest}"], capture_output=True,
                              timeout=30, cwd="/")
        assert said.stdout.decode().split("\0")[:-1] == shlex.split(text)[1:], text


def test_apostrophes_read_as_they_are_written_where_they_can():
    assert cl.echo_lines(Node("O'Brien's PACS", "P", "h", 1), "ME").dicomtui == 'dicomtui echo "O\'Brien\'s PACS"'
    line = cl.find_lines(PACS, "ME", QueryRequest(keys={"PatientName": "O'Brien*", "PatientID": "$x'"}))
    assert "-k \"PatientName=O'Brien*\"" in line.dicomtui  # no glob inside double quotes either
    assert "-k 'PatientID=$x'\"'\"''" in line.dicomtui  # a $ would expand in double quotes: single quotes then


def test_a_node_outside_the_config_is_named_by_its_address():
    node = Node("whatever", "ORTHANC", "::1", 4242)
    line = cl.echo_lines(node, "ME", configured=False)
    assert parsed(line.dicomtui).target == "ORTHANC@[::1]:4242"
    assert line.dcmtk == "echoscu -aet ME -aec ORTHANC ::1 4242"


def test_echo_lines_carry_the_nodes_timeouts_as_whole_seconds():
    node = Node("slow", "SLOW AE", "wan.example.org", 11112, timeout=2.5, dimse_timeout=30)
    line = cl.echo_lines(node, "MY AE")
    assert line.dicomtui == "dicomtui echo slow"
    assert shlex.split(line.dcmtk) == ["echoscu", "-aet", "MY AE", "-aec", "SLOW AE", "-to", "3", "-ta", "3",
                                       "-td", "30", "wan.example.org", "11112"]


def test_find_values_with_wildcards_apostrophes_and_non_ascii_survive_the_shell():
    request = QueryRequest(level="SERIES", keys={"PatientName": "D'Angelo*", "Modality": "C?",
                                                 "StudyDescription": "Thorax Übersicht", "SeriesNumber": ""},
                           return_keys=["BodyPartExamined", "(0018,0050)"], limit=5)
    line = cl.find_lines(PACS, "ME", request)
    args = parsed(line.dicomtui)
    assert (args.level, args.model, args.limit) == ("series", "study", 5)
    assert args.keys == ["PatientName=D'Angelo*", "Modality=C?", "StudyDescription=Thorax Übersicht", "SeriesNumber=",
                         "BodyPartExamined", "(0018,0050)"]
    keys = dcmtk_keys(line.dcmtk)
    # The level and the character set first, then what is matched, then what is only returned.
    assert keys[:5] == ["QueryRetrieveLevel=SERIES", "SpecificCharacterSet=ISO_IR 192", "PatientName=D'Angelo*",
                        "Modality=C?", "StudyDescription=Thorax Übersicht"]
    assert {"SeriesNumber", "BodyPartExamined", "SeriesInstanceUID", "0018,0050"} <= set(keys[5:])
    assert shlex.split(line.dcmtk)[:2] == ["findscu", "-S"] and "--cancel" in line.dcmtk and line.note


def test_find_dates_go_to_findscu_as_dicom_ranges_and_ascii_needs_no_character_set():
    request = QueryRequest(level="PATIENT", model="patient", keys={"PatientBirthDate": "1970-01-01-1979-12-31"})
    line = cl.find_lines(PACS, "ME", request)
    assert parsed(line.dicomtui).model == "patient"
    keys = dcmtk_keys(line.dcmtk)
    assert "PatientBirthDate=19700101-19791231" in keys
    assert not any(k.startswith("SpecificCharacterSet") for k in keys)
    assert shlex.split(line.dcmtk)[1] == "-P" and not line.note


def test_move_and_get_name_the_level_of_the_most_specific_uid():
    move = cl.move_lines(PACS, "ME", "WORKSTATION", "1.2.3", "1.2.3.4", "1.2.3.4.5")
    args = parsed(move.dicomtui)
    assert (args.dest, args.study, args.series, args.instance) == ("WORKSTATION", "1.2.3", "1.2.3.4", "1.2.3.4.5")
    assert move.dcmtk == ("movescu -S -aet ME -aec PACS -aem WORKSTATION -k QueryRetrieveLevel=IMAGE "
                          "-k StudyInstanceUID=1.2.3 -k SeriesInstanceUID=1.2.3.4 -k SOPInstanceUID=1.2.3.4.5 "
                          "10.0.0.5 104")
    get = cl.get_lines(PACS, "ME", "1.2.3", output="/tmp/my images")
    assert parsed(get.dicomtui).study == "1.2.3" and parsed(get.dicomtui).series is None
    assert shlex.split(get.dcmtk) == ["getscu", "-S", "-aet", "ME", "-aec", "PACS", "-od", "/tmp/my images", "-k",
                                      "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=1.2.3", "10.0.0.5", "104"]


def test_send_paths_with_spaces_and_a_leading_dash():
    line = cl.send_lines(PACS, "ME", ["/data/new scans", "-odd.dcm", "/d/l'image.dcm"], parallel=2,
                         transfer_syntaxes=[EXPLICIT])
    args = parsed(line.dicomtui)
    assert (args.target, args.paths, args.parallel) == ("pacs", ["/data/new scans", "-odd.dcm", "/d/l'image.dcm"], 2)
    assert shlex.split(line.dcmtk)[-3:] == ["/data/new scans", "./-odd.dcm", "/d/l'image.dcm"]
    assert {"+sd", "+r", "-R"} <= set(shlex.split(line.dcmtk)) and not line.note
    assert "--parallel" not in cl.send_lines(PACS, "ME", ["/x"]).dicomtui  # the default is left out


def test_send_proposes_the_one_compressed_syntax_it_knows_of_and_says_when_it_cannot():
    assert "-xy" in shlex.split(cl.send_lines(PACS, "ME", ["/x"], transfer_syntaxes=[JPEG, EXPLICIT]).dcmtk)
    unknown = cl.send_lines(PACS, "ME", ["/x"])
    assert "-xy" not in unknown.dcmtk and "-xy JPEG baseline" in unknown.note
    mixed = cl.send_lines(PACS, "ME", ["/x"], transfer_syntaxes=[JPEG, RLE, EXPLICIT])
    assert not {"-xy", "-xr"} & set(shlex.split(mixed.dcmtk))
    assert "one compressed transfer syntax per run" in mixed.note and "-xy, -xr" in mixed.note


def test_worklist_presets_stay_words_for_dicomtui_and_become_dates_for_findscu():
    request = WorklistRequest(date="week", modality="ct", station="CT 01", patient_name="Müller^J*")
    line = cl.worklist_lines(PACS, "ME", request, today=datetime.date(2024, 1, 5))  # a Friday
    args = parsed(line.dicomtui)
    assert (args.date, args.modality, args.station, args.patient) == ("week", "CT", "CT 01", "Müller^J*")
    keys = dcmtk_keys(line.dcmtk)
    step = "ScheduledProcedureStepSequence[0]"
    assert keys[:6] == ["SpecificCharacterSet=ISO_IR 192", "PatientName=Müller^J*",
                        f"{step}.ScheduledStationAETitle=CT 01",
                        f"{step}.ScheduledProcedureStepStartDate=20240101-20240107", f"{step}.Modality=CT",
                        "PatientID"]
    assert f"{step}.ScheduledProtocolCodeSequence" in keys and "StudyInstanceUID" in keys
    assert shlex.split(line.dcmtk)[:2] == ["findscu", "-W"] and not line.note


def test_worklist_filters_the_cli_lacks_are_named_in_the_note():
    line = cl.worklist_lines(PACS, "ME", WorklistRequest(patient_id="P1", accession_number="A1"))
    assert "PatientID=P1" in dcmtk_keys(line.dcmtk) and "AccessionNumber=A1" in dcmtk_keys(line.dcmtk)
    assert "patient ID, accession number" in line.note
    assert parsed(line.dicomtui).date == ""


def test_the_module_loads_neither_textual_nor_the_dicom_stack():
    probe = ("import json, sys, dicomtui.command_lines; print(json.dumps(sorted(m for m in sys.modules "
             "if m.split('.')[0] in ('textual', 'pydicom', 'pynetdicom'))))")
    env = {k: v for k, v in os.environ.items() if k != "DICOMTUI_CONFIG"}
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
