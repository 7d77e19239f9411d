"""The fast path's own encoders and decoders, checked against pydicom's reading of the same bytes."""

from __future__ import annotations

import socket
from io import BytesIO

import pytest
from pydicom import dcmread
from pydicom.uid import CTImageStorage, JPEG2000Lossless
from pynetdicom.dimse_messages import C_STORE_RQ
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dsutils import decode, encode

from dicomtui.engine.wire import commands, negotiation, pdu
from dicomtui.engine.wire.part10 import file_header
from dicomtui.engine.wire.reader import PeerClosed, SocketReader


def test_store_response_reads_back_with_pydicom():
    raw = commands.store_response(7, CTImageStorage, "1.2.3.4.5", 0xA700, "only 3 MB free\\ in the folder")
    ds = decode(BytesIO(raw), True, True)
    assert (ds.CommandField, ds.MessageIDBeingRespondedTo, ds.Status) == (0x8001, 7, 0xA700)
    assert (ds.AffectedSOPClassUID, ds.AffectedSOPInstanceUID) == (CTImageStorage, "1.2.3.4.5")
    assert ds.ErrorComment == "only 3 MB free/ in the folder"  # no backslash: it would split the value
    assert ds.CommandGroupLength == len(raw) - 12


def test_success_has_no_error_comment():
    ds = decode(BytesIO(commands.store_response(1, CTImageStorage, "1.2", 0x0000, "ignored")), True, True)
    assert "ErrorComment" not in ds


def test_echo_response_reads_back_with_pydicom():
    ds = decode(BytesIO(commands.echo_response(3, "1.2.840.10008.1.1")), True, True)
    assert (ds.CommandField, ds.MessageIDBeingRespondedTo, ds.Status, ds.CommandDataSetType) == (0x8030, 3, 0, 0x0101)


def test_parse_reads_what_pynetdicom_encodes():
    request = C_STORE()
    request.MessageID = 12
    request.AffectedSOPClassUID = CTImageStorage
    request.AffectedSOPInstanceUID = "1.2.3.4.5.6"
    request.Priority = 2
    request.MoveOriginatorApplicationEntityTitle = "ORTHANC"
    request.MoveOriginatorMessageID = 4
    request.DataSet = BytesIO(b"\x08\x00\x60\x00\x02\x00\x00\x00CT")
    message = C_STORE_RQ()
    message.primitive_to_message(request)
    command = commands.parse(encode(message.command_set, True, True))
    assert command == commands.Command(commands.C_STORE_RQ, 12, CTImageStorage, "1.2.3.4.5.6", True, "ORTHANC")


@pytest.mark.parametrize("raw", [b"\x00\x00", b"\x00\x00\x00\x01\xff\x00\x00\x00", b""])
def test_broken_command_sets_are_errors(raw):
    with pytest.raises(commands.CommandError):
        commands.parse(raw)


def test_file_header_reads_back_with_pydicom(tmp_path):
    path = tmp_path / "x.dcm"
    # An odd-length UID and AE title: both padded as PS3.5 wants.
    path.write_bytes(file_header(CTImageStorage, "1.2.345", JPEG2000Lossless, "CT01") + b"\x08\x00\x60\x00CT")
    ds = dcmread(path, force=False)
    meta = ds.file_meta
    assert (meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID) == (CTImageStorage, "1.2.345")
    assert meta.TransferSyntaxUID == JPEG2000Lossless
    assert meta.SourceApplicationEntityTitle == "CT01"
    assert meta.FileMetaInformationVersion == b"\x00\x01"
    group = len(file_header(CTImageStorage, "1.2.345", JPEG2000Lossless, "CT01")) - 128 - 4 - 12
    assert meta.FileMetaInformationGroupLength == group


def test_pdu_framing():
    data = pdu.p_data(5, b"abcd", command=True)
    assert pdu.header(data) == (pdu.P_DATA_TF, 10)
    assert pdu.pdv_header(data[6:]) == (4, 5, 0x03)
    assert pdu.header(pdu.release_rp()) == (pdu.A_RELEASE_RP, 4)
    assert pdu.abort(pdu.SERVICE_PROVIDER, 6)[-2:] == b"\x02\x06"


def test_reader_hands_out_exact_pieces_across_receives():
    left, right = socket.socketpair()
    with left, right:
        payload = bytes(range(256)) * 40  # 10 KB, read through a 1 KB buffer
        right.sendall(b"HEAD" + payload + b"TAIL")
        right.shutdown(socket.SHUT_WR)
        reader = SocketReader(left, size=1024)
        assert reader.read(4) == b"HEAD"
        collected = bytearray()
        reader.pass_through(len(payload), collected.extend)
        assert bytes(collected) == payload
        assert reader.read(4) == b"TAIL"
        with pytest.raises(PeerClosed):
            reader.read(1)


def test_reader_reads_more_than_its_buffer():
    left, right = socket.socketpair()
    with left, right:
        right.sendall(b"x" * 5000)
        assert SocketReader(left, size=1024).read(5000) == b"x" * 5000


def test_association_request_reads_back_with_pynetdicom():
    from pynetdicom.pdu import A_ASSOCIATE_RQ

    raw = negotiation.request("OURS", "THEIRS", [(1, "1.2.840.10008.1.1", ["1.2.840.10008.1.2"]),
                                                 (3, CTImageStorage, ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"])],
                              65536, "1.2.3.4", "DICOMTUI")
    decoded = A_ASSOCIATE_RQ()
    decoded.decode(raw)
    primitive = decoded.to_primitive()
    assert (primitive.calling_ae_title, primitive.called_ae_title) == ("OURS", "THEIRS")
    contexts = primitive.presentation_context_definition_list
    assert [(c.context_id, c.abstract_syntax, list(c.transfer_syntax)) for c in contexts] == [
        (1, "1.2.840.10008.1.1", ["1.2.840.10008.1.2"]),
        (3, CTImageStorage, ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"])]
    assert primitive.maximum_length_received == 65536
    assert primitive.implementation_class_uid == "1.2.3.4"


def test_association_acceptance_written_by_pynetdicom_reads_back():
    from pynetdicom.pdu import A_ASSOCIATE_AC
    from pynetdicom.pdu_primitives import (
        A_ASSOCIATE,
        ImplementationClassUIDNotification,
        MaximumLengthNotification,
    )
    from pynetdicom.presentation import PresentationContext

    primitive = A_ASSOCIATE()
    primitive.application_context_name = "1.2.840.10008.3.1.1.1"
    primitive.calling_ae_title, primitive.called_ae_title = "OURS", "THEIRS"
    primitive.result, primitive.result_source = 0, 1
    results = []
    for context_id, result in ((1, 0), (3, 3)):
        context = PresentationContext()
        context.context_id, context.result = context_id, result
        context.transfer_syntax = ["1.2.840.10008.1.2.1"]
        results.append(context)
    primitive.presentation_context_definition_results_list = results
    maximum = MaximumLengthNotification()
    maximum.maximum_length_received = 16384
    implementation = ImplementationClassUIDNotification()
    implementation.implementation_class_uid = "1.2.3"
    primitive.user_information = [maximum, implementation]
    encoded = A_ASSOCIATE_AC()
    encoded.from_primitive(primitive)
    acceptance = negotiation.read_acceptance(encoded.encode()[6:])
    assert acceptance.max_pdu == 16384
    assert acceptance.contexts == [negotiation.ContextResult(1, 0, "1.2.840.10008.1.2.1"),
                                   negotiation.ContextResult(3, 3, "1.2.840.10008.1.2.1")]
    assert negotiation.read_rejection(bytes([0, 1, 1, 3])) == (1, 1, 3)


def test_two_messages_in_one_pdu_are_read_one_after_the_other():
    """A peer may put the fragments of several messages in one P-DATA-TF PDU (PS3.8 9.3.5)."""
    from dicomtui.engine.association_failure import Timeouts
    from dicomtui.engine.fast_association import FastAssociation

    def find_response(status: int, with_data: bool) -> bytes:
        body = (commands._uid(0x0002, "1.2.840.10008.5.1.4.1.2.2.1") + commands._us(0x0100, commands.C_FIND_RSP)
                + commands._us(0x0120, 7) + commands._us(0x0800, 0x0000 if with_data else 0x0101)
                + commands._us(0x0900, status))
        return commands._with_group_length(body)

    def pdv(payload: bytes, control: int) -> bytes:
        return (len(payload) + 2).to_bytes(4, "big") + bytes([1, control]) + payload

    identifier = b"\x10\x00\x10\x00\x06\x00\x00\x00DOE^J "
    items = pdv(find_response(0xFF00, True), 0x03) + pdv(identifier, 0x02) + pdv(find_response(0x0000, False), 0x03)
    left, right = socket.socketpair()
    with left, right:
        right.sendall(bytes([pdu.P_DATA_TF, 0]) + len(items).to_bytes(4, "big") + items)
        assoc = FastAssociation(left, SocketReader(left), Timeouts(5, 5, 5), 0)
        first = assoc.receive()
        assert (first.command.status, first.data) == (0xFF00, identifier)
        final = assoc.receive()
        assert (final.command.status, final.data) == (0x0000, None)
        assert assoc.pdu_left == 0
