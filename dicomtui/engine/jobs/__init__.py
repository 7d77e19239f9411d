"""The transfer queue's engine: runs jobs kept in dicomtui/store/jobs.py (send jobs for now).

send_job.py queues and runs a send job, policy.py says what is retried and after how long,
lock.py tells a job abandoned by a crash from one running in another process.
"""

from .policy import RetryPolicy, is_transient
from .send_job import (
    JobBusy,
    JobProgress,
    JobReport,
    is_running_elsewhere,
    node_for_job,
    queue_send,
    resumable,
    run_send_job,
)

__all__ = [
    "JobBusy", "JobProgress", "JobReport", "RetryPolicy", "is_running_elsewhere", "is_transient", "node_for_job",
    "queue_send", "resumable", "run_send_job",
]
