"""The data version (issue 14): a number that every committed write to the clinic's data
changes, and a cache of computed page parts keyed on it, so a page part is computed once
per version and nobody is shown a session as it was before a write.

Which writes: every INSERT, UPDATE, DELETE or TRUNCATE that goes through Django's
database connections, seen where the SQL is executed (an execute wrapper on every
connection), so services, the admin, ``QuerySet.update()``, bulk creates and raw SQL
all count, whatever the model, unless they changed no row. Only tables no cached part
shows are left out (``QUIET_TABLES``: log-in sessions, the access log written by every
page that shows health data, lockouts; ``QUIET_INSERT_TABLES``: a new API token); a
cached part must never show them.

When: after the commit (``transaction.on_commit``), not before. Bumping inside the
transaction would let another request cache the data as it was before the commit under
the new number, and keep serving it after the commit. Readers take the number *before*
they read the data, so a part computed from data older than a write is stored under a
number that the write's commit retires. A rolled-back transaction never bumps, and a
request whose own transaction has uncommitted writes neither reads nor stores cached
parts (what it would store might be rolled back; what it would read may not show its
own writes). That also keeps the cache out of tests that run inside one transaction.

Where: the default cache. Only a cache that all web and worker processes share (Redis,
``REDIS_URL``) can carry the number from the process that wrote to the one that reads;
with a per-process cache (local memory, the embedded default) nothing is cached. The
parts expire by themselves too (``PAGE_CACHE_SECONDS``). A bump that fails (the cache
did not answer) is owed: the process that wrote serves nothing cached and tries again
with each request until one gets through; other processes can serve a part from before
that write until then, or until it expires. A part that changes with time
alone (a screening that stops being current at 14:03) says until when it holds, and is
not served after that.
"""

from __future__ import annotations

import hashlib
import logging
import math
import pickle
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import TypeVar

from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import request_finished, request_started
from django.db import connections, transaction
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django.utils import timezone, translation

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Tables whose writes change nothing a cached part shows (prefixes): written on every
# request or log-in, they would leave nothing cached for long.
QUIET_TABLES = (
    "django_session",
    "auditlog_",
    "axes_",
    "clinic_idempotency",
)
# Tables where only a new row is quiet. A new API token changes nothing cached, but a
# token that ends (revoked, logged out, expired, its owner's password changed) must end
# the token lookups this process keeps for the data version (``remembered``,
# clinic.tokens): ending one is a write like any other.
QUIET_INSERT_TABLES = ("knox_",)
_WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([\w.]+)', re.I)
_WRITE_WORDS = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
_CTE_WRITE = re.compile(r"\b(?:INSERT|UPDATE|DELETE)\b", re.I)


def _key(name: str) -> str:
    # One Redis may serve several databases (the bench's big and small, a developer's,
    # two clinics' on two servers with the same database name): the key names the one.
    db = connections["default"].settings_dict
    return f"{name}:{db['HOST']}:{db['PORT']}:{db['NAME']}"


def enabled() -> bool:
    """Caching on: a cache shared by every process, and a positive PAGE_CACHE_SECONDS."""
    return settings.PAGE_CACHE_SECONDS > 0 and not isinstance(
        caches["default"], LocMemCache | DummyCache
    )


def current() -> int:
    """The data version now. A missing number (expired, evicted, a new cache) starts
    from the clock, never from a number an older part may still be stored under."""
    key = _key("dataversion")
    version = cache.get(key)
    if version is None:
        cache.add(key, time.time_ns(), timeout=None)
        version = cache.get(key)
    return version


def bump() -> None:
    """A new data version: every cached part is computed again."""
    key = _key("dataversion")
    try:
        cache.incr(key)
    except ValueError:  # no number yet
        if not cache.add(key, time.time_ns(), timeout=None):
            cache.incr(key)


# A bump this process owes: its write committed while the cache did not answer. Until
# a later bump gets through, this process neither reads nor stores cached parts (they may
# predate its write), and it tries again at the start of every request.
_owed = False


def _bump_quietly() -> None:
    global _owed
    _forget_version()  # this request reads the new number, not the one before its write
    try:
        bump()
    except Exception:  # the write is committed; a cache that is down must not undo it
        _owed = True
        logger.exception("data version not bumped; owed until the cache answers")
    else:
        _owed = False


@receiver(post_migrate)
def _bump_after_migrate(sender, **kwargs) -> None:
    """A deploy that migrates retires every cached part: none built from the old schema
    or the old code is unpickled by the new (once per migrate: post_migrate comes for
    every app, and sessions_app is always one)."""
    if sender.label == "sessions_app":
        _bump_quietly()


@receiver(request_started)
@receiver(task_prerun)  # a Celery worker has no requests: it pays before each task
def _pay_owed_bump(sender=None, **kwargs) -> None:
    if _owed:
        _bump_quietly()


# The data version as this request (or Celery task) first read it: every cached part and
# every ``remembered`` value of one request is judged by that one number, so a request
# makes one round trip to the cache for the number, not one per part (issue 14). Reading
# the number early is always safe: a part is served only if it was stored under that
# number, and anything stored under it was read after it. This process's own commits
# forget it (``_bump_quietly``). Outside a request or a task (a shell, a command) it is
# read anew every time.
_this_request = threading.local()


@receiver(request_started)
@receiver(task_prerun)
def _request_begins(sender=None, **kwargs) -> None:
    _this_request.active = True
    _this_request.version = None


@receiver(request_finished)
@receiver(task_postrun)
def _request_ends(sender=None, **kwargs) -> None:
    _this_request.active = False
    _this_request.version = None


def _forget_version() -> None:
    _this_request.version = None


def _request_version() -> int | None:
    return getattr(_this_request, "version", None)


def _note_version(version: int) -> None:
    if getattr(_this_request, "active", False):
        _this_request.version = version


def _version_for_request() -> int:
    """The data version this request goes by (read from the cache once per request)."""
    version = _request_version()
    if version is None:
        version = current()
        _note_version(version)
    return version


class _Kept:
    """Values kept in this process's memory, each with the data version it was read
    under and until when it holds, so a hit costs no round trip at all. Stored pickled and
    unpickled on each hit: a caller that changes what it was given changes its own copy,
    never the next request's. The least recently used go first beyond ``size``."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[str, tuple[int, datetime, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, version: int, now: datetime):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return _MISSING
            if entry[0] != version or now >= entry[1]:
                del self._entries[key]
                return _MISSING
            self._entries.move_to_end(key)
        return pickle.loads(entry[2])  # noqa: S301 (written by this process only)

    def put(self, key: str, version: int, valid_until: datetime | None, value) -> None:
        # Kept no longer than the shared cache keeps a part, so a bump that failed (owed,
        # above) leaves other processes serving a part from before it no longer here.
        until = timezone.now() + timedelta(seconds=settings.PAGE_CACHE_SECONDS)
        if valid_until is not None:
            until = min(until, valid_until)
        data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        with self._lock:
            self._entries[key] = (version, until, data)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_MISSING = object()
_kept = _Kept(size=512)


def _usable() -> bool:
    return enabled() and not writes_pending() and not _owed


def remembered(name: str, parts: tuple[Hashable, ...], read: Callable[[], T]) -> T:
    """``read()``'s value, read once per data version and ``parts`` in each process and
    kept in its memory only (never in the shared cache: the API token lookup, which holds
    a password hash). For a small value needed on nearly every request: a hit costs no
    query and, once the request has read the data version, no round trip."""
    if not _usable():
        return read()
    key = f"{name}:{parts!r}"
    try:
        version = _version_for_request()
    except Exception:
        logger.exception("page cache unreachable; reading %s", name)
        return read()
    value = _kept.get(key, version, timezone.now())
    if value is _MISSING:
        value = read()
        _kept.put(key, version, None, value)
    return value


def changes_data(sql: str) -> bool:
    """Whether a statement writes to a table a cached part may show. Several statements
    in one string (``SET LOCAL …; INSERT …``) count if any of them does."""
    if ";" in sql.rstrip().rstrip(";"):
        return any(_statement_changes_data(part) for part in sql.split(";") if part.strip())
    return _statement_changes_data(sql)


def _statement_changes_data(sql: str) -> bool:
    head = sql.lstrip()[:8].upper()
    if head.startswith("EXECUTE"):  # one of ours (clinic.prepared) is judged by its SQL
        from clinic.prepared import sql_executed

        prepared = sql_executed(sql)
        if prepared is not None:
            return _statement_changes_data(prepared)
    if head.startswith(("EXECUTE", "COPY", "CALL", "MERGE")):
        return True  # a write we cannot see into: count it
    if head.startswith("WITH"):  # a data-modifying CTE
        return _CTE_WRITE.search(sql) is not None
    if not head.startswith(_WRITE_WORDS):
        return False
    if head.startswith("TRUNCATE"):  # of several tables, some shown
        return True
    match = _WRITE.match(sql)
    if match is None:
        return True  # a write we cannot name: count it
    table = match.group(2).strip('"')
    if head.startswith("INSERT") and table.startswith(QUIET_INSERT_TABLES):
        return False
    return not table.startswith(QUIET_TABLES)


def writes_pending(using: str = "default") -> bool:
    """Whether this connection's open transaction holds uncommitted writes (its bump is
    waiting for the commit; a savepoint rolled back takes its writes' bump with it)."""
    connection = connections[using]
    return any(func is _bump_quietly for _, func, _ in connection.run_on_commit)


def _note_write(connection) -> None:
    if connection.in_atomic_block:
        if not writes_pending(connection.alias):
            transaction.on_commit(_bump_quietly, using=connection.alias)
    else:  # autocommit: the statement is committed already
        _bump_quietly()


def _watch(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    # An UPDATE or DELETE that matched no row changed nothing (the reminder outbox's
    # claim runs every minute and mostly finds nothing due). An INSERT always counts:
    # SQLite reports no rows for ``INSERT … RETURNING`` until they are fetched.
    if changes_data(sql) and (
        context["cursor"].rowcount != 0 or sql.lstrip()[:6].upper() == "INSERT"
    ):
        _note_write(context["connection"])
    return result


@receiver(connection_created)
def _watch_connection(sender, connection, **kwargs) -> None:
    # First in the list: ``connection.execute_wrapper()`` blocks pop the last one.
    if _watch not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _watch)


def cached(
    name: str, parts: tuple[Hashable, ...], compute: Callable[[], tuple[T, datetime | None]]
) -> T:
    """``compute()``'s value, computed once per data version and ``parts``. ``compute``
    answers ``(value, valid_until)``: the instant the value may change with time alone
    (None: only a write changes it). ``parts`` must hold everything the value depends on
    besides the data (the day, the filters, what the user's role lets them see); the
    value must hold nothing that differs between two users with the same parts (no CSRF
    token, no messages). The time zone and language are added here."""
    if not _usable():
        return compute()[0]
    digest = hashlib.sha256(
        repr((parts, timezone.get_current_timezone_name(), translation.get_language())).encode()
    ).hexdigest()[:32]
    key, version_key = _key(f"page:{name}:{digest}"), _key("dataversion")
    now = timezone.now()
    version = _request_version()
    if version is not None:
        # This process may have the part in memory, under the number read already.
        value = _kept.get(key, version, now)
        if value is not _MISSING:
            return value
    try:
        if version is None:
            # The number and the part in one round trip. The part is stored with the
            # number read before its data, and served only while that is the number now.
            found = cache.get_many([version_key, key])
            version = found.get(version_key)
            if version is None:
                version = current()
            _note_version(version)
            hit = found.get(key)
        else:
            hit = cache.get(key)
    except Exception:
        logger.exception("page cache unreachable; computing %s", name)
        return compute()[0]
    if hit is not None and hit[0] == version and (hit[1] is None or now < hit[1]):
        _kept.put(key, version, hit[1], hit[2])
        return hit[2]
    value, valid_until = compute()
    seconds = settings.PAGE_CACHE_SECONDS
    if valid_until is not None:
        seconds = min(seconds, math.floor((valid_until - now).total_seconds()))
    if seconds >= 1:
        try:
            cache.set(key, (version, valid_until, value), timeout=seconds)
        except Exception:
            logger.exception("page cache unreachable; %s not stored", name)
        else:
            _kept.put(key, version, valid_until, value)
    return value
