"""The association log's recorder, its SQLite store and how an entry is shown (PHI masked or not)."""

from __future__ import annotations

from dicomtui.dicom.phi import MASK, is_phi, masked
from dicomtui.engine.association_log import HEAD_MESSAGES, MAX_MESSAGES, NO_RECORDER, Recorder, begin
from dicomtui.store import association_log as store_module
from dicomtui.store.association_log import AssociationLog
from dicomtui.tui.association_view import cells, detail


class _Keep:
    origin = "test"

    def __init__(self):
        self.entries = []

    def record(self, entry):
        self.entries.append(entry)


def _recorder(journal) -> Recorder:
    recorder = begin(journal, outgoing=True, service="find", calling_ae="ME ", called_ae="PACS", peer="10.0.0.5:104")
    recorder.propose([(1, "1.2.840.10008.5.1.4.1.2.2.1", ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]),
                      (3, "1.2.840.10008.1.1", ["1.2.840.10008.1.2"])])
    recorder.answer(1, 0, "1.2.840.10008.1.2.1")
    recorder.answer(3, 3)
    return recorder


def test_without_a_journal_nothing_is_recorded():
    recorder = begin(None, outgoing=True, service="echo", calling_ae="A", called_ae="B", peer="h:1")
    assert recorder is NO_RECORDER and recorder.id == ""
    recorder.propose([(1, "x", [])])
    recorder.message(True, 0x0030, 1)
    recorder.finish("released")  # no error, nothing kept


def test_a_busy_association_keeps_its_first_messages_and_counts_them_all():
    keep = _Keep()
    recorder = _recorder(keep)
    for _ in range(MAX_MESSAGES + 500):
        recorder.message(False, 0x8020, 7, 0xFF00)
    recorder.message(False, 0x8020, 7, 0x0000)
    recorder.finish("released")
    recorder.finish("aborted")  # a second end changes nothing and is not recorded twice
    [entry] = keep.entries
    assert len(entry.messages) == MAX_MESSAGES and entry.omitted == 501
    assert entry.messages[-1].status == 0x0000  # the end is kept: where a failure would show
    assert entry.messages[HEAD_MESSAGES - 1].status == 0xFF00
    assert entry.counts == {"C-FIND-RSP 0xFF00": MAX_MESSAGES + 500, "C-FIND-RSP 0x0000": 1}
    assert entry.message_total == MAX_MESSAGES + 501
    shown = detail(entry, reveal=False).plain
    assert "… 501 more messages, counted below …" in shown and "C-FIND-RSP 0xFF00: 700" in shown
    assert entry.outcome == "released" and entry.calling_ae == "ME"


def test_the_store_round_trips_and_filters(tmp_path):
    log = AssociationLog(tmp_path / "a.sqlite3")
    first = _recorder(log.journal("find pacs"))
    first.message(True, 0x0020, 1, identifier=[("PatientName", "SMITH^JOHN"), ("StudyDate", "")])
    first.message(False, 0x8020, 1, 0xA700, "comment: out of space")
    first.finish("released")
    second = begin(log.journal("job 4"), outgoing=True, service="send", calling_ae="ME", called_ae="X", peer="h:2")
    second.finish("failed", "connection refused")
    assert [e.origin for e in log.recent()] == ["job 4", "find pacs"]
    assert [e.id for e in log.recent(origin="job 4")] == [second.id]
    assert [e.id for e in log.recent(origin_prefix="find")] == [first.id]
    assert [e.id for e in log.recent(ids=[first.id])] == [first.id]
    whole = log.get(first.id)
    assert [(c.context_id, c.result, c.transfer_syntax) for c in whole.contexts] == [
        (1, 0, "1.2.840.10008.1.2.1"), (3, 3, "")]
    assert whole.messages[0].identifier == [("PatientName", "SMITH^JOHN"), ("StudyDate", "")]
    assert whole.messages[1].status == 0xA700 and whole.messages[1].detail == "comment: out of space"
    assert log.get("nope") is None
    assert AssociationLog(tmp_path / "missing.sqlite3").recent() == []


def test_old_entries_go(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "KEEP", 5)
    monkeypatch.setattr(store_module, "PRUNE_EVERY", 1)
    log = AssociationLog(tmp_path / "a.sqlite3")
    for n in range(12):
        begin(log.journal(f"echo {n}"), outgoing=True, service="echo", calling_ae="A", called_ae="B",
              peer="h:1").finish("released")
    assert [e.origin for e in log.recent()] == [f"echo {n}" for n in range(11, 6, -1)]  # the newest KEEP


def test_phi_is_masked_unless_revealed(tmp_path):
    assert is_phi("PatientName") and is_phi("ScheduledProcedureStepSequence[0].ScheduledPerformingPhysicianName")
    assert not is_phi("StudyInstanceUID") and not is_phi("ScheduledProcedureStepSequence[0].Modality")
    assert masked("PatientID", "12345") == MASK and masked("PatientID", "") == ""
    keep = _Keep()
    recorder = _recorder(keep)
    recorder.message(True, 0x0020, 1, identifier=[("PatientName", "SMITH^JOHN"), ("PatientID", "P-77"),
                                                  ("Modality", "CT")])
    recorder.finish("aborted by the peer", "the archive aborted")
    entry = keep.entries[0]
    hidden = detail(entry, reveal=False).plain
    assert "SMITH^JOHN" not in hidden and "P-77" not in hidden
    assert f"PatientName={MASK}" in hidden and "Modality=CT" in hidden
    shown = detail(entry, reveal=True).plain
    assert "PatientName=SMITH^JOHN" in shown and "PatientID=P-77" in shown
    assert "Study Root Query/Retrieve Information Model - FIND: accepted, Explicit VR Little Endian" in shown
    assert "Verification SOP Class: rejected: abstract syntax (SOP class) not supported" in shown
    assert "Why: the archive aborted" in shown
    row = cells(entry, wide=False)
    assert row[1:5] == ["→", "find", "PACS", "peer abort"]
