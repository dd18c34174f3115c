"""The reminder dispatcher as a Celery task, and how a worker stops without losing or
doubling an email (issue 10, "Every wait is bounded" and "Stopping cleanly").

Stopping. The worker runs the prefork pool (Procfile): the task runs in a pool child, so
the hard time limit can kill a stuck child. A stop reaches the dispatcher two ways:

- ``worker_shutting_down``: the main process got SIGTERM (systemd's ``KillMode=mixed``
  sends it only there) and starts Celery's warm shutdown, which waits for running tasks;
  it sets a flag in memory shared by the worker and its pool children;
- SIGTERM in a pool child (systemd's default ``KillMode=control-group``, honcho, and
  ``kill -TERM -<pgid>`` signal the whole process group). Billiard gives its children a
  SIGTERM handler that exits at once, which killed them mid-send; the task replaces it,
  in the child, with one that marks that child only (billiard also sends SIGTERM, then
  SIGKILL, to a child at its hard time limit, which must not stop the others).

The dispatcher asks before each claim and each email: it finishes the email in hand,
claims no new batch and puts its unsent claims back, then the task returns and the warm
shutdown completes, in well under a second plus at most one EMAIL_TIMEOUT. The solo pool
gets this from ``worker_shutting_down`` alone (it runs tasks in the main process) but
cannot enforce time limits, so it is for tests only.
"""

from __future__ import annotations

import logging
import mmap
import signal

from billiard.process import current_process
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_shutting_down
from django.conf import settings

from sessions_app.maintenance import maintenance_resume_lapsed
from sessions_app.reminders import reminders_dispatch

logger = logging.getLogger(__name__)

# One byte of anonymous shared memory, made when the worker imports its tasks (before it
# forks the pool): the main process and every pool child see the same byte.
_STOP = mmap.mmap(-1, 1)


# This process alone was told (SIGTERM in a pool child); not shared (see above).
_told_here = False


def stopping() -> bool:
    """True once this worker, or this pool process, has been told to stop."""
    return _told_here or _STOP[0] == 1


def _stop(*_args, **_kwargs) -> None:
    _STOP[0] = 1


def _stop_here(*_args, **_kwargs) -> None:
    global _told_here  # noqa: PLW0603 (set from a signal handler)
    _told_here = True


@worker_shutting_down.connect
def _on_worker_shutting_down(**_kwargs) -> None:
    _stop()


def _finish_the_email_in_hand_on_sigterm() -> None:
    """In a prefork child, make SIGTERM set the stop flag instead of exiting. Billiard
    installs its own exit-at-once handler after ``worker_process_init`` has run, so this
    is done when the task starts. The solo pool runs tasks in the main process, whose
    SIGTERM is Celery's warm shutdown: that one is left alone."""
    if current_process().name != "MainProcess":
        signal.signal(signal.SIGTERM, _stop_here)


@shared_task(
    bind=True,
    ignore_result=True,
    soft_time_limit=settings.REMINDER_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.REMINDER_TASK_TIME_LIMIT,
)
def dispatch_due_reminders(self) -> dict:
    """Run every minute by Celery beat: send the reminders that are due now. A run that
    spends its time budget with more to send queues the next run at once (on the queue
    it came from), so any free worker carries on. Told to stop, or at the soft time limit,
    it puts its unsent claims back (``reminders_dispatch`` does) and returns."""
    _finish_the_email_in_hand_on_sigterm()
    # Cycles held by a booking whose time passed unmarked come back before sending.
    maintenance_resume_lapsed()
    try:
        result = reminders_dispatch(should_stop=stopping)
    except SoftTimeLimitExceeded:
        logger.warning(
            "Reminder dispatch hit its soft time limit (%s s); its unsent claims are back.",
            settings.REMINDER_TASK_SOFT_TIME_LIMIT,
        )
        return {"stopped": "soft time limit"}
    if result.more and not stopping():
        # None (called directly) is the default queue.
        self.apply_async(queue=(self.request.delivery_info or {}).get("routing_key"))
    return {
        "sent": result.sent,
        "retried": result.retried,
        "failed": result.failed,
        "skipped": result.skipped,
        "released": result.released,
        "stopped": result.stopped,
        "more": result.more,
    }
