"""The esthetician's calendar, the front desk's day, booking one session and the session
page (booking a series: ``sessions_app.series_views``)."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.generic import FormView, TemplateView

from clients import audit
from clients.models import Client
from clients.selectors import (
    client_eligibility,
    clients_for_eligibility,
    eligibility_prefetches,
)
from clinic.clinic_time import day_label, hhmm, local, local_datetime, localdate
from clinic.dates import OUT_OF_RANGE, within_calendar
from clinic.errors import DomainError
from clinic.forms import form_add_error
from clinic.permissions import RoleRequiredMixin, refusal
from clinic.roles import Role
from sessions_app import calendar_views, day_pages, reschedule_page, selectors, services
from sessions_app.calendar_feed import BY_ESTHETICIAN
from sessions_app.forms import (
    CancelForm,
    CheckInForm,
    CompleteForm,
    RescheduleForm,
    SessionBookForm,
)
from sessions_app.free_times import free_times
from sessions_app.lifecycle import HealthChangeReported
from sessions_app.models import Session
from sessions_app.treatment import treatment_corrections, treatment_may_correct


def _parse_day(request) -> date:
    """The day asked for with ``?date=YYYY-MM-DD``; today if none, or if it is not a
    date or not one the calendar can show (year 1, year 9999), saying so."""
    value = request.GET.get("date")
    if not value:
        return localdate()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        messages.warning(request, f"“{value}” is not a date (YYYY-MM-DD): showing today.")
        return localdate()
    if not within_calendar(day):
        messages.warning(request, f"{OUT_OF_RANGE} Showing today.")
        return localdate()
    return day


def _record_gate(request, client, eligibility) -> None:
    """The page shows the reasons a client may not be booked or treated: a read."""
    if eligibility.outcome != "eligible":
        audit.record_access(client=client, what="eligibility", request=request)


def _with_client_eligibility(queryset):
    """Sessions plus what the eligibility badge of each client needs, in fixed queries."""
    return queryset.prefetch_related(*eligibility_prefetches("client__"))


def _badged(sessions) -> list[tuple[Session, object]]:
    return [(s, client_eligibility(client=s.client)) for s in sessions]


class CalendarView(RoleRequiredMixin, TemplateView):
    """One esthetician's day or week. Estheticians see their own; others pick one."""

    permission = "sessions.view"
    template_name = "sessions/calendar.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        staff = day_pages.estheticians()
        chosen = self.request.GET.get("esthetician")
        esthetician = next((e for e in staff if str(e.pk) == chosen), None)
        if esthetician is None:
            esthetician = user if user.role == Role.ESTHETICIAN else (staff[0] if staff else None)
        view = "day" if self.request.GET.get("view") == "day" else "week"
        day = _parse_day(self.request)
        first = day if view == "day" else day - timedelta(days=day.weekday())
        length = 1 if view == "day" else 7
        today = localdate()
        if esthetician is not None:
            # The list, with each client's eligibility decided once, from the page cache
            # (sessions_app.day_pages).
            context["calendar"] = day_pages.calendar_page(
                esthetician=esthetician, first=first, length=length, today=today, user=user
            )
        days = [{"date": first + timedelta(days=offset)} for offset in range(length)]
        step = timedelta(days=length)
        if esthetician is not None:
            context["grid"] = calendar_views.grid_config(
                self.request,
                view="timeGridDay" if view == "day" else "timeGridWeek",
                day=day,
                first=first,
                days=length,
                by=BY_ESTHETICIAN,
                esthetician=esthetician,
            )
        context.update(
            esthetician=esthetician,
            estheticians=staff,
            view=view,
            day=day,
            days=days,
            previous=first - step,
            next=first + step,
            today=today,
        )
        return context


class DayScheduleView(RoleRequiredMixin, TemplateView):
    """The front desk's view of one day: every esthetician's sessions side by side."""

    permission = "sessions.view"
    template_name = "sessions/schedule.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        day = _parse_day(self.request)
        by = calendar_views.grouping(self.request)
        # The columns, with each client's eligibility decided once, from the page cache
        # (sessions_app.day_pages).
        schedule = day_pages.schedule_page(day=day, by=by, user=self.request.user)
        context.update(
            by=by,
            grid=calendar_views.grid_config(
                self.request,
                view="resourceTimeGridDay",
                day=day,
                first=day,
                days=1,
                by=by,
                esthetician=None,
            ),
            day=day,
            schedule=schedule,
            previous=day - timedelta(days=1),
            next=day + timedelta(days=1),
            today=localdate(),
        )
        return context


# The booking page's "Next free times": what it asks of the free-times engine.
FREE_TIME_FIELDS = ("minutes", "esthetician", "room", "device")
FREE_TIMES_SHOWN = 8
FREE_TIMES_DAYS = 14


class SessionBookView(RoleRequiredMixin, FormView):
    """Book one session for a client (a single treatment or a maintenance boost)."""

    permission = "sessions.book"
    form_class = SessionBookForm
    template_name = "sessions/session_book.html"

    @cached_property
    def client(self) -> Client:
        return get_object_or_404(
            clients_for_eligibility(Client.objects.all()), pk=self.kwargs["pk"]
        )

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        # ``?kind=maintenance``: the Maintenance due list books a boost, not a single.
        # ``?date=&time=&esthetician=&room=&device=&minutes=``: a "next free time" link
        # fills the form without JavaScript. A value the form would refuse is left out.
        initial = {}
        for name in ("kind", *FREE_TIME_FIELDS, "date", "time"):
            raw = self.request.GET.get(name)
            if raw is None:
                continue
            try:
                initial[name] = SessionBookForm.base_fields[name].clean(raw)
            except ValidationError:
                continue
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["client"] = self.client
        context["eligibility"] = client_eligibility(client=self.client)
        _record_gate(self.request, self.client, context["eligibility"])
        context["free_times"] = self.next_free_times(context["form"])
        return context

    def next_free_times(self, form) -> list[dict] | None:
        """The next free times for the chosen esthetician, room, device and length, from
        the same engine as ``GET /api/availability/`` (issue 11), each with the link that
        fills this form. None when the choice is incomplete or invalid."""
        if form.is_bound:
            chosen = getattr(form, "cleaned_data", {})
        else:
            chosen = {}
            for name in (*FREE_TIME_FIELDS, "date"):
                try:
                    field = form.fields[name]
                    chosen[name] = field.clean(form.get_initial_for_field(field, name))
                except ValidationError:
                    continue
        # No esthetician chosen yet (the front desk's form opens so): everyone's times.
        if any(chosen.get(name) is None for name in FREE_TIME_FIELDS if name != "esthetician"):
            return None
        today = localdate()
        # On first opening, from today; once a date is chosen, from that day.
        first = chosen.get("date") if form.is_bound or "date" in self.request.GET else None
        first = max(first or today, today)
        try:
            found = free_times(
                date_from=first,
                date_to=first + timedelta(days=FREE_TIMES_DAYS - 1),
                minutes=chosen["minutes"],
                esthetician=chosen.get("esthetician"),
                room=chosen["room"],
                device=chosen["device"],
                client=self.client,
                limit=FREE_TIMES_SHOWN,
            )
        except DomainError:
            return None
        kind = (getattr(form, "cleaned_data", None) or {}).get("kind") or form.initial.get("kind")
        base = {
            "minutes": chosen["minutes"],
            "room": chosen["room"].pk,
            "device": chosen["device"].pk,
            **({"kind": kind} if kind else {}),
        }
        shown = []
        for free in found:
            start = local(free.start)
            query = urlencode(
                {
                    **base,
                    "esthetician": free.esthetician.pk,
                    "date": f"{start:%Y-%m-%d}",
                    "time": f"{start:%H:%M}",
                }
            )
            label = f"{day_label(start)}, {hhmm(start)}–{hhmm(free.end)}"
            if chosen.get("esthetician") is None:
                label += f" with {free.esthetician.get_full_name() or free.esthetician}"
            shown.append({"start": start, "label": label, "query": query})
        return shown

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            session = services.session_book(
                client=self.client,
                esthetician=data["esthetician"],
                room=data["room"],
                device=data["device"],
                start=local_datetime(data["date"], data["time"]),
                kind=data["kind"],
                minutes=data["minutes"],
                by=self.request.user,
            )
        except (DomainError, ValidationError) as error:
            form_add_error(form, error)
            return self.form_invalid(form)
        start = local(session.start)
        messages.success(
            self.request, f"Booked {self.client.full_name} on {start:%a %b %-d at %-I:%M %p}."
        )
        return redirect("sessions:detail", pk=session.pk)


class SessionDetailView(RoleRequiredMixin, TemplateView):
    """One session: who, where, what; check in, record the treatment, or change it."""

    permission = "sessions.view"
    template_name = "sessions/session_detail.html"
    # Free times offered below the reschedule form: a few, the soonest.
    free_times_shown = 6
    forms = {
        "check_in": (CheckInForm, "sessions.treat"),
        "complete": (CompleteForm, "sessions.treat"),
        "reschedule": (RescheduleForm, "sessions.book"),
        "cancel": (CancelForm, "sessions.cancel"),
        "no_show": (None, "sessions.no_show"),
    }

    @cached_property
    def session(self) -> Session:
        queryset = _with_client_eligibility(
            selectors.sessions_for_list().select_related(
                "treatment",
                # Who did what, shown on the page (issue 9, "Who did it").
                "rescheduled_by",
                "cancelled_by",
                "no_show_by",
                "checked_in_by",
                "completed_by",
                "treatment__recorded_by",
                "health_change__reported_by",
            )
        )
        return get_object_or_404(queryset, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        session = self.session
        last = selectors.client_last_treatment(client=session.client, before=session.start)
        start = local(session.start)
        eligibility = client_eligibility(client=session.client)
        # A status badge is no detail; the reasons (shown when not eligible) and a
        # change in health reported at check-in are.
        _record_gate(self.request, session.client, eligibility)
        if session.health_change_id:
            audit.record_access(
                client=session.client,
                what="screening",
                request=self.request,
                obj=session.health_change,
                detail="health change reported at check-in",
            )
        context.update(
            session=session,
            eligibility=eligibility,
            last_treatment=last,
            is_today=start.date() == localdate(),
            has_started=session.start <= timezone.now(),
        )
        record = getattr(session, "treatment", None)
        if record is not None:
            # What was corrected, by whom and why (issue 13), and who may correct it.
            context["corrections"] = treatment_corrections(record=record)
            context["may_correct"] = treatment_may_correct(user=self.request.user, record=record)
        context.setdefault("check_in_form", CheckInForm())
        context.setdefault("cancel_form", CancelForm())
        context.setdefault("complete_form", CompleteForm(initial=self._complete_initial(last)))
        context.setdefault(
            "reschedule_form", RescheduleForm(initial=self._reschedule_initial(start))
        )
        if session.status == Session.Status.BOOKED and self.request.user.can("sessions.book"):
            context["reschedule_free_times"] = self._reschedule_free_times()
            context["finder_form"] = self.finder
        return context

    def _reschedule_initial(self, start) -> dict:
        """The move form's values (``reschedule_page.reschedule_initial``)."""
        return reschedule_page.reschedule_initial(self.request, self.session)

    def _reschedule_free_times(self) -> list[dict] | None:
        """The next free times to move this session to, with its own esthetician, room
        and device or those the finder asks for (``reschedule_page``, issue 13)."""
        return reschedule_page.reschedule_free_times(
            self.request, self.session, shown=self.free_times_shown, finder=self.finder
        )

    @cached_property
    def finder(self):
        return reschedule_page.finder_form(self.request, self.session)

    def _complete_initial(self, last) -> dict:
        """Pre-fill with the client's last settings, else the plan's defaults."""
        session = self.session
        if last is not None:
            return {
                "modality": last.modality,
                "intensity_microamps": last.intensity_microamps,
                "frequency_hz": last.frequency_hz,
                "duration_minutes": last.duration_minutes,
                "areas": last.areas,
                "add_ons": last.add_ons,
            }
        minutes = int((session.end - session.start).total_seconds() // 60)
        modality = session.plan.modality if session.plan else "static"
        return {"modality": modality, "duration_minutes": minutes}

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        if action not in self.forms:
            messages.error(request, "Unknown action.")
            return redirect("sessions:detail", pk=self.session.pk)
        form_class, permission = self.forms[action]
        if not request.user.can(permission):
            raise PermissionDenied(refusal(request.user, permission))
        form = form_class(request.POST) if form_class else None
        if form is not None and not form.is_valid():
            return self.render_to_response(self.get_context_data(**{f"{action}_form": form}))
        data = form.cleaned_data if form is not None else {}
        if self._asks_first(action):
            return self._confirmation(action, form)
        try:
            done = self._act(action, data)
        except HealthChangeReported as reported:
            # Recorded: the next step is the new screening, so go straight to its form.
            messages.warning(request, reported.message)
            return redirect("clients:screening", pk=self.session.client_id)
        except (DomainError, ValidationError) as error:
            # The session's state changed under the page (someone else cancelled it):
            # its form may no longer be shown, so the page says it at the top.
            if form is None or getattr(error, "field", None) == "status":
                messages.error(request, getattr(error, "message", str(error)))
                return redirect("sessions:detail", pk=self.session.pk)
            form_add_error(form, error)
            return self.render_to_response(self.get_context_data(**{f"{action}_form": form}))
        messages.success(request, done)
        return redirect("sessions:detail", pk=self.session.pk)

    # Asked once more before they are done (issue 13, "Confirm and undo"): the first
    # press shows what will happen; "Yes" posts again with ``confirmed=yes``. Works
    # without JavaScript. A session in no state to change skips the question, so the
    # service's refusal is shown at once.
    confirm_first = {
        "cancel": {Session.Status.BOOKED, Session.Status.CHECKED_IN},
        "no_show": {Session.Status.BOOKED},
    }

    def _asks_first(self, action: str) -> bool:
        states = self.confirm_first.get(action)
        confirmed = self.request.POST.get("confirmed") == "yes"
        return bool(states) and not confirmed and self.session.status in states

    def _confirmation(self, action: str, form):
        context = {
            "session": self.session,
            "action": action,
            "cancel_form": form if action == "cancel" else None,
        }
        return TemplateResponse(self.request, "sessions/session_confirm.html", context)

    def _act(self, action: str, data: dict) -> str:
        session, by = self.session, self.request.user
        if action == "check_in":
            services.session_check_in(
                session=session, nothing_changed=data["nothing_changed"], note=data["note"], by=by
            )
            return f"{session.client.full_name} is checked in."
        if action == "complete":
            services.session_complete(session=session, by=by, **data)
            return "Treatment recorded; the session is complete."
        if action == "reschedule":
            start = local_datetime(data["date"], data["time"])
            changes = reschedule_page.reschedule_changes(data, session)
            moved = services.session_reschedule(session=session, start=start, by=by, **changes)
            where = ""
            if changes:
                where = f" with {moved.esthetician.get_full_name() or moved.esthetician}, "
                where += f"{moved.room} and {moved.device}"
            return f"Moved to {local(start):%a %b %-d at %-I:%M %p}{where}."
        if action == "cancel":
            services.session_cancel(session=session, by=by, reason=data["reason"])
            return "Session cancelled; the slot is free again."
        services.session_no_show(session=session, by=by)
        return "Marked as a no-show."
