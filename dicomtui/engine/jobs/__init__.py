"""The transfer queue's engine: runs jobs kept in dicomtui/store/jobs.py.

send_job.py and retrieve_job.py queue and run send and move/get jobs, runner.py runs them in the
app, policy.py says what is retried and after how long, lock.py tells a job abandoned by a crash
from one running in another process.
"""

from .lock import JobBusy, is_running_elsewhere
from .policy import RetryPolicy, is_transient
from .send_job import (
    JobProgress,
    JobReport,
    node_for_job,
    queue_send,
    resumable,
    run_send_job,
)

__all__ = [
    "JobBusy", "JobProgress", "JobReport", "RetryPolicy", "is_running_elsewhere", "is_transient", "node_for_job",
    "queue_send", "resumable", "run_send_job",
]
