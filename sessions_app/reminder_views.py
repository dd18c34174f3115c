"""The manager's view of the reminder outbox (what was sent, what is due, what failed,
each email previewed as the client sees it) and the front desk's maintenance-due list."""

from __future__ import annotations

from urllib.parse import urlencode

from csp.decorators import csp
from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.generic import ListView, TemplateView

from clients.models import Client
from clinic.errors import DomainError
from clinic.permissions import RoleRequiredMixin
from sessions_app import selectors
from sessions_app.emails import reminder_message
from sessions_app.models import Reminder
from sessions_app.reminders import reminder_resend, reminders_resend_failed

Status = Reminder.Status

# The tabs of the Reminders page: each shows a group of statuses.
TABS: dict[str, tuple[str, tuple[str, ...]]] = {
    "all": ("All", tuple(Status.values)),
    "due": ("Due", (Status.SCHEDULED, Status.SENDING)),
    "sent": ("Sent", (Status.SENT,)),
    "failed": ("Failed", (Status.FAILED,)),
    "cancelled": ("Cancelled or skipped", (Status.CANCELLED,)),
}


def _duration(seconds: float) -> str:
    """A settings duration in words: "3 minutes", "90 seconds"."""
    seconds = int(seconds)
    if seconds % 60:
        return f"{seconds} second{pluralize(seconds)}"
    return f"{seconds // 60} minute{pluralize(seconds // 60)}"


def _tab_of(status: str) -> str:
    return next(key for key, (_, group) in TABS.items() if key != "all" and status in group)


class ReminderListView(RoleRequiredMixin, ListView):
    """Every email in the outbox, by status group, kind and client, with counts."""

    permission = "reminders.view"
    template_name = "reminders/reminder_list.html"
    paginate_by = 25

    @cached_property
    def filters(self) -> dict:
        get = self.request.GET
        kind = get.get("kind", "")
        status = get.get("status", "")
        client = get.get("client", "")
        filters = {
            "kind": kind if kind in Reminder.Kind.values else "",
            "status": status if status in Status.values else "",
            "client": int(client) if client.isdigit() else None,
        }
        tab = get.get("tab", "")
        filters["tab"] = (
            _tab_of(filters["status"]) if filters["status"] else tab if tab in TABS else "all"
        )
        return filters

    def _base(self):
        """The rows the kind and client filters keep; the status counts are of these."""
        reminders = Reminder.objects.all()
        if self.filters["kind"]:
            reminders = reminders.filter(kind=self.filters["kind"])
        if self.filters["client"] is not None:
            reminders = reminders.filter(client_id=self.filters["client"])
        return reminders

    def get_queryset(self):
        f = self.filters
        reminders = self._base().filter(status__in=TABS[f["tab"]][1])
        if f["status"]:
            reminders = reminders.filter(status=f["status"])
        # What goes out next first; everything else newest first.
        order = ("due_at", "id") if f["tab"] == "due" else ("-due_at", "-id")
        return reminders.select_related("client", "session", "plan").order_by(*order)

    def _query(self, **changes) -> str:
        """This page's query string with ``changes`` applied (a None value drops a key)."""
        params = {
            "tab": self.filters["tab"],
            "status": self.filters["status"],
            "kind": self.filters["kind"],
            "client": self.filters["client"],
        }
        params.update(changes)
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        by_status = self._base().order_by().values("status").annotate(n=Count("pk"))
        counts = dict(by_status.values_list("status", "n"))
        tabs = [
            {
                "key": key,
                "label": label,
                "count": sum(counts.get(s, 0) for s in group),
                "query": self._query(tab=key, status=None),
            }
            for key, (label, group) in TABS.items()
        ]
        health = selectors.outbox_health(at=timezone.now())
        context.update(
            health=health,
            long_after_words=_duration(health.long_after.total_seconds()),
            sending_timeout_words=_duration(settings.REMINDER_SENDING_TIMEOUT_SECONDS),
        )
        client = None
        if self.filters["client"] is not None:
            client = Client.objects.filter(pk=self.filters["client"]).first()
        context.update(
            filters=self.filters,
            # The filters in words for the captions: labels, never codes (issue 13).
            filter_labels={
                "kind": Reminder.Kind(self.filters["kind"]).label if self.filters["kind"] else "",
                "status": Status(self.filters["status"]).label if self.filters["status"] else "",
                "tab": TABS[self.filters["tab"]][0],
            },
            tabs=tabs,
            status_counts=[(value, label, counts.get(value, 0)) for value, label in Status.choices],
            kinds=Reminder.Kind.choices,
            statuses=Status.choices,
            filter_client=client,
            page_query=self._query(),
            without_client=self._query(client=None),
        )
        return context


class ReminderResendView(RoleRequiredMixin, View):
    """Send a failed reminder again with the next dispatch, unless it is stale."""

    permission = "reminders.manage"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        reminder = get_object_or_404(Reminder.objects.select_related("client"), pk=pk)
        try:
            reminder_resend(reminder=reminder)
        except DomainError as refused:
            # Not failed, or no longer makes sense (issue 9): the service says why.
            messages.error(request, refused.message)
        else:
            messages.success(
                request,
                f"The “{reminder.get_kind_display()}” email to {reminder.client.full_name} is "
                "queued again and goes out with the next dispatch, within a minute or so.",
            )
        return _back(request)


def _back(request):
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("sessions:reminders")


# How many refused rows the confirmation names; the rest are counted (each row's note
# says why, on the Cancelled tab).
REFUSALS_NAMED = 5


class ReminderResendFailedView(RoleRequiredMixin, View):
    """Send every failed reminder again with the next dispatch, except those that no
    longer make sense; the confirmation says how many of each, and why."""

    permission = "reminders.manage"
    http_method_names = ["post"]

    def post(self, request):
        outcome = reminders_resend_failed()
        if not outcome.resent and not outcome.refused:
            messages.info(request, "No failed emails: nothing to resend.")
            return _back(request)
        if outcome.resent:
            messages.success(
                request,
                f"{_emails(outcome.resent)} queued again; they go out with the next "
                "dispatch, within a minute or so.",
            )
        if outcome.refused:
            named = "; ".join(
                f"“{reminder.get_kind_display()}” to {reminder.client.full_name}: {reason}"
                for reminder, reason in outcome.refused[:REFUSALS_NAMED]
            )
            rest = len(outcome.refused) - REFUSALS_NAMED
            more = f" … and {_emails(rest)} more (each row's note says why)." if rest > 0 else ""
            messages.warning(
                request,
                f"{_emails(len(outcome.refused))} not resent because they no longer make "
                f"sense, and cancelled: {named}{more}",
            )
        return _back(request)


def _emails(count: int) -> str:
    return f"{count} email" if count == 1 else f"{count} emails"


class ReminderPreviewView(RoleRequiredMixin, TemplateView):
    """One email rendered as the client receives it: subject, plain text, HTML and
    attachments, from the same function the dispatcher sends with."""

    permission = "reminders.view"
    template_name = "reminders/reminder_preview.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        reminder, message = _rendered(self.kwargs["pk"])
        attachments = []
        for attachment in message.attachments:
            content = attachment.content
            raw = content if isinstance(content, bytes) else content.encode()
            attachments.append(
                {
                    "filename": attachment.filename,
                    "mimetype": attachment.mimetype,
                    "size": len(raw),
                    "text": raw.decode(errors="replace")
                    if attachment.mimetype.startswith("text/")
                    else "",
                }
            )
        context.update(
            reminder=reminder,
            message=message,
            attachments=attachments,
            list_url=reverse("sessions:reminders"),
        )
        return context


def _rendered(pk: int):
    reminder = get_object_or_404(
        Reminder.objects.select_related("client", "session__esthetician", "plan"), pk=pk
    )
    return reminder, reminder_message(reminder)


# The email's own HTML, for the preview's frame: it carries inline styles as email must, so
# it gets a policy of its own (styles only; no script, no fetch) and may be framed here only.
@method_decorator(xframe_options_sameorigin, name="dispatch")
@method_decorator(
    csp(
        {
            "default-src": ["'none'"],
            "style-src": ["'unsafe-inline'"],
            "img-src": ["'self'", "data:"],
            "frame-ancestors": ["'self'"],
        }
    ),
    name="dispatch",
)
class ReminderPreviewHtmlView(RoleRequiredMixin, View):
    """The HTML version of one email, exactly as the dispatcher builds it."""

    permission = "reminders.view"

    def get(self, request, pk):
        _, message = _rendered(pk)
        html = next((a.content for a in message.alternatives if a.mimetype == "text/html"), "")
        return HttpResponse(html, content_type="text/html; charset=utf-8")


class MaintenanceDueView(RoleRequiredMixin, ListView):
    """Clients whose 4-week maintenance mark has passed with nothing booked since."""

    permission = "maintenance.view"
    template_name = "reminders/maintenance_due.html"
    paginate_by = 50

    @cached_property
    def now(self):
        return timezone.now()

    def get_queryset(self):
        return selectors.maintenance_due_clients(at=self.now)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = []
        for client in context["object_list"]:
            last = client.last_completed_start
            weeks = (self.now - last).days // 7 if last else None
            # Overdue is the cycle's 6-week time, as the maintenance module set it.
            rows.append((client, weeks, client.maintenance_overdue))
        context["rows"] = rows
        return context
