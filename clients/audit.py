"""The access log of health data (issue 12, "Health data audited").

Every read of a client's screening answers, eligibility detail, clearances and
clearance letters, and every change to them, is one row of django-auditlog's
``LogEntry``. Nobody writes those rows but this module: call ``record_access``.

``what`` (the kind of health data) is one of:

    "screening"         the screening answers (and a health change reported at check-in)
    "eligibility"       the eligibility detail: outcome with its reasons / missing clearances
    "clearance"         a doctor's clearance (physician, dates, conditions)
    "clearance_letter"  the doctor's letter itself (the file)
    "client_export"     the client's data exported (clients' data, issue 12 item 5)
    "client_erasure"    the client erased (anonymised)

``action`` is one of:

    "read", "create", "change", "delete", "export", "erase"

``request`` (when given) supplies the actor (``request.user`` when logged in; nobody
logged in means the client, by an email link), the remote address, the path and the
channel: "page", "api", "admin" or "email_link". With no request the actor is ``actor``
(or nobody: "system", e.g. a worker or a management command), the channel "system".

Within one request each (client, what, action) is recorded once, and the reads of a
request are written together in one INSERT when the answer is ready
(``AccessLogMiddleware``), so a page that shows the eligibility of many clients still
writes in one query. Changes are written at once, inside the transaction that makes
them, so a change rolled back leaves no row claiming it happened.
"""

from __future__ import annotations

from contextvars import ContextVar

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connections, router
from django.db.models.sql import InsertQuery

from clinic.prepared import Insert

WHATS = (
    "screening",
    "eligibility",
    "clearance",
    "clearance_letter",
    "client_export",
    "client_erasure",
)
WHAT_LABELS = {
    "screening": "Screening answers",
    "eligibility": "Eligibility detail",
    "clearance": "Clearance",
    "clearance_letter": "Clearance letter",
    "client_export": "Client data export",
    "client_erasure": "Client erasure",
}
ACTIONS = ("read", "create", "change", "delete", "export", "erase")
ACTION_LABELS = {
    "read": "Read",
    "create": "Created",
    "change": "Changed",
    "delete": "Deleted",
    "export": "Exported",
    "erase": "Erased",
}
CHANNELS = ("page", "api", "admin", "email_link", "system")
CHANNEL_LABELS = {
    "page": "Page",
    "api": "API",
    "admin": "Admin",
    "email_link": "Email link",
    "system": "System",
}
# LogEntry's own action column: reads (and exports) are its ACCESS.
_LOGENTRY_ACTION = {
    "read": LogEntry.Action.ACCESS,
    "export": LogEntry.Action.ACCESS,
    "create": LogEntry.Action.CREATE,
    "change": LogEntry.Action.UPDATE,
    "delete": LogEntry.Action.DELETE,
    "erase": LogEntry.Action.DELETE,
}

# The request being answered, for records made where no request is at hand (model
# signals: the admin, services). Set by AccessLogMiddleware.
_current_request: ContextVar = ContextVar("clients_audit_request", default=None)
_PENDING = "_clients_audit_pending"
_SEEN = "_clients_audit_seen"


def current_request():
    return _current_request.get()


def channel_of(request) -> str:
    if request is None:
        return "system"
    path = request.path_info or ""
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return "email_link"
    return "page"


def remote_addr_of(request) -> str | None:
    """The caller's address, by the same rule as the log-in lockout
    (``clinic.logins.client_ip``: ``X-Forwarded-For`` only behind ``TRUSTED_PROXY_COUNT``
    proxies; anyone can send that header)."""
    if request is None:
        return None
    from clinic.logins import client_ip

    return client_ip(request) or None


def _actor_of(request, actor):
    if actor is not None:
        return actor
    user = getattr(request, "user", None) if request is not None else None
    if user is not None and user.is_authenticated:
        return user
    return None


def context_data(request, *, client_id: int, what: str, action: str, detail: str = "") -> dict:
    """``additional_data`` of a row: the client, what, the action and where from."""
    return {
        "client_id": client_id,
        "what": what,
        "action": action,
        "channel": channel_of(request),
        "path": request.get_full_path()[:500] if request is not None else "",
        "detail": detail[:500],
    }


def record_access(
    *,
    client,
    what: str,
    action: str = "read",
    request=None,
    actor=None,
    obj=None,
    detail: str = "",
) -> None:
    """Record that ``client``'s health data ``what`` was read or changed (``action``).

    ``client`` is a Client (or its id); ``obj`` the record concerned (a Screening,
    Clearance...), if one; ``detail`` a short note (no health data in it)."""
    if what not in WHATS:
        raise ValueError(f"unknown what {what!r}; one of {WHATS}")
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; one of {ACTIONS}")
    client_id = client if isinstance(client, int) else client.pk
    # A DRF Request wraps the Django one; the bookkeeping lives on the Django one.
    request = getattr(request, "_request", request)
    if request is None:
        request = current_request()
    if request is not None:
        seen = getattr(request, _SEEN, None)
        if seen is None:
            seen = set()
            setattr(request, _SEEN, seen)
        key = (client_id, what, action)
        if key in seen:
            return
        seen.add(key)
    who = _actor_of(request, actor)
    target = obj if obj is not None else client
    if isinstance(target, int):
        from clients.models import Client

        content_type = ContentType.objects.get_for_model(Client)
        object_pk, object_repr = target, f"Client {target}"
    else:
        content_type = ContentType.objects.get_for_model(type(target))
        object_pk = target.pk
        # Never the client's name: the log outlives an erasure.
        object_repr = f"{type(target).__name__} {target.pk}"
    entry = LogEntry(
        content_type=content_type,
        object_pk=str(object_pk),
        object_id=object_pk if isinstance(object_pk, int) else None,
        object_repr=object_repr,
        action=_LOGENTRY_ACTION[action],
        changes_text="",
        actor=who,
        actor_email=getattr(who, "email", None) or None,
        remote_addr=remote_addr_of(request),
        additional_data=context_data(
            request, client_id=client_id, what=what, action=action, detail=detail
        ),
    )
    pending = getattr(request, _PENDING, None) if request is not None else None
    if pending is not None and action == "read":
        pending.append(entry)
    else:
        entry.save()


def record_reads(request, client, *whats: str, obj=None) -> None:
    """``record_access`` of each read in ``whats`` (a page showing several kinds)."""
    for what in whats:
        record_access(client=client, what=what, request=request, obj=obj)


class AuditedAdminMixin:
    """Admin pages of health records: the list and each record's page are reads.

    ``audit_what`` names what the model holds. Changes and deletions made here are
    recorded by django-auditlog's tracking (below), as everywhere else."""

    audit_what = ""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and request.method in ("GET", "HEAD"):
            record_access(client=obj.client_id, what=self.audit_what, request=request, obj=obj)
        return obj

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", None) or {}
        changelist = changelist.get("cl")
        if changelist is not None:
            for obj in changelist.result_list:
                record_access(client=obj.client_id, what=self.audit_what, request=request)
        return response


# Changes: django-auditlog's own tracking ------------------------------------------
# ``auditlog.register`` (in ``register_models``, from ClientsConfig.ready) writes a row
# for each save and delete of the models below, wherever it happens: pages, API,
# admin, email links, workers. Their values are hidden (field names only): the log
# says *that* the answers changed, never what they are. The receivers below fill in
# the client, what, the actor, the address and the channel from the current request.

_MODEL_WHAT = {
    "screening": "screening",
    "clearance": "clearance",
    "healthchange": "screening",
}
_logged_instance: ContextVar = ContextVar("clients_audit_instance", default=None)
_ACTION_NAME = {
    LogEntry.Action.CREATE: "create",
    LogEntry.Action.UPDATE: "change",
    LogEntry.Action.DELETE: "delete",
}


def hidden(value: str) -> str:
    """auditlog's mask for health fields: the value never reaches the log."""
    return "(hidden)"


def register_models() -> None:
    from auditlog.registry import auditlog

    from clients.models import ANSWER_FIELDS, Clearance, HealthChange, Screening

    mask = "clients.audit.hidden"
    auditlog.register(
        Screening,
        mask_fields=[*ANSWER_FIELDS, "outcome", "flagged"],
        mask_callable=mask,
    )
    auditlog.register(
        Clearance,
        exclude_fields=["document_content_type"],
        mask_fields=["physician", "conditions", "document"],
        mask_callable=mask,
    )
    auditlog.register(HealthChange, mask_fields=["note"], mask_callable=mask)


def _remember_instance(sender, instance, **kwargs):
    """auditlog's ``pre_log``: the instance about to be logged (same call, same thread)."""
    ours = sender._meta.app_label == "clients" and sender._meta.model_name in _MODEL_WHAT
    _logged_instance.set(instance if ours else None)


def _fill_change_row(sender, instance, **kwargs):
    """``pre_save`` of LogEntry: complete a row auditlog is writing for a change."""
    logged = _logged_instance.get()
    if instance.pk is not None or logged is None or instance.additional_data:
        return
    same_model = instance.content_type.model_class() is type(logged)
    if not same_model or str(instance.object_pk) != str(logged.pk):
        return  # a row about something else (the instance logged wrote no row)
    _logged_instance.set(None)
    request = current_request()
    model_name = type(logged)._meta.model_name
    what = _MODEL_WHAT[model_name]
    action = _ACTION_NAME.get(instance.action, "change")
    detail = "health change reported at check-in" if model_name == "healthchange" else ""
    instance.additional_data = context_data(
        request, client_id=logged.client_id, what=what, action=action, detail=detail
    )
    # str() of a screening names its outcome: health data has no place in the log.
    instance.object_repr = f"{type(logged).__name__} {logged.pk}"
    who = _actor_of(request, None)
    if who is not None:
        instance.actor = who
        instance.actor_email = getattr(who, "email", None) or None
    instance.remote_addr = remote_addr_of(request)


def connect_signals() -> None:
    from auditlog.signals import pre_log
    from django.db.models.signals import pre_save

    pre_log.connect(_remember_instance, dispatch_uid="clients_audit_pre_log")
    pre_save.connect(_fill_change_row, sender=LogEntry, dispatch_uid="clients_audit_fill")


def flush(request) -> None:
    """Write the reads a request recorded, in one INSERT."""
    pending = getattr(request, _PENDING, None)
    if not pending:
        return
    if not _reads_wait_for_disk():
        _insert_rows(pending, wait_for_disk=False)
    elif len(pending) == 1:
        # One row: the INSERT is prepared, as save() would write the row, but without
        # building it anew each time (issue 14).
        _READ_ROW.execute(pending[0], using=router.db_for_write(LogEntry))
    elif len(pending) > _one_statement_rows(pending):
        LogEntry.objects.bulk_create(pending)  # batches, in one transaction
    else:
        _insert_rows(pending)
    pending.clear()


def _one_statement_rows(entries: list) -> int:
    """How many rows the database takes in one INSERT (SQLite caps its parameters)."""
    opts = LogEntry._meta
    fields = [f for f in opts.concrete_fields if f is not opts.pk]
    ops = connections[router.db_for_write(LogEntry)].ops
    return ops.bulk_batch_size(fields, entries)


# The INSERT of one read's row, as ``LogEntry.save()`` writes it. It sends no model
# signals: the only receiver of LogEntry's (``_fill_change_row``) completes change rows,
# never reads (tests/clients/test_audit.py holds that list of receivers).
_READ_ROW = Insert("clients_access_log_read", LogEntry)


def _reads_wait_for_disk() -> bool:
    """Does the commit of a request's read rows wait for the disk (PostgreSQL's
    ``synchronous_commit``)? A wait for the disk on every read, however short, is most of
    an API read's time (issue 14). With ACCESS_LOG_READS_SYNCHRONOUS false (the default
    is true) the row is written as surely and in order, but a crash of the database
    server itself may lose the rows committed in its last fraction of a second (at most
    three ``wal_writer_delay``, 0.6 s by default). Changes to health data are never
    written this way: their rows commit with the change. Only on PostgreSQL, and only
    when no transaction is open (the setting would then apply to that one's commit)."""
    connection = connections[router.db_for_write(LogEntry)]
    return (
        settings.ACCESS_LOG_READS_SYNCHRONOUS
        or connection.vendor != "postgresql"
        or connection.in_atomic_block
    )


def _insert_rows(entries: list, *, wait_for_disk: bool = True) -> None:
    """The INSERT of all ``entries`` as one statement, each row as save() would write it
    (no model signals, as ``bulk_create``). Outside a transaction the statement commits
    itself, all rows or none, in one round trip where ``bulk_create`` would wrap it in
    BEGIN ... COMMIT (two more on every page that shows several records; issue 14).
    ``wait_for_disk`` false: sent after ``SET LOCAL synchronous_commit TO OFF`` in the
    same query string, which PostgreSQL runs as one implicit transaction that the
    ``SET LOCAL`` lasts for."""
    using = router.db_for_write(LogEntry)
    opts = LogEntry._meta
    query = InsertQuery(LogEntry)
    query.insert_values([f for f in opts.concrete_fields if f is not opts.pk], entries)
    [(sql, params)] = query.get_compiler(using=using).as_sql()
    if not wait_for_disk:
        sql = f"SET LOCAL synchronous_commit TO OFF; {sql}"
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)


class AccessLogMiddleware:
    """Knows the request being answered and writes its reads once the answer is ready."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        setattr(request, _PENDING, [])
        token = _current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _current_request.reset(token)
            flush(request)
        return response


# The manager's "Access log" page -------------------------------------------------
STAFF_FILTERS = {"client-link": "The client, by email link", "system": "System"}


def access_log(*, client_ids=None, staff: str = ""):
    """The health-data rows, newest first; ``client_ids`` limits them to those clients
    (index ``clients_audit_client_time``), ``staff`` to one member of staff (a user id;
    ``clients_audit_actor_time``) or to "client-link" / "system"."""
    queryset = LogEntry.objects.filter(additional_data__has_key="client_id")
    if client_ids is not None:
        ids = list(client_ids)
        if len(ids) == 1:
            queryset = queryset.filter(additional_data__client_id=ids[0])
        else:
            queryset = queryset.filter(additional_data__client_id__in=ids)
    if staff == "client-link":
        queryset = queryset.filter(actor__isnull=True, additional_data__channel="email_link")
    elif staff == "system":
        queryset = queryset.filter(actor__isnull=True).exclude(
            additional_data__channel="email_link"
        )
    elif staff:
        queryset = queryset.filter(actor_id=int(staff))
    return queryset.select_related("actor").order_by("-timestamp", "-id")


def who_label(entry) -> str:
    if entry.actor is not None:
        return entry.actor.get_full_name() or entry.actor.username
    if entry.actor_email:  # the account was deleted since
        return f"{entry.actor_email} (account deleted)"
    if (entry.additional_data or {}).get("channel") == "email_link":
        return "The client, by email link"
    return "System"


def access_rows(entries) -> list[dict]:
    """One dict per row for the page, the clients named in one query."""
    from clients.models import Client

    entries = list(entries)
    ids = {(e.additional_data or {}).get("client_id") for e in entries}
    clients = Client.objects.only("pk", "first_name", "last_name", "erased_at").in_bulk(
        [i for i in ids if isinstance(i, int)]
    )
    rows = []
    for entry in entries:
        data = entry.additional_data or {}
        rows.append(
            {
                "entry": entry,
                "at": entry.timestamp,
                "who": who_label(entry),
                "staff": entry.actor,
                "client_id": data.get("client_id"),
                "client": clients.get(data.get("client_id")),
                "what": WHAT_LABELS.get(data.get("what"), data.get("what", "")),
                "action": ACTION_LABELS.get(data.get("action"), data.get("action", "")),
                "channel": CHANNEL_LABELS.get(data.get("channel"), data.get("channel", "")),
                "address": entry.remote_addr or "",
                "path": data.get("path", ""),
                "detail": data.get("detail", ""),
                "record": entry.object_repr if entry.object_repr.split()[0] != "Client" else "",
            }
        )
    return rows
