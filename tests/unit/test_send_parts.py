"""The send engine's pieces without a peer: scanning file metas, planning contexts, framing the data set."""

from __future__ import annotations

import socket
import threading
from io import BytesIO
from pathlib import Path

from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEG2000Lossless, RLELossless

from dicomtui.dicom.quick_header import data_set_offset
from dicomtui.dicom.synthetic import generate_studies
from dicomtui.engine.send.plan import MAX_CONTEXTS, plan
from dicomtui.engine.send.scan import DicomFile, read_file_meta, scan
from dicomtui.engine.send.stream import send_store
from dicomtui.engine.wire import commands, pdu

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"


def fake(sop_class: str, syntax: str, n: int = 0) -> DicomFile:
    return DicomFile(Path(f"/x/{sop_class}-{syntax}-{n}"), sop_class, f"1.2.3.{n}", syntax, 300, 1000)


def test_scan_reads_the_file_meta_and_the_data_set_offset(tmp_path):
    path = generate_studies(tmp_path, patients=1, series_per_study=1, instances_per_series=1, seed=5,
                            instance_bytes=5_000)[0]
    found = read_file_meta(path)
    ds = dcmread(path)
    assert isinstance(found, DicomFile)
    assert (found.sop_class_uid, found.sop_instance_uid, found.transfer_syntax) == (
        ds.SOPClassUID, ds.SOPInstanceUID, ExplicitVRLittleEndian)
    raw = path.read_bytes()
    assert found.data_offset == data_set_offset(raw[:1024])  # the receiver's reading of the group length
    assert raw[found.data_offset:found.data_offset + 2] == b"\x08\x00"  # group 0008 begins the data set
    assert found.data_set_bytes == len(raw) - found.data_offset


def test_scan_without_group_length_and_with_a_long_meta(tmp_path):
    path = generate_studies(tmp_path, patients=1, series_per_study=1, instances_per_series=1, seed=6,
                            instance_bytes=5_000)[0]
    raw = path.read_bytes()
    group_length = raw[132:144]
    assert group_length[:4] == b"\x02\x00\x00\x00"
    # No (0002,0000), and a private-ish (0002,0100) OB element of 10 kB: the meta spans several reads.
    padding = b"\x02\x00\x00\x01OB\x00\x00" + (10_000).to_bytes(4, "little") + bytes(10_000)
    meta_end = read_file_meta(path).data_offset
    odd = tmp_path / "odd.dcm"
    odd.write_bytes(raw[:132] + raw[144:meta_end] + padding + raw[meta_end:])
    found = read_file_meta(odd)
    assert isinstance(found, DicomFile), found
    assert odd.read_bytes()[found.data_offset:] == raw[meta_end:]


def test_scan_skips_what_it_cannot_send_with_reasons(tmp_path):
    good = generate_studies(tmp_path / "a", patients=1, series_per_study=1, instances_per_series=2, seed=7,
                            instance_bytes=4_000)
    (tmp_path / "a" / "readme.txt").write_text("hello")
    (tmp_path / "a" / "meta-only.dcm").write_bytes(good[0].read_bytes()[:read_file_meta(good[0]).data_offset])
    result = scan([tmp_path / "a", good[0], tmp_path / "nope"])
    assert sorted(f.path for f in result.files) == sorted(good)  # good[0] named twice, sent once
    reasons = {s.path.name: s.reason for s in result.skipped}
    assert reasons == {"readme.txt": reasons["readme.txt"], "meta-only.dcm": "the file has a file meta but no data set",
                       "nope": "no such file or folder"}


def test_plan_one_context_per_syntax_and_a_fallback_per_class():
    files = [fake(CT, JPEG2000Lossless), fake(CT, ExplicitVRLittleEndian, 1), fake(MR, RLELossless, 2)]
    (group,) = plan(files)
    proposed = [(c.abstract_syntax, c.transfer_syntaxes) for c in group.contexts]
    assert proposed == [
        (CT, (JPEG2000Lossless,)), (CT, (ExplicitVRLittleEndian,)), (CT, (ImplicitVRLittleEndian,)),
        (MR, (RLELossless,)), (MR, (ExplicitVRLittleEndian, ImplicitVRLittleEndian)),
    ]
    assert [c.context_id for c in group.contexts] == [1, 3, 5, 7, 9]


def test_plan_splits_groups_at_128_contexts():
    files = [fake(f"1.2.840.10008.5.1.4.1.1.{n}", RLELossless, n) for n in range(100)]  # 2 contexts each
    groups = plan(files)
    assert [len(g.contexts) for g in groups] == [MAX_CONTEXTS, 200 - MAX_CONTEXTS]
    assert sum(len(g.files) for g in groups) == 100
    assert max(c.context_id for c in groups[0].contexts) == 255


def test_store_request_is_a_command_set_we_can_read():
    command = commands.parse(commands.store_request(7, CT, "1.2.3.4"))
    assert (command.field, command.message_id, command.sop_class_uid, command.sop_instance_uid) == (
        commands.C_STORE_RQ, 7, CT, "1.2.3.4")
    assert command.has_data_set


def test_send_store_fragments_to_the_peer_maximum():
    data = bytes(range(256)) * 1000 + b"\x01\x02"
    left, right = socket.socketpair()
    received = bytearray()
    reader = threading.Thread(target=lambda: _collect(right, received))
    reader.start()
    with left:
        send_store(left, 5, commands.store_request(1, CT, "1.2"), BytesIO(data), len(data), 16_384)
    reader.join()
    position, command, body, sizes = 0, b"", b"", []
    while position < len(received):
        kind, length = pdu.header(received[position:position + 6])
        assert kind == pdu.P_DATA_TF and length <= 16_384
        size, context_id, control = pdu.pdv_header(received[position + 6:position + 12])
        assert context_id == 5 and size + 6 == length
        piece = bytes(received[position + 12:position + 12 + size])
        if control & 1:
            command += piece
        else:
            body += piece
            sizes.append((size, control))
        position += 6 + length
    assert commands.parse(command).field == commands.C_STORE_RQ
    assert body == data
    assert [c for _, c in sizes] == [0] * (len(sizes) - 1) + [2]  # only the last fragment says "last"


def _collect(sock: socket.socket, into: bytearray) -> None:
    with sock:
        while chunk := sock.recv(1 << 16):
            into += chunk
