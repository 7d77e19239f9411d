"""Which path serves an association, and what the storage fast path does at its edges.

Associations that only store and echo are served by the receiver's own upper layer
(engine/receiver/fast_store.py); anything else goes to pynetdicom untouched. These tests use real
senders (dcmtk storescu, pynetdicom SCUs) and raw sockets for what no well-behaved sender does.
"""

from __future__ import annotations

import socket
import time
from io import BytesIO

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.dimse_messages import C_STORE_RQ
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dsutils import decode, encode
from pynetdicom.pdu import A_ASSOCIATE_RQ, P_DATA_TF
from pynetdicom.pdu_primitives import A_ASSOCIATE, ImplementationClassUIDNotification, MaximumLengthNotification
from pynetdicom.presentation import build_context
from pynetdicom.sop_class import (
    CTImageStorage,
    MRImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    Verification,
)

from dicomtui.dicom.synthetic import make_instance_of_size
from dicomtui.engine.receiver import AssociationClosed, InstanceRefused, InstanceStored, ReceiverProblem
from dicomtui.engine.wire import pdu

from .harness import HOST, echo
from .receiver_fixtures import RECEIVER_AE, flood_with_huge_pdu, served_by_fast_path, tree_hwm_kib

pytestmark = pytest.mark.peers

MiB = 1 << 20


def _associate(port: int, calling: str, *contexts) -> object:
    ae = AE(calling)
    for context in contexts:
        ae.add_requested_context(context, ExplicitVRLittleEndian)
    assoc = ae.associate(HOST, port, ae_title=RECEIVER_AE)
    assert assoc.is_established
    return assoc


def test_store_and_query_on_one_association_go_to_pynetdicom(receiver_factory, monkeypatch):
    served = served_by_fast_path(monkeypatch)
    rx = receiver_factory()
    ds = make_instance_of_size(40_000, seed=9601)
    assoc = _associate(rx.port, "MIXED", CTImageStorage, StudyRootQueryRetrieveInformationModelFind)
    try:
        assert assoc.send_c_store(ds).Status == 0x0000
        rx.receiver.wait_indexed()
        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        query.StudyInstanceUID = ds.StudyInstanceUID
        answers = [identifier for status, identifier in
                   assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind)
                   if status and status.Status in (0xFF00, 0xFF01)]
        assert [a.StudyInstanceUID for a in answers] == [ds.StudyInstanceUID]
    finally:
        assoc.release()
    assert served == []  # pynetdicom served it
    assert len(rx.stored_files()) == 1


def test_storage_only_association_uses_the_fast_path(receiver_factory, monkeypatch):
    served = served_by_fast_path(monkeypatch)
    rx = receiver_factory()
    ds = make_instance_of_size(40_000, seed=9602)
    assoc = _associate(rx.port, "STOREONLY", CTImageStorage, Verification)
    try:
        assert assoc.send_c_echo().Status == 0x0000
        assert assoc.send_c_store(ds).Status == 0x0000
    finally:
        assoc.release()
    assert served == ["STOREONLY"]
    closed = rx.events.wait_for_kind(AssociationClosed)
    assert (closed[0].how, closed[0].instances) == ("released", 1)
    stored = dcmread(rx.storage / rx.events.of(InstanceStored)[0].path)
    # The Part 10 header says who sent it and in which transfer syntax it came.
    assert stored.file_meta.SourceApplicationEntityTitle == "STOREONLY"
    assert stored.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert stored.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert stored.PixelData == ds.PixelData


def test_a_refusal_tells_the_sender_why(receiver_factory):
    rx = receiver_factory(min_free_bytes=1 << 60)  # no disk has that much free
    assoc = _associate(rx.port, "FULLDISK", CTImageStorage)
    try:
        status = assoc.send_c_store(make_instance_of_size(20_000, seed=9603))
    finally:
        assoc.release()
    assert status.Status == 0xA700
    assert "free in the storage folder" in status.ErrorComment
    assert rx.events.of(InstanceRefused)[0].status == 0xA700
    assert rx.stored_files() == []


def test_the_association_limit_rejects_the_next_caller(receiver_factory):
    rx = receiver_factory(max_associations=1)
    first = _associate(rx.port, "FIRST", CTImageStorage)
    try:
        ae = AE("SECOND")
        ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
        second = ae.associate(HOST, rx.port, ae_title=RECEIVER_AE)
        assert second.is_rejected
        assert first.send_c_store(make_instance_of_size(20_000, seed=9604)).Status == 0x0000
    finally:
        first.release()
    rejected = [e for e in rx.events.of(AssociationClosed) if e.how == "rejected"]
    assert "SECOND" in rejected[0].detail and "maximum" in rejected[0].detail


def _request_bytes(calling: str) -> bytes:
    """An A-ASSOCIATE-RQ for CT Image Storage (context 1), encoded by pynetdicom."""
    primitive = A_ASSOCIATE()
    primitive.application_context_name = "1.2.840.10008.3.1.1.1"
    primitive.calling_ae_title = calling
    primitive.called_ae_title = RECEIVER_AE
    context = build_context(CTImageStorage, ExplicitVRLittleEndian)
    context.context_id = 1
    primitive.presentation_context_definition_list = [context]
    maximum = MaximumLengthNotification()
    maximum.maximum_length_received = 16384
    implementation = ImplementationClassUIDNotification()
    implementation.implementation_class_uid = "1.2.3.4"
    primitive.user_information = [maximum, implementation]
    request = A_ASSOCIATE_RQ()
    request.from_primitive(primitive)
    return request.encode()


def _read_pdu(sock: socket.socket) -> tuple[int, bytes]:
    head = sock.recv(6, socket.MSG_WAITALL)
    kind, length = pdu.header(head)
    return kind, sock.recv(length, socket.MSG_WAITALL)


def test_a_request_that_arrives_in_pieces_is_accepted(receiver_factory):
    rx = receiver_factory()
    request = _request_bytes("SLOWRQ")
    with socket.create_connection((HOST, rx.port), timeout=10) as sock:
        for piece in (request[:3], request[3:40], request[40:]):
            sock.sendall(piece)
            time.sleep(0.2)
        kind, _ = _read_pdu(sock)
        assert kind == pdu.A_ASSOCIATE_AC
        sock.sendall(bytes([pdu.A_RELEASE_RQ, 0, 0, 0, 0, 4, 0, 0, 0, 0]))
        assert _read_pdu(sock)[0] == pdu.A_RELEASE_RP
    assert rx.events.wait_for_kind(AssociationClosed)[0].how == "released"


def test_a_huge_pdu_after_association_is_refused_without_memory_growth(serve_factory):
    served = serve_factory()
    before = tree_hwm_kib(served.pid)
    with socket.create_connection((HOST, served.port), timeout=5) as sock:
        sock.sendall(_request_bytes("HUGEPDU"))
        assert _read_pdu(sock)[0] == pdu.A_ASSOCIATE_AC
        sent, outcome = flood_with_huge_pdu(sock, pdu_type=pdu.P_DATA_TF)
    assert outcome == "closed", f"the receiver did not close the connection ({outcome} after {sent // MiB} MiB)"
    assert sent < 64 * MiB
    assert (tree_hwm_kib(served.pid) - before) / 1024 < 50
    assert echo(HOST, served.port, RECEIVER_AE).ok
    assert "announced a PDU of 4294967040 bytes" in served.log(), served.log()[-3000:]


def test_data_without_a_command_aborts_that_association_only(receiver_factory):
    rx = receiver_factory()
    with socket.create_connection((HOST, rx.port), timeout=10) as sock:
        sock.sendall(_request_bytes("BROKEN"))
        assert _read_pdu(sock)[0] == pdu.A_ASSOCIATE_AC
        sock.sendall(pdu.p_data(1, b"\x08\x00\x18\x00\x00\x00\x00\x00", command=False))
        kind, body = _read_pdu(sock)
        assert kind == pdu.A_ABORT
    problems = [e.message for e in rx.events.wait_for_kind(ReceiverProblem)]
    assert "BROKEN" in problems[0] and "without a C-STORE request" in problems[0]
    assert rx.events.wait_for_kind(AssociationClosed)[0].how == "aborted"
    assert echo(HOST, rx.port, RECEIVER_AE).ok


def test_an_instance_on_the_wrong_context_is_refused_and_reported(receiver_factory):
    """A C-STORE whose SOP Class is not the one its presentation context was accepted for."""
    rx = receiver_factory()
    ds = make_instance_of_size(10_000, seed=9605)
    request = C_STORE()
    request.MessageID = 5
    request.AffectedSOPClassUID = MRImageStorage  # context 1 was accepted for CT Image Storage
    request.AffectedSOPInstanceUID = ds.SOPInstanceUID
    request.Priority = 2
    request.DataSet = BytesIO(encode(ds, False, True))
    message = C_STORE_RQ()
    message.primitive_to_message(request)
    with socket.create_connection((HOST, rx.port), timeout=10) as sock:
        sock.sendall(_request_bytes("WRONGCX"))
        assert _read_pdu(sock)[0] == pdu.A_ASSOCIATE_AC
        for primitive in message.encode_msg(1, 16384):
            encoded = P_DATA_TF()
            encoded.from_primitive(primitive)
            sock.sendall(encoded.encode())
        kind, body = _read_pdu(sock)
        assert kind == pdu.P_DATA_TF
        response = decode(BytesIO(body[6:]), True, True)
        assert (response.Status, response.MessageIDBeingRespondedTo) == (0x0122, 5)
        assert "presentation context" in response.ErrorComment
    refused = rx.events.wait_for_kind(InstanceRefused)[0]
    assert (refused.status, refused.calling_ae) == (0x0122, "WRONGCX")
    assert rx.stored_files() == [] and rx.incoming_files() == []
