from celery import shared_task

from sessions_app.reminders import reminders_dispatch


@shared_task(ignore_result=True)
def dispatch_due_reminders() -> dict:
    """Run every minute by Celery beat: send the reminders that are due now."""
    result = reminders_dispatch()
    return {
        "sent": result.sent,
        "retried": result.retried,
        "failed": result.failed,
        "skipped": result.skipped,
    }
