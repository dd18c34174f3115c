"""Booking a client's series from the page: preview every date with what is wrong with it,
fix a row at a time, then book all at once (issue 13, "Booking without back and forth").

The preview marks each row on its own (closed day, day off, outside hours, clash) rather
than stopping at the first. A row's "Take this time" button puts that one session at its
nearest free time, and "Move" at a date and time typed in the row; every other row stays
where it is. The moves travel in hidden ``move-YYYY-MM-DD`` inputs (the day the series
put the session on → its new local start), so the page needs no JavaScript. When a new
start date puts the client in another age band, the sessions and weeks follow the new
band (the hidden ``band`` input says which band they were chosen for).

``PlanRebookView`` is the same page for a plan whose sessions were cancelled: it books the
sessions that remain to rebook (``sessions_app.series.rebook_annotations``).
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.views.generic import FormView

from clients import audit
from clients.models import Client
from clients.selectors import client_eligibility, clients_for_eligibility
from clinic.clinic_time import local, local_datetime, localdate
from clinic.errors import BookingClash, DomainError, RuleViolation
from clinic.forms import form_add_error
from clinic.permissions import RoleRequiredMixin
from protocols.models import Plan
from protocols.services import plan_build
from sessions_app import plans, selectors, services
from sessions_app.forms import SeriesForm
from sessions_app.series import rebook_refusal

MOVE_PREFIX = "move-"


def _record_gate(request, client, eligibility) -> None:
    """The page shows the reasons a client may not be booked or treated: a read."""
    if eligibility.outcome != "eligible":
        audit.record_access(client=client, what="eligibility", request=request)


def _parse_move(value: str) -> datetime | None:
    """``YYYY-MM-DDTHH:MM`` in clinic time, or None when it is not one."""
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        return None
    return local_datetime(naive.date(), naive.time().replace(second=0, microsecond=0))


class SeriesBookView(RoleRequiredMixin, FormView):
    """Start from the client: see their plan, preview the dates with every problem
    marked, fix rows one at a time, and book the whole series in one click (nothing is
    booked while any row has a problem)."""

    permission = "sessions.book"
    form_class = SeriesForm
    template_name = "sessions/series_book.html"
    rebook = False

    @cached_property
    def client(self) -> Client:
        return get_object_or_404(
            clients_for_eligibility(Client.objects.all()), pk=self.kwargs["pk"]
        )

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        try:
            plan = plan_build(
                client=self.client,
                start_date=localdate() + timedelta(days=1),
                by=self.request.user,
            )
        except DomainError:
            return {}
        return {"sessions": plan.sessions_min, "weeks": plan.weeks_max, "band": plan.protocol_id}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["client"] = self.client
        context["eligibility"] = client_eligibility(client=self.client)
        context["rebook"] = self.rebook
        _record_gate(self.request, self.client, context["eligibility"])
        form = context["form"]
        context["plan"] = self.shown_plan(form)
        # Said before anything is typed: a plan overlapping this one will be refused.
        if not self.rebook:
            context.setdefault(
                "active_plan",
                plans.plans_active(self.client.plans.all()).order_by("start_date").first(),
            )
        return context

    def shown_plan(self, form):
        """The plan shown follows the start date typed, once it is a valid date."""
        start = getattr(form, "cleaned_data", {}).get("start_date") or form.initial.get(
            "start_date"
        )
        # A start date cleared (or not a date) leaves no plan to show; the form says why.
        return None if start is None else self._plan_or_none(start)

    def _plan_or_none(self, start):
        try:
            return plan_build(client=self.client, start_date=start, by=self.request.user)
        except DomainError:
            return None

    # The series' shape -----------------------------------------------------------------
    def plan_for(self, data) -> Plan:
        """The plan the dates are for (unsaved until booked)."""
        return plan_build(client=self.client, start_date=data["start_date"], by=self.request.user)

    def follow_band(self, form, plan):
        """When the start date puts the client in another age band than the one the
        sessions and weeks were chosen for, a form with the new band's numbers (and the
        moves dropped: every date changes); else None."""
        data = form.cleaned_data
        chosen_for = data.get("band")
        fits = (
            plan.sessions_min <= data["sessions"] <= plan.sessions_max
            and plan.weeks_min <= data["weeks"] <= plan.weeks_max
        )
        if chosen_for == plan.protocol_id or (chosen_for is None and fits):
            return None
        values = self.request.POST.copy()
        for key in [k for k in values if k.startswith(MOVE_PREFIX)]:
            del values[key]
        values["sessions"] = str(plan.sessions_min)
        values["weeks"] = str(plan.weeks_max)
        values["band"] = str(plan.protocol_id)
        followed = self.get_form_class()(values, user=self.request.user)
        followed.is_valid()
        messages.info(
            self.request,
            f"{self.client.full_name} is {plan.age_at_start} on "
            f"{plan.start_date:%b} {plan.start_date.day}: the {plan.protocol.name} plan, so "
            f"the series now has {plan.sessions_min} sessions over {plan.weeks_max} weeks. "
            "Check the dates below before booking.",
        )
        return followed

    def series_args(self, data, moves) -> dict:
        return dict(
            esthetician=data["esthetician"],
            room=data["room"],
            device=data["device"],
            at=data["time"],
            weekdays=data["weekdays"],
            sessions=data["sessions"],
            weeks=data["weeks"],
            moves=moves,
        )

    # Moves: one row at a time ----------------------------------------------------------
    def moves(self, form) -> dict[date, datetime]:
        """The rows moved so far, and the one this press moves or puts back. A value that
        does not parse is a form error naming it."""
        post = self.request.POST
        moves: dict[date, datetime] = {}
        for key, value in post.items():
            if not key.startswith(MOVE_PREFIX):
                continue
            try:
                day = date.fromisoformat(key[len(MOVE_PREFIX) :])
                start = _parse_move(value)
            except (ValueError, RuleViolation):
                start = None
            if start is not None:
                moves[day] = start
        if "take" in post:  # "Take this time": ``day|YYYY-MM-DDTHH:MM``
            day_text, _, start_text = post["take"].partition("|")
            self._add_move(form, moves, day_text, start_text)
        if "change" in post:  # "Move": the date and time typed in that row
            day_text = post["change"]
            typed = f"{post.get(f'row-{day_text}-date', '')}T{post.get(f'row-{day_text}-time', '')}"
            self._add_move(form, moves, day_text, typed)
        if "unmove" in post:
            with contextlib.suppress(ValueError):
                moves.pop(date.fromisoformat(post["unmove"]), None)
        return moves

    def _add_move(self, form, moves, day_text: str, start_text: str) -> None:
        try:
            day = date.fromisoformat(day_text)
            start = _parse_move(start_text)
        except ValueError:
            day, start = None, None
        except RuleViolation as error:
            form.add_error(None, error.message)
            return
        if day is None or start is None:
            form.add_error(None, "Type a date and a time (clinic time) to move that session to.")
            return
        moves[day] = start

    # Preview and book ------------------------------------------------------------------
    def form_valid(self, form):
        try:
            plan = self.plan_for(form.cleaned_data)
            followed = None if self.rebook else self.follow_band(form, plan)
            if followed is not None:
                if not followed.is_valid():
                    return self.form_invalid(followed)
                return self.preview(followed, plan, {})
            moves = self.moves(form)
            if form.errors:
                return self.preview(form, plan, moves)
            if "book" not in self.request.POST:
                return self.preview(form, plan, moves)
            booked = self.book(form.cleaned_data, moves)
        except plans.ActivePlanExists as error:
            # The message names the plan; the page links to it (where it can be cancelled).
            form_add_error(form, error)
            context = self.get_context_data(form=form, active_plan=error.plan)
            return self.render_to_response(context)
        except BookingClash as clash:
            form.add_error(None, clash.message)
            return self.preview(form, self.plan_for(form.cleaned_data), self.moves(form))
        except (DomainError, ValidationError) as error:
            form_add_error(form, error)
            if getattr(error, "field", None) in ("moves", "time"):
                # Every row's problem is on its row: show them.
                return self.preview(form, self.plan_for(form.cleaned_data), self.moves(form))
            return self.form_invalid(form)
        first, last = local(booked[0].start), local(booked[-1].start)
        messages.success(
            self.request,
            f"Booked {len(booked)} sessions for {self.client.full_name}, "
            f"{first:%b %-d} to {last:%b %-d}.",
        )
        url = reverse("sessions:calendar")
        esthetician = form.cleaned_data["esthetician"].pk
        return redirect(f"{url}?esthetician={esthetician}&date={first:%Y-%m-%d}")

    def preview(self, form, plan, moves):
        args = self.series_args(form.cleaned_data, moves)
        try:
            if not self.rebook:
                # Say so at preview already: a second active plan will not be booked.
                plans.plan_check_no_overlap(plan)
            try:
                proposal = services.series_propose(plan=plan, rebook=self.rebook, **args)
            except RuleViolation as error:
                if error.field != "moves":
                    raise
                # The series changed under the moves (another time or weekdays): the
                # moved days are gone, so are the moves; say so and show the new dates.
                messages.warning(
                    self.request,
                    "The series changed, so the dates moved by hand were put back; move "
                    "them again where needed.",
                )
                proposal = services.series_propose(
                    plan=plan, rebook=self.rebook, **{**args, "moves": {}}
                )
        except plans.ActivePlanExists as error:
            form_add_error(form, error)
            return self.render_to_response(self.get_context_data(form=form, active_plan=error.plan))
        except DomainError as error:
            form_add_error(form, error)
            return self.form_invalid(form)
        return self.render_to_response(self.get_context_data(form=form, proposal=proposal))

    def book(self, data, moves):
        with transaction.atomic():
            plan = plans.plan_create(
                client=self.client, start_date=data["start_date"], by=self.request.user
            )
            return services.series_book(
                plan=plan, by=self.request.user, **self.series_args(data, moves)
            )


class PlanRebookView(SeriesBookView):
    """Book the sessions of a plan that remain after cancellations (issue 13), on the
    same page: the plan's own window, from today; every row marked as in a new series."""

    rebook = True

    @cached_property
    def plan(self) -> Plan:
        queryset = selectors.plans_with_progress(Plan.objects.filter(cancelled_at__isnull=True))
        return get_object_or_404(queryset, pk=self.kwargs["pk"])

    @cached_property
    def client(self) -> Client:
        return get_object_or_404(
            clients_for_eligibility(Client.objects.all()), pk=self.plan.client_id
        )

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        # The plan has its start date and window already.
        for name in ("start_date", "weeks", "band"):
            form.fields.pop(name, None)
        return form

    def get_initial(self):
        """Where and when the plan's sessions were: the same esthetician, room, device,
        time and weekdays, to start from."""
        initial = {"sessions": self.plan.sessions_to_rebook}
        sessions = list(self.plan.sessions.order_by("-start")[:20])
        if sessions:
            last = sessions[0]
            initial.update(
                esthetician=last.esthetician_id,
                room=last.room_id,
                device=last.device_id,
                time=local(last.start).time(),
                weekdays=sorted({local(s.start).weekday() for s in sessions}),
            )
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rebook_plan"] = self.plan
        context["rebook_refusal"] = self.refusal
        return context

    @cached_property
    def refusal(self) -> str:
        """Why nothing can be rebooked, in words ("" when something can): the page then
        says so instead of offering a form that could only fail."""
        if not self.plan.sessions_to_rebook:
            return (
                "Nothing remains to rebook: every cancelled session of this plan has been "
                "booked again."
            )
        return rebook_refusal(self.plan, today=localdate())

    def post(self, request, *args, **kwargs):
        if self.refusal:
            return self.render_to_response(self.get_context_data(form=self.get_form()))
        return super().post(request, *args, **kwargs)

    def shown_plan(self, form):
        return self.plan

    def plan_for(self, data) -> Plan:
        return self.plan

    def series_args(self, data, moves) -> dict:
        args = super().series_args({**data, "weeks": None}, moves)
        args.pop("weeks")
        return args

    def book(self, data, moves):
        return services.series_book(
            plan=self.plan, by=self.request.user, rebook=True, **self.series_args(data, moves)
        )
