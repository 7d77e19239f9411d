"""`dicomtui echo` as a script sees it, against real peers: output, JSON and exit codes."""

from __future__ import annotations

import json
import time

import pytest

from ..cli_runner import interrupted_while_connecting, run
from .harness import HOST, free_port

pytestmark = pytest.mark.peers


def test_echo_orthanc_by_node_name(home, orthanc):
    added = run(home, "nodes", "add", "orthanc", f"{orthanc.ae_title}@{HOST}:{orthanc.port}")
    assert added.code == 0, added
    result = run(home, "echo", "orthanc", "--count", "3")
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0] == f"C-ECHO ORTHANC@{HOST}:{orthanc.port} from DICOMTUI"
    assert [line.split(":")[0] for line in lines[1:4]] == ["reply 1", "reply 2", "reply 3"]
    assert lines[4].startswith("ok: 3/3 replies, rtt min/avg/max ")
    assert result.err == ""
    shown = json.loads(run(home, "nodes", "show", "orthanc", "--json").out)
    assert shown["last_echo"]["ok"] is True and shown["last_echo"]["rtt_ms"] > 0


def test_echo_json_contract(home, storescp):
    result = run(home, "echo", f"{storescp.ae_title}@{HOST}:{storescp.port}", "--json", "--count", "2")
    assert result.code == 0, result
    data = json.loads(result.out)
    assert list(data) == ["target", "ok", "rtt_ms", "error"]
    assert data["target"] == f"{storescp.ae_title}@{HOST}:{storescp.port}"
    assert data["ok"] is True and data["error"] is None
    assert len(data["rtt_ms"]) == 2 and all(isinstance(v, float) for v in data["rtt_ms"])


def test_closed_port_exits_3(home):
    port = free_port()
    result = run(home, "echo", f"PACS@{HOST}:{port}")
    assert result.code == 3, result
    assert result.err == (f"dicomtui: echo PACS@{HOST}:{port}: connection refused by {HOST} port {port}: "
                          "nothing is listening on that port; check the port number and that the DICOM "
                          "service is running\n")


def test_rejection_exits_3_and_says_why(home, orthanc_strict):
    result = run(home, "echo", f"WRONG@{HOST}:{orthanc_strict.port}", "--json")
    assert result.code == 3, result
    data = json.loads(result.out)
    assert data["ok"] is False and data["rtt_ms"] == []
    assert "called AE title not recognised" in data["error"]


def test_silent_peer_exits_3_within_the_timeout(home, silent_peer):
    started = time.monotonic()
    result = run(home, "echo", f"HUNG@{HOST}:{silent_peer.port}", "--timeout", "1")
    elapsed = time.monotonic() - started
    assert result.code == 3, result
    assert "no answer within 1 s" in result.err
    assert elapsed < 4.0, "process start + 1 s timeout + exit"


def test_ctrl_c_exits_130_at_once(home, silent_peer):
    args = ("echo", f"HUNG@{HOST}:{silent_peer.port}", "--timeout", "30")
    done, took = interrupted_while_connecting(home, args, silent_peer)
    out, err = done.out, done.err
    assert done.code == 130, (out, err)
    assert took < 3.0
    assert err.strip() == "dicomtui: interrupted" and "Traceback" not in err
