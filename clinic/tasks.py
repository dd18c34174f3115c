from celery import shared_task
from django.utils import timezone

from clinic.idempotency import idempotency_keys_purge


@shared_task
def purge_expired_idempotency_keys() -> int:
    """Drop Idempotency-Keys past IDEMPOTENCY_KEY_HOURS; Celery beat runs it hourly."""
    return idempotency_keys_purge(at=timezone.now())
