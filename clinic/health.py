"""``/health/`` for a load balancer (issue 12): 200 when the database and the Celery
broker answer, 503 naming the one that does not. No login, nothing secret in the
answer (no host names, no error text), never cached, and bounded in time: the database
by its ``connect_timeout``, the broker by ``HEALTH_CHECK_TIMEOUT_SECONDS``."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as error:  # any failure means "not reachable"; the log says why
        log.warning("Health check: the database is not reachable: %r", error)
        return False


def broker_ok() -> bool:
    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS
    url = settings.CELERY_BROKER_URL
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), retries=0),  # one attempt: the answer is now
            )
            try:
                return bool(client.ping())
            finally:
                client.close()
        if url.startswith("filesystem://"):
            # The embedded default's broker is a folder: reachable means writable.
            folder = Path(options["data_folder_out"])
            return folder.is_dir() and os.access(folder, os.W_OK)
        # Any other transport: kombu's own connection check, one attempt.
        with Connection(url, transport_options=options, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            return True
    except Exception as error:  # any failure means "not reachable"; the log says why
        log.warning("Health check: the broker is not reachable: %r", error)
        return False


@never_cache
@require_safe
def health(request):
    checks = {
        "database": "ok" if database_ok() else "unreachable",
        "broker": "ok" if broker_ok() else "unreachable",
    }
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
