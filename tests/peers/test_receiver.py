"""The receiver against real senders: dcmtk storescu, pynetdicom SCUs, raw sockets and `dicomtui serve`.

What a user checks after sending: every instance is in the storage folder exactly once, byte for byte as
sent (same transfer syntax, same pixel data), in the index, and nothing half-written is left behind; a
hostile or broken sender cannot write outside the folder, fill memory or keep the receiver from stopping.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from io import BytesIO
from pathlib import Path

import pytest
from pydicom import config as pydicom_config
from pydicom import dcmread
from pydicom.uid import (
    JPEG2000,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)
from pynetdicom import AE, AllStoragePresentationContexts
from pynetdicom.dimse_messages import C_STORE_RQ
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dsutils import encode

from dicomtui.dicom.synthetic import generate_studies, make_instance_of_size
from dicomtui.engine.receiver import (
    AssociationClosed,
    AssociationOpened,
    InstanceRefused,
    InstanceStored,
    ReceiverProblem,
    ReceiverStartError,
)
from dicomtui.engine.receiver.storing import complete, new_temp

from ..cli_runner import run as run_cli
from ..cli_runner import run_all
from .harness import HOST, dcmtk_env, echo, free_port, wait_for_port
from .receiver_fixtures import (
    RECEIVER_AE,
    SHIPPED,
    STORESCU_PROPOSE,
    copy_shipped,
    flood_with_huge_pdu,
    run_storescu,
    storescu_argv,
    tree_hwm_kib,
)

pytestmark = pytest.mark.peers

MiB = 1 << 20
STORAGE_SOP_CLASSES = {cx.abstract_syntax for cx in AllStoragePresentationContexts}

MUST_COVER = {ExplicitVRLittleEndian, RLELossless, JPEG2000, JPEGExtended12Bit, JPEGLosslessSV1, JPEGLSLossless}


def sop_uid_of(path: Path) -> str:
    return str(dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def stored_by_uid(files: list[Path]) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in files:
        found.setdefault(sop_uid_of(path), []).append(path)
    return found


def index_of(rx):
    """The receiver's archive index once everything stored so far has been written to it."""
    rx.receiver.wait_indexed()
    return rx.receiver.index


def assert_nothing_half_written(rx) -> None:
    assert rx.incoming_files() == [], f"left in {rx.incoming}: {rx.incoming_files()}"


def storescu_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout[-3000:]
    errors = [line for line in result.stdout.splitlines() if line.startswith(("E:", "F:"))]
    assert not errors, result.stdout[-3000:]


# ---------------------------------------------------------------------------------------------------------
# Data, made once per module


@pytest.fixture(scope="module")
def shipped_instances(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """pydicom's storable test instances, each with its own SOP Instance UID (pydicom reuses a few UIDs
    across files, e.g. MR_small.dcm and MR_small_RLE.dcm: those get a copy with a fresh UID; the pixel
    data and transfer syntax stay as shipped)."""
    def storable(ds) -> bool:
        meta = ds.file_meta
        return bool(
            meta.get("TransferSyntaxUID") in STORESCU_PROPOSE
            and meta.get("MediaStorageSOPClassUID") == ds.get("SOPClassUID")
            and meta.get("MediaStorageSOPInstanceUID") == ds.get("SOPInstanceUID")
            and ds.get("SOPClassUID") in STORAGE_SOP_CLASSES
            and ds.get("StudyInstanceUID") and ds.get("SeriesInstanceUID")  # JPEGLSNearLossless_08.dcm has none
            and "PixelData" in ds
        )

    chosen = copy_shipped(SHIPPED, tmp_path_factory.mktemp("shipped"), storable)
    syntaxes = {dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID for p in chosen}
    assert MUST_COVER <= syntaxes, f"pydicom's test files lack {MUST_COVER - syntaxes}"
    return chosen


@pytest.fixture(scope="module")
def synthetic_studies(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("synthetic")
    files = generate_studies(out / "ascii", patients=3, seed=9101, instance_bytes=30_000)
    files += generate_studies(out / "intl", patients=6, series_per_study=1, instances_per_series=2,
                              international=True, seed=9102, instance_bytes=20_000)
    files += generate_studies(out / "implicit", patients=1, seed=9103, instance_bytes=20_000,
                              transfer_syntax=ImplicitVRLittleEndian)
    return files


@pytest.fixture(scope="module")
def four_batches(tmp_path_factory: pytest.TempPathFactory) -> list[list[Path]]:
    out = tmp_path_factory.mktemp("batches")
    return [generate_studies(out / f"b{i}", patients=2, studies_per_patient=1, series_per_study=2,
                             instances_per_series=25, modalities=("CT", "MR"), seed=9200 + i,
                             instance_bytes=16_000)
            for i in range(4)]


@pytest.fixture(scope="module")
def big_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.dcm"
    make_instance_of_size(80_000_000, seed=9300).save_as(path, enforce_file_format=True)
    return path


@pytest.fixture(scope="module")
def megabyte_instances(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("megabyte")
    return generate_studies(out, patients=1, series_per_study=3, instances_per_series=50, modalities=("CT",),
                            seed=9400, instance_bytes=1_000_000)


# ---------------------------------------------------------------------------------------------------------
# 1. What arrives is what was sent


def test_storescu_instances_arrive_once_unchanged_and_indexed(receiver_factory, shipped_instances,
                                                               synthetic_studies):
    rx = receiver_factory()
    sources = [*shipped_instances, *synthetic_studies]
    by_syntax: dict[str, list[Path]] = {}
    for path in sources:
        by_syntax.setdefault(dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID, []).append(path)
    for syntax, files in by_syntax.items():
        storescu_ok(run_storescu(rx.port, files, propose=STORESCU_PROPOSE[syntax]))

    expected = {sop_uid_of(p): p for p in sources}
    assert len(expected) == len(sources)
    found = stored_by_uid(rx.stored_files())
    assert set(found) == set(expected)
    assert [uid for uid, paths in found.items() if len(paths) != 1] == []
    for sop_uid, source_path in expected.items():
        stored_path = found[sop_uid][0]
        assert stored_path.resolve().is_relative_to(rx.storage.resolve())
        source, stored = dcmread(source_path), dcmread(stored_path)
        assert stored.file_meta.TransferSyntaxUID == source.file_meta.TransferSyntaxUID, source_path.name
        assert stored.SOPClassUID == source.SOPClassUID
        assert stored.PixelData == source.PixelData, f"pixel data of {source_path.name} changed"
        assert stored.get("PatientName") == source.get("PatientName")
    stored_events = rx.events.of(InstanceStored)
    assert Counter(e.sop_instance_uid for e in stored_events) == Counter(set(expected))
    assert all(e.duplicate == "" for e in stored_events)
    assert {(rx.storage / e.path).resolve() for e in stored_events} == {
        p[0].resolve() for p in found.values()}
    assert index_of(rx).counts().instances == len(expected)
    assert rx.receiver.counters.instances == len(expected)
    assert rx.receiver.counters.refused == 0
    assert_nothing_half_written(rx)


# ---------------------------------------------------------------------------------------------------------
# 2. Parallel senders


def test_four_storescu_at_once(receiver_factory, four_batches, senders):
    rx = receiver_factory()
    for batch in four_batches:
        assert len(batch) == 100
        senders.start(rx.port, batch)
    for code, output in senders.wait(timeout=60):
        assert code == 0 and "E:" not in output, output[-2000:]
    expected = {sop_uid_of(p) for batch in four_batches for p in batch}
    assert len(expected) == 400
    found = stored_by_uid(rx.stored_files())
    assert set(found) == expected
    assert all(len(paths) == 1 for paths in found.values())
    closed = rx.events.wait_for_kind(AssociationClosed, 4)
    assert sorted((c.how, c.instances) for c in closed) == [("released", 100)] * 4
    assert len(rx.events.of(AssociationOpened)) == 4
    counters = rx.receiver.counters
    assert (counters.associations, counters.instances, counters.refused) == (4, 400, 0)
    assert counters.bytes == sum(p[0].stat().st_size for p in found.values())
    assert index_of(rx).counts().instances == 400
    assert len(rx.events.of(InstanceStored)) == 400
    assert_nothing_half_written(rx)


# ---------------------------------------------------------------------------------------------------------
# 3. A sender that dies in the middle of an instance


def _wait_for_partial(rx, min_size: int = 1, timeout: float = 20.0, still_running=None) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for part in rx.incoming_files():
            try:
                if part.stat().st_size >= min_size:
                    return part
            except FileNotFoundError:
                pass
        if still_running is not None and not still_running():
            break
        time.sleep(0.001)
    pytest.fail(f"no partial file of {min_size}+ bytes appeared in {rx.incoming}", pytrace=False)


def test_storescu_killed_mid_instance_leaves_nothing(receiver_factory, big_instance, senders):
    rx = receiver_factory()
    sender = senders.start(rx.port, [big_instance])
    part = _wait_for_partial(rx, still_running=lambda: sender.poll() is None)
    os.kill(sender.pid, signal.SIGKILL)
    sender.wait(timeout=5)
    assert sender.returncode == -signal.SIGKILL, "storescu finished before it could be killed"
    closed = rx.events.wait_for_kind(AssociationClosed)
    assert closed[0].instances == 0
    assert not part.exists()
    assert_nothing_half_written(rx)
    assert rx.stored_files() == []
    assert rx.events.of(InstanceStored) == []
    assert index_of(rx).counts().instances == 0
    assert echo(HOST, rx.port, RECEIVER_AE).ok


def test_pynetdicom_abort_mid_instance_leaves_nothing(receiver_factory):
    """A real A-ABORT PDU between two P-DATA PDUs of one data set.

    ``Association.abort()`` from another thread while ``send_c_store`` runs cannot do this: send_c_store
    queues every P-DATA of the data set on the DUL's FIFO before it waits, so the A-ABORT would go out after
    the last fragment. Instead half of the C-STORE's P-DATA primitives (encoded by pynetdicom itself) are
    queued, and then ``abort()`` queues the A-ABORT behind them.
    """
    rx = receiver_factory()
    ds = make_instance_of_size(8_000_000, seed=9500)
    ae = AE("ABORTER")
    ae.add_requested_context(ds.SOPClassUID, ExplicitVRLittleEndian)
    assoc = ae.associate(HOST, rx.port, ae_title=RECEIVER_AE)
    assert assoc.is_established
    try:
        context = assoc.accepted_contexts[0]
        request = C_STORE()
        request.MessageID = 1
        request.AffectedSOPClassUID = ds.SOPClassUID
        request.AffectedSOPInstanceUID = ds.SOPInstanceUID
        request.Priority = 2
        request.DataSet = BytesIO(encode(ds, False, True))
        message = C_STORE_RQ()
        message.primitive_to_message(request)
        fragments = list(message.encode_msg(context.context_id, assoc.acceptor.maximum_length))
        assert len(fragments) > 8
        for fragment in fragments[: len(fragments) // 2]:
            assoc.dul.send_pdu(fragment)
        part = _wait_for_partial(rx, min_size=2_000_000)
    finally:
        assoc.abort()
    closed = rx.events.wait_for_kind(AssociationClosed)
    assert closed[0].instances == 0  # how="aborted" is checked in test_aborts_are_reported_as_aborted
    assert not part.exists()
    assert_nothing_half_written(rx)
    assert rx.stored_files() == []
    assert rx.events.of(InstanceStored) == []


def test_aborts_are_reported_as_aborted(receiver_factory):
    """The log line and the TUI say how each association ended: an A-ABORT is not a release."""
    from pynetdicom.sop_class import Verification

    rx = receiver_factory()
    ae = AE("ENDER")
    ae.add_requested_context(Verification)
    ends = ["aborted"] * 5 + ["released"] * 2
    for n, end in enumerate(ends, 1):
        assoc = ae.associate(HOST, rx.port, ae_title=RECEIVER_AE)
        assert assoc.is_established
        if end == "aborted":
            assoc.abort()
        else:
            assoc.release()
        rx.events.wait_for_kind(AssociationClosed, n)
    closed = rx.events.of(AssociationClosed)
    reported = [c.how for c in sorted(closed, key=lambda c: c.id)]
    assert reported == ends, f"sent {ends}, reported {reported}"


# ---------------------------------------------------------------------------------------------------------
# 4. Hostile values never become paths

HOSTILE_SENDER = """
import json, sys
from pydicom import config, dcmread
from pynetdicom import AE, _config

config.settings.reading_validation_mode = config.IGNORE
_config.VALIDATORS["UI"] = lambda value: (True, "")  # send UIDs that no conformant sender would
port, results = int(sys.argv[1]), []
for path in sys.argv[2:]:
    ds = dcmread(path)
    ae = AE("HOSTILE")
    ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
    assoc = ae.associate("127.0.0.1", port, ae_title="DICOMTUI")
    if not assoc.is_established:
        results.append([path, "no association"])
        continue
    try:
        status = assoc.send_c_store(ds)
        results.append([path, status.Status if "Status" in status else "no response"])
    finally:
        assoc.release() if assoc.is_established else assoc.abort()
print(json.dumps(results))
"""


def _uid_of_length(n: int) -> str:
    value = "1.2.840.10008"
    while len(value) < n:
        value += ".7"
    value = value[:n]
    return value if not value.endswith(".") else value[:-1] + "9"


def _tree(root: Path, skip: Path) -> set[str]:
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath).resolve() == skip.resolve():
            dirnames[:] = []
            continue
        found.update(os.path.join(dirpath, n) for n in dirnames + filenames)
    return found


def _escape_targets(storage: Path, values: list[str]) -> dict[Path, object]:
    """Where a naive join of each value under the storage folder (or a folder or two below it) would land
    outside it, e.g. /tmp/dicomtui-evil or /etc/passwd: each such path with its mtime, "folder" or None."""
    targets: dict[Path, object] = {}
    for value in values:
        for prefix in (storage, storage / "a", storage / "a" / "b"):
            for name in (value, value + ".dcm", value.replace("\\", "/")):
                target = Path(os.path.normpath(prefix / name))
                if not target.is_relative_to(storage):
                    targets[target] = ("folder" if target.is_dir() else target.stat().st_mtime
                                       if target.exists() else None)
    return targets


def _send_hostile(rx, tmp_path: Path, hostile: list[dict[str, str]]) -> dict[str, object]:
    """Write one instance per dict of attribute overrides, send each on its own association from a
    pynetdicom SCU in a subprocess, check that nothing landed outside the storage folder; the statuses."""
    files = []
    with pydicom_config.disable_value_validation():
        for i, values in enumerate(hostile):
            ds = make_instance_of_size(6_000, seed=9600 + i)
            for keyword, value in values.items():
                setattr(ds, keyword, value)
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            path = tmp_path / "hostile" / f"{i}.dcm"
            path.parent.mkdir(exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
            files.append(path)
    outside_before = _tree(tmp_path.parent, tmp_path)
    targets_before = _escape_targets(rx.storage, [v for values in hostile for v in values.values()])

    script = tmp_path / "hostile_sender.py"
    script.write_text(HOSTILE_SENDER)
    sent = subprocess.run([sys.executable, str(script), str(rx.port), *map(str, files)], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert sent.returncode == 0, sent.stderr[-3000:]
    rx.events.wait_for_kind(AssociationClosed, len(files))

    root = rx.storage.resolve()
    for path in rx.storage.rglob("*"):
        assert path.resolve().is_relative_to(root), path
    assert _tree(tmp_path.parent, tmp_path) - outside_before == set()
    assert _escape_targets(rx.storage, [v for values in hostile for v in values.values()]) == targets_before
    assert_nothing_half_written(rx)
    for event in rx.events.of(InstanceStored):
        assert (rx.storage / event.path).resolve().is_relative_to(root)
    return {Path(path).name: status for path, status in json.loads(sent.stdout)}


def test_hostile_uids_and_names_stay_inside_the_storage_folder(receiver_factory, tmp_path):
    rx = receiver_factory(storage=tmp_path / "storage")  # '../../x' from a study folder is tmp_path.parent/x
    hostile = [
        {"StudyInstanceUID": "../../x", "SeriesInstanceUID": "/etc/passwd",
         "PatientName": "../../etc^/passwd", "PatientID": "../../../tmp"},
        {"StudyInstanceUID": "..", "SeriesInstanceUID": "/", "SOPInstanceUID": "../../../../../tmp/dicomtui-evil",
         "PatientName": "/"},
        {"StudyInstanceUID": "1.2.3/../../../../x", "SeriesInstanceUID": "1.2.3\\..\\..\\y",
         "SOPInstanceUID": "1.2.3.4.5.6.7.8.9/../../z", "PatientName": "A/B^C/D"},
    ]
    statuses = _send_hostile(rx, tmp_path, hostile)
    assert statuses == {f"{i}.dcm": 0 for i in range(len(hostile))}, (statuses, rx.events.all)
    assert len(rx.stored_files()) == len(hostile)
    events = rx.events.of(InstanceStored)
    assert sorted(e.patient for e in events) == sorted(v["PatientName"] for v in hostile)
    assert index_of(rx).counts().instances == len(hostile)


def test_overlong_sop_instance_uid_is_stored_inside_the_storage_folder(receiver_factory, tmp_path):
    """A SOP Instance UID of 70 digits and dots (over the 64 allowed), as some old modalities send."""
    rx = receiver_factory(storage=tmp_path / "storage")
    overlong = _uid_of_length(70)
    assert len(overlong) == 70
    statuses = _send_hostile(rx, tmp_path, [{"SOPInstanceUID": overlong, "PatientName": "LONG/UID^X"}])
    # What the sender sees. pynetdicom rejects the C-STORE-RQ's Affected SOP Instance UID while decoding it
    # (pynetdicom.utils.set_uid: 'must not exceed 64 characters') and the association is aborted.
    assert statuses == {"0.dcm": 0}, (statuses, rx.events.all)
    assert len(rx.stored_files()) == 1
    assert [e.sop_instance_uid for e in rx.events.of(InstanceStored)] == [overlong]


# ---------------------------------------------------------------------------------------------------------
# 5. The free-space floor


def test_free_space_floor_refuses_with_out_of_resources(receiver_factory, tmp_path, synthetic_studies):
    floor = shutil.disk_usage(tmp_path).free + 1024 * MiB
    rx = receiver_factory(min_free_bytes=floor)
    result = run_storescu(rx.port, synthetic_studies[:2])
    # dcmtk 3.6.7 says "Refused: OutOfResources" and stops sending after the first refusal.
    answers = [line for line in result.stdout.splitlines() if "Received Store Response" in line]
    assert answers and all("Refused: OutOfResources" in line for line in answers), result.stdout[-3000:]
    assert rx.stored_files() == []
    assert_nothing_half_written(rx)
    refused = rx.events.of(InstanceRefused)
    assert len(refused) == len(answers)
    assert all(r.status == 0xA700 and "floor" in r.reason for r in refused), refused
    assert rx.receiver.counters.refused == len(answers) and rx.receiver.counters.instances == 0
    assert echo(HOST, rx.port, RECEIVER_AE).ok


def test_storage_folder_removed_under_a_running_receiver(receiver_factory, synthetic_studies):
    """An unmounted or deleted archive folder: the receiver makes it again, or answers 0xA700 when it cannot,
    and never aborts the sender's association."""
    rx = receiver_factory()
    storescu_ok(run_storescu(rx.port, synthetic_studies[:2]))
    shutil.rmtree(rx.settings.storage)
    storescu_ok(run_storescu(rx.port, synthetic_studies[2:4]))
    assert len(rx.stored_files()) == 2  # the folder was made again for the new instances

    shutil.rmtree(rx.settings.storage / ".incoming")
    (rx.settings.storage / ".incoming").write_text("a file where the folder should be")
    result = run_storescu(rx.port, synthetic_studies[4:5])
    answers = [line for line in result.stdout.splitlines() if "Received Store Response" in line]
    assert answers and "Refused: OutOfResources" in answers[0], result.stdout[-3000:]
    refused = rx.events.of(InstanceRefused)
    assert refused and refused[-1].status == 0xA700 and "cannot write to the storage folder" in refused[-1].reason
    assert echo(HOST, rx.port, RECEIVER_AE).ok


# ---------------------------------------------------------------------------------------------------------
# 6. A PDU length meant to exhaust memory


def test_huge_announced_pdu_is_refused_without_memory_growth(serve_factory):
    served = serve_factory()
    before = tree_hwm_kib(served.pid)
    with socket.create_connection((HOST, served.port), timeout=5) as sock:
        sent, outcome = flood_with_huge_pdu(sock, pdu_type=0x01)  # an A-ASSOCIATE-RQ
    grown = (tree_hwm_kib(served.pid) - before) / 1024
    assert outcome == "closed", f"serve did not close the connection ({outcome} after {sent / MiB:.0f} MiB)"
    assert sent < 64 * MiB, f"serve read {sent / MiB:.0f} MiB before closing"
    assert grown < 50, f"peak RSS grew by {grown:.0f} MiB"
    assert echo(HOST, served.port, RECEIVER_AE).ok
    warnings = [line for line in served.log().splitlines() if "warning" in line and "PDU" in line]
    assert warnings, served.log()[-3000:]


# ---------------------------------------------------------------------------------------------------------
# 7. SIGTERM while instances are arriving


def test_sigterm_mid_transfer_stops_cleanly(serve_factory, megabyte_instances, senders):
    served = serve_factory()
    pixel_bytes = len(dcmread(megabyte_instances[0]).PixelData)
    sender = senders.start(served.port, megabyte_instances)
    deadline = time.monotonic() + 30
    while len(list(served.storage.rglob("*.dcm"))) < 30:
        assert sender.poll() is None, "storescu finished before 30 instances were stored"
        assert time.monotonic() < deadline, served.log()[-3000:]
        time.sleep(0.005)
    os.kill(served.pid, signal.SIGTERM)
    signalled = time.monotonic()
    try:
        code = served.process.popen.wait(timeout=35)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve still running 35 s after SIGTERM:\n{served.log()[-3000:]}", pytrace=False)
    assert code == 0, served.log()[-3000:]
    assert time.monotonic() - signalled < 35
    log = served.log()
    assert " stopping: " in log and " stopped: " in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    stored = sorted(served.storage.rglob("*.dcm"))
    assert len(stored) >= 30
    for path in stored:
        assert len(dcmread(path).PixelData) == pixel_bytes, path
    assert [p for p in (served.storage / ".incoming").iterdir()] == []


# ---------------------------------------------------------------------------------------------------------
# 8. Who may associate


def test_calling_ae_allow_list_and_called_ae(receiver_factory):
    rx = receiver_factory(accept=("CT01",))
    other = echo(HOST, rx.port, RECEIVER_AE, "OTHER")
    assert not other.ok and other.rejected, other.output
    assert other.reject_reason == "Calling AE Title Not Recognized", other.output
    assert echo(HOST, rx.port, RECEIVER_AE, "CT01").ok
    wrong_called = echo(HOST, rx.port, "NOT_DICOMTUI", "CT01")
    assert not wrong_called.ok and wrong_called.rejected, wrong_called.output
    assert wrong_called.reject_reason == "Called AE Title Not Recognized", wrong_called.output
    rejected = [e for e in rx.events.of(AssociationClosed) if e.how == "rejected"]
    assert len(rejected) == 2 and "OTHER" in rejected[0].detail

    anyone = receiver_factory()
    assert echo(HOST, anyone.port, RECEIVER_AE, "WHOEVER").ok
    assert echo(HOST, anyone.port, "WRONG", "WHOEVER").rejected


def test_association_limit(receiver_factory):
    from pynetdicom.sop_class import Verification

    rx = receiver_factory(max_associations=1)
    ae = AE("HOLDER")
    ae.add_requested_context(Verification)
    first = ae.associate(HOST, rx.port, ae_title=RECEIVER_AE)
    try:
        assert first.is_established
        second = echo(HOST, rx.port, RECEIVER_AE, "SECOND")
        assert not second.ok and second.rejected, second.output
        assert second.reject_result == "Rejected Transient", second.output
        assert second.reject_reason == "Local Limit Exceeded", second.output
    finally:
        first.release()
    deadline = time.monotonic() + 5
    while rx.receiver.active() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert echo(HOST, rx.port, RECEIVER_AE, "SECOND").ok


# ---------------------------------------------------------------------------------------------------------
# 9. Duplicates


def _changed_copy(source: Path, target: Path, **values) -> Path:
    ds = dcmread(source)
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=True)
    return target


@pytest.mark.parametrize("policy", ["keep-newest", "keep-first"])
def test_duplicates(receiver_factory, synthetic_studies, tmp_path, policy):
    rx = receiver_factory(duplicates=policy)
    original = synthetic_studies[0]
    changed = _changed_copy(original, tmp_path / "changed.dcm", PatientName="CHANGED^AFTER^SEND",
                            SeriesDescription="corrected")
    sop_uid = sop_uid_of(original)
    storescu_ok(run_storescu(rx.port, [original]))
    storescu_ok(run_storescu(rx.port, [original]))
    stored = rx.stored_files()
    assert len(stored) == 1
    first_bytes = stored[0].read_bytes()
    storescu_ok(run_storescu(rx.port, [changed]))

    events = rx.events.of(InstanceStored)
    assert [e.sop_instance_uid for e in events] == [sop_uid] * 3
    assert (events[0].duplicate, events[1].duplicate) == ("", "identical")
    assert rx.stored_files() == stored
    kept = dcmread(stored[0])
    if policy == "keep-newest":
        assert events[2].duplicate == "replaced"
        assert str(kept.PatientName) == "CHANGED^AFTER^SEND" and kept.SeriesDescription == "corrected"
    else:
        assert events[2].duplicate == "kept-first"
        assert stored[0].read_bytes() == first_bytes
    assert index_of(rx).counts().instances == 1
    # C-FIND answers from the index: it must describe the copy that C-MOVE/C-GET would send.
    indexed = index_of(rx).recent()
    assert [(r.sop_instance_uid, r.patient_name) for r in indexed] == [(sop_uid, str(kept.PatientName))]
    assert_nothing_half_written(rx)


def test_resent_instance_in_another_series_leaves_one_copy(receiver_factory, synthetic_studies, tmp_path):
    """A sender re-sends a corrected instance (same SOP Instance UID) that now belongs to another series:
    with keep-newest the archive must hold one copy, the new one, not an orphan of the old one as well."""
    rx = receiver_factory(duplicates="keep-newest")
    original = synthetic_studies[0]
    moved = _changed_copy(original, tmp_path / "moved.dcm", SeriesInstanceUID=generate_uid(),
                          SeriesDescription="moved")
    storescu_ok(run_storescu(rx.port, [original]))
    storescu_ok(run_storescu(rx.port, [moved]))
    assert index_of(rx).counts().instances == 1
    copies = stored_by_uid(rx.stored_files())[sop_uid_of(original)]
    assert len(copies) == 1, f"{len(copies)} files for one SOP Instance UID: {copies}"
    assert dcmread(copies[0]).SeriesDescription == "moved"


# ---------------------------------------------------------------------------------------------------------
# 10. Start-up problems in words


def test_second_receiver_on_a_used_port(receiver_factory):
    first = receiver_factory()
    second = receiver_factory(start=False, port=first.port)
    with pytest.raises(ReceiverStartError, match="already in use"):
        second.receiver.start()
    assert echo(HOST, first.port, RECEIVER_AE).ok


def test_serve_usage_errors_exit_2_in_one_sentence(home):
    runs = run_all(home, {
        "port0": ("serve", "--port", "0", "--bind", HOST, "--storage", str(home.root / "a")),
        "long_ae": ("serve", "--ae", "TOO_LONG_AE_TITLE_XX", "--port", str(free_port()), "--bind", HOST,
                    "--storage", str(home.root / "b")),
    })
    for result in runs.values():
        assert result.code == 2, result
        assert result.out == "", result
        assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1, result
        assert result.err.startswith("dicomtui: "), result
    assert "port" in runs["port0"].err and "0" in runs["port0"].err
    assert "TOO_LONG_AE_TITLE_XX" in runs["long_ae"].err and "16" in runs["long_ae"].err


def test_serve_on_a_used_port_exits_1(home):
    with socket.create_server((HOST, 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli(home, "serve", "--port", str(port), "--bind", HOST, "--storage", str(home.root / "a"))
    assert result.code == 1, result
    assert "already in use" in result.err and "Traceback" not in result.err, result
    assert len(result.err.strip().splitlines()) == 1, result


def test_leftover_partial_files_are_swept_at_start(receiver_factory, tmp_path):
    storage = tmp_path / "swept"
    (storage / ".incoming").mkdir(parents=True)
    leftover = storage / ".incoming" / "rx-abc123.part"
    leftover.write_bytes(b"\x00" * 4096)
    leftover.chmod(0)  # as the receiver leaves a temp file it never finished
    rx = receiver_factory(storage=storage)
    assert not leftover.exists()
    problems = rx.events.of(ReceiverProblem)
    assert any("removed 1 partial file" in p.message for p in problems), problems


def test_a_complete_instance_whose_rename_did_not_last_is_put_in_place_at_start(receiver_factory, tmp_path):
    """After a power cut the rename into place may be undone (it is not fsynced), while the temp file, marked
    complete and fsynced before Success went out, is still in '.incoming': the next start puts it in place."""
    [source] = generate_studies(tmp_path / "src", patients=1, series_per_study=1, instances_per_series=1, seed=90)
    storage = tmp_path / "recover"
    incoming = storage / ".incoming"
    incoming.mkdir(parents=True)
    fd, temp = new_temp(incoming, "rx")
    with os.fdopen(fd, "wb") as out:
        out.write(source.read_bytes())
        out.flush()
        complete(out.fileno(), fsync=True)
    unfinished, partial = new_temp(incoming, "rx")
    os.write(unfinished, source.read_bytes()[:3000])
    os.close(unfinished)
    garbage = incoming / "rx-garbage.part"
    garbage.write_bytes(b"not DICOM at all")  # marked complete (readable) yet unreadable: kept, and said
    rx = receiver_factory(storage=storage)
    ds = dcmread(source, stop_before_pixels=True)
    placed = storage / ds.StudyInstanceUID / ds.SeriesInstanceUID / f"{ds.SOPInstanceUID}.dcm"
    assert placed.read_bytes() == source.read_bytes()
    assert not temp.exists() and not partial.exists() and garbage.exists()
    assert rx.receiver.index.path_of(ds.SOPInstanceUID) == placed
    messages = [p.message for p in rx.events.of(ReceiverProblem)]
    assert any("put 1 complete instance" in m for m in messages), messages
    assert any("removed 1 partial file" in m for m in messages), messages
    assert any("could not recover rx-garbage.part" in m for m in messages), messages


def test_serve_killed_mid_transfer_leaves_only_whole_instances(home, tmp_path):
    """kill -9 in the middle of a transfer: nothing partial in the archive, and the next start cleans up."""
    files = [tmp_path / f"big{i}.dcm" for i in range(8)]
    for i, path in enumerate(files):
        make_instance_of_size(16 << 20, seed=91, index=i).save_as(path, enforce_file_format=True)
    storage, port = tmp_path / "killed", free_port()
    argv = [sys.executable, "-m", "dicomtui", "serve", "--port", str(port), "--bind", HOST, "--storage",
            str(storage), "--workers", "1"]
    serve = subprocess.Popen(argv, env=home.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(HOST, port, 30)
        sender = subprocess.Popen(storescu_argv(port, files), env=dcmtk_env(), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until an instance is stored and the next one is half in
            temps = list((storage / ".incoming").glob("*.part")) if (storage / ".incoming").exists() else []
            if list(storage.rglob("*.dcm")) and any(_size(t) > 4 << 20 for t in temps):
                break
            time.sleep(0.002)
        serve.kill()
        serve.wait(10)
        sender.wait(30)
    finally:
        if serve.poll() is None:
            serve.kill()
    stored = sorted(storage.rglob("*.dcm"))
    assert stored and len(stored) < len(files)
    for path in stored:
        assert path.stat().st_size > 16 << 20 and dcmread(path).PixelData  # whole
    restarted = subprocess.Popen(argv, env=home.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(HOST, port, 30)
    finally:
        restarted.send_signal(signal.SIGTERM)
        out, _ = restarted.communicate(timeout=30)
    assert restarted.returncode == 0, out
    assert not list((storage / ".incoming").iterdir()), out
    assert sorted(storage.rglob("*.dcm")) == stored


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def test_retired_storage_classes_that_old_modalities_send_are_stored(receiver_factory, tmp_path):
    """Ultrasound and Nuclear Medicine Image Storage (Retired): not in pynetdicom's AllStoragePresentationContexts,
    still sent by older scanners, and proposed by storescu."""
    rx = receiver_factory()
    files = []
    for n, retired in enumerate(("1.2.840.10008.5.1.4.1.1.6", "1.2.840.10008.5.1.4.1.1.5")):
        [path] = generate_studies(tmp_path / f"src{n}", patients=1, series_per_study=1, instances_per_series=1,
                                  seed=92 + n)
        ds = dcmread(path)
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = retired
        ds.save_as(path)
        files.append(path)
    sent = run_storescu(rx.port, files)
    assert sent.returncode == 0, sent.stdout
    stored = rx.stored_files()
    assert sorted(str(dcmread(p).SOPClassUID) for p in stored) == ["1.2.840.10008.5.1.4.1.1.5",
                                                                    "1.2.840.10008.5.1.4.1.1.6"]
