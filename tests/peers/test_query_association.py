"""`find` opens its own association (engine/fast_association.py): each way it can fail to get one is
explained as open_association explains it, against a peer that really fails that way."""

from __future__ import annotations

import time

import pytest

from dicomtui.config import Node
from dicomtui.engine.query import QueryRequest, find

from .harness import HOST, free_port

pytestmark = pytest.mark.peers


def _node(ae: str, port: int) -> Node:
    return Node(ae.lower(), ae, HOST, port)


# --limit with C-CANCEL through find(): test_query.py's test_cli_json_csv_and_table (Orthanc).


def test_closed_port():
    result = find(_node("NOBODY", free_port()), "DICOMTUI", QueryRequest(), timeout=5)
    assert result.failure == "refused" and "nothing is listening" in result.error


def test_wrong_called_ae_title_is_explained(orthanc_strict):
    result = find(_node("NOT_STRICT", orthanc_strict.port), "DICOMTUI", QueryRequest())
    assert result.failure == "rejected" and result.no_association
    assert "called AE title not recognised" in result.error and "'NOT_STRICT'" in result.error


def test_a_peer_that_rejects_everything(storescp_factory):
    refusing = storescp_factory(ae_title="REFUSER", extra_args=["--refuse"], wait=False)
    time.sleep(0.3)  # --refuse rejects every echo too: the harness cannot wait for an answer
    result = find(_node("REFUSER", refusing.port), "DICOMTUI", QueryRequest())
    assert result.failure == "rejected" and "without giving a reason" in result.error


def test_a_silent_peer_fails_within_the_timeout(silent_peer):
    started = time.monotonic()
    result = find(Node("silent", "SILENT", silent_peer.host, silent_peer.port), "DICOMTUI", QueryRequest(),
                  timeout=1.0)
    assert result.failure == "timeout" and "did not answer the association request" in result.error
    assert time.monotonic() - started < 3


def test_a_web_server_is_not_dicom(orthanc):
    result = find(Node("web", "ORTHANC", HOST, orthanc.http_port), "DICOMTUI", QueryRequest(), timeout=5)
    assert result.failure == "aborted" and "not DICOM" in result.error, result.error

