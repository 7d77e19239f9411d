"""C-STORE SCU: send DICOM files and folders to a node, streamed from disk on our own associations.

    result = send_files(node, "DICOMTUI", ["/data/study"], parallel=4, on_progress=print, cancel=event)

scan.py finds the Part 10 files and reads their file meta; plan.py proposes presentation
contexts and groups the files to fit 128 per association; stream.py sends each data set from
the file in pieces; convert.py re-encodes a file the peer does not take as it is; store.py
sends one instance and reads its status; run.py shares the work among associations.
"""

from .result import FAILED, NOT_SENT, SENT, InstanceOutcome, SendProgress, SendResult
from .run import send_files, send_scanned
from .scan import DicomFile, Scan, Skipped, scan

__all__ = [
    "FAILED", "NOT_SENT", "SENT", "DicomFile", "InstanceOutcome", "Scan", "SendProgress", "SendResult", "Skipped",
    "scan", "send_files", "send_scanned",
]
