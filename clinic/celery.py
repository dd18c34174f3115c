import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def refuse_to_start_on_failed_checks(**_kwargs) -> None:
    """A worker refuses to start, as ``manage.py`` does, when a system check fails
    (issue 10: settings whose waits are not bounded could send an email twice). Celery
    runs Django's checks at start-up but goes on whatever they say."""
    from django.core.checks import run_checks

    serious = [message for message in run_checks() if message.is_serious()]
    if serious:
        # SystemExit, not an error: Celery logs and ignores a signal handler's errors.
        raise SystemExit("The worker refuses to start:\n" + "\n".join(str(m) for m in serious))
