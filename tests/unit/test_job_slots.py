"""The job queue's association slots: limits shared between threads and processes, freed by a crash."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from dicomtui.engine.jobs.slots import AssociationSlots, node_key

A, B = node_key("10.0.0.5", 104), node_key("pacs.example", 11112)


def test_a_lease_takes_what_is_free_up_to_what_it_wants(tmp_path):
    slots = AssociationSlots(tmp_path, total=5, per_node=3)
    first = slots.try_acquire(A, 4)
    assert first.count == 3  # the per-node limit
    assert slots.try_acquire(A, 1) is None
    second = slots.try_acquire(B, 4)
    assert second.count == 2  # what the global limit leaves
    assert slots.in_use() == 5 and slots.in_use(A) == 3 and slots.in_use(B) == 2
    first.release()
    assert slots.try_acquire(A, 1).count == 1


def test_the_same_peer_under_another_spelling_is_the_same_peer(tmp_path):
    slots = AssociationSlots(tmp_path, total=8, per_node=1)
    held = slots.try_acquire(node_key("PACS.example ", 11112), 1)
    assert held.count == 1 and slots.try_acquire(B, 1) is None


def test_waiting_says_why_once_and_gives_up_on_cancel(tmp_path):
    slots = AssociationSlots(tmp_path, total=8, per_node=1)
    held = slots.try_acquire(A, 1)
    said: list[str] = []
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    assert slots.acquire(A, 2, cancel, on_wait=said.append) is None
    assert said == [f"waiting for a free association: 1 of 1 to {A} in use (per-node limit)"]
    held.release()


def test_a_waiting_run_goes_on_when_a_slot_is_freed(tmp_path):
    slots = AssociationSlots(tmp_path, total=1, per_node=4)
    held = slots.try_acquire(A, 1)
    threading.Timer(0.3, held.release).start()
    said: list[str] = []
    started = time.monotonic()
    lease = slots.acquire(B, 3, threading.Event(), on_wait=said.append)
    assert lease.count == 1 and 0.25 < time.monotonic() - started < 2
    assert said == ["waiting for a free association: 1 of 1 in use (limit for all transfers)"]


def test_another_process_holds_slots_until_it_is_killed(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from dicomtui.engine.jobs.slots import AssociationSlots; "
         f"lease = AssociationSlots(__import__('pathlib').Path({str(tmp_path)!r}), 4, 2).try_acquire({A!r}, 2); "
         "print(lease.count, flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "2"
        slots = AssociationSlots(tmp_path, total=4, per_node=2)
        assert slots.try_acquire(A, 1) is None and slots.in_use() == 2
        assert slots.try_acquire(B, 4).count == 2
    finally:
        holder.kill()  # kill -9: no chance to give anything back
        holder.wait()
    assert AssociationSlots(tmp_path, total=4, per_node=2).try_acquire(A, 2).count == 2
