from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import FormView, ListView, TemplateView

from clients import audit, client_page, list_page, selectors, services
from clients.api import clearance_document_response
from clients.forms import AccessLogFilterForm, ClearanceForm, ClientForm, ScreeningForm
from clients.models import Clearance, Client
from clients.rules import CONDITION_LABELS, Condition
from clinic.errors import DomainError
from clinic.forms import form_add_error
from clinic.models import User
from clinic.permissions import RoleRequiredMixin


class ClientListView(RoleRequiredMixin, TemplateView):
    permission = "clients.view"
    template_name = "clients/client_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.get("q", "").strip()
        context["query"] = query
        context["results"] = list_page.client_results(
            query=query,
            page=self.request.GET.get("page") or "1",
            can_edit=self.request.user.can("clients.edit"),
        )
        return context


class ClientMixin(RoleRequiredMixin):
    """A page about one client, found by the URL's ``pk``."""

    @cached_property
    def client(self) -> Client:
        queryset = selectors.clients_for_eligibility(Client.objects.select_related("erased_by"))
        return get_object_or_404(queryset, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["client"] = self.client
        return context


HEALTH_SHOWN = ("screening", "clearance", "eligibility")


class ClientDetailView(RoleRequiredMixin, TemplateView):
    permission = "clients.view"
    template_name = "clients/client_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The body from the page cache (clients.client_page); the CSRF token is this
        # request's own.
        page = client_page.client_page(pk=self.kwargs["pk"], user=self.request.user)
        # The page shows the screening history, the clearances and (unless erased) the
        # eligibility with its reasons: each is a read of health data.
        shown = ("screening", "clearance") if page["erased"] else HEALTH_SHOWN
        audit.record_reads(self.request, page["client_id"], *shown)
        html = page["html"].replace(client_page.CSRF_MARK, get_token(self.request))
        context["page"] = {"title": page["title"], "html": mark_safe(html)}  # noqa: S308
        return context


def confirmed_duplicates(request) -> list[int]:
    """The clients on file the person saw and still registers (or saves) beside: the
    value of the "Register a new client anyway" or "Save changes anyway" button (none for
    the main button)."""
    raw = request.POST.get("confirm_duplicate_of", "")
    return [int(part) for part in raw.split(",") if part.strip().isdigit()]


class ClientCreateView(RoleRequiredMixin, FormView):
    permission = "clients.edit"
    form_class = ClientForm
    template_name = "clients/client_form.html"

    def form_valid(self, form):
        try:
            client = services.client_create(
                by=self.request.user,
                confirm_duplicate_of=confirmed_duplicates(self.request),
                **form.cleaned_data,
            )
        except services.DuplicateClient as found:
            # Show who is on file and ask (issue 13); "Register anyway" posts the form
            # again with their ids. Nothing is an error in what was typed.
            context = self.get_context_data(form=form, duplicates=found.duplicates)
            context["confirm_ids"] = ",".join(str(d.client.pk) for d in found.duplicates)
            return self.render_to_response(context)
        except ValidationError as error:
            form_add_error(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request, f"{client.full_name} is registered. Next, screen them for treatment."
        )
        return redirect("clients:screening", pk=client.pk)


class ClientUpdateView(ClientMixin, FormView):
    permission = "clients.edit"
    form_class = ClientForm
    template_name = "clients/client_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.client}

    def form_valid(self, form):
        client = Client.objects.get(pk=self.client.pk)
        try:
            services.client_update(
                client=client,
                by=self.request.user,
                confirm_duplicate_of=confirmed_duplicates(self.request),
                **form.cleaned_data,
            )
        except services.DuplicateClient as found:
            # The new details are another client's (issue 13): show them and ask, as
            # registering does; "Save changes anyway" posts the form again with their ids.
            context = self.get_context_data(form=form, duplicates=found.duplicates)
            context["confirm_ids"] = ",".join(str(d.client.pk) for d in found.duplicates)
            return self.render_to_response(context)
        except ValidationError as error:
            form_add_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"Saved the changes to {client.full_name}.")
        return redirect("clients:detail", pk=client.pk)


class ScreeningCreateView(ClientMixin, FormView):
    permission = "screenings.record"
    form_class = ScreeningForm
    template_name = "clients/screening_form.html"
    extra_context = {"valid_days": settings.SCREENING_VALID_DAYS}

    def form_valid(self, form):
        screening = services.screening_record(
            client=self.client, answers=form.cleaned_data, by=self.request.user
        )
        label = screening.get_outcome_display()
        messages.success(self.request, f"Screening saved: {label}.")
        return redirect("clients:detail", pk=self.client.pk)


class ClearanceCreateView(ClientMixin, FormView):
    permission = "clearances.record"
    form_class = ClearanceForm
    template_name = "clients/clearance_form.html"

    def get_form_kwargs(self):
        eligibility = selectors.client_eligibility(client=self.client)
        return {**super().get_form_kwargs(), "missing": eligibility.missing_clearances}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["eligibility"] = selectors.client_eligibility(client=self.client)
        # The page names the clearances still missing.
        audit.record_access(client=self.client, what="eligibility", request=self.request)
        return context

    def form_valid(self, form):
        try:
            clearance = services.clearance_record(
                client=self.client, by=self.request.user, **form.cleaned_data
            )
        except (DomainError, ValidationError) as error:
            form_add_error(form, error)
            return self.form_invalid(form)
        covered = ", ".join(CONDITION_LABELS[Condition(c)].lower() for c in clearance.conditions)
        messages.success(self.request, f"Clearance from {clearance.physician} saved ({covered}).")
        return redirect(reverse("clients:detail", kwargs={"pk": self.client.pk}))


class ClearanceDocumentView(RoleRequiredMixin, View):
    permission = "clearances.view_document"

    def get(self, request, pk: int):
        return clearance_document_response(get_object_or_404(Clearance, pk=pk))


class AccessLogView(RoleRequiredMixin, ListView):
    """Who read or changed which client's health data, newest first (issue 12)."""

    permission = "audit.view"
    template_name = "clients/access_log.html"
    paginate_by = 50
    # A name search narrows the log to at most this many clients, listed to pick from.
    picker_limit = 20

    @cached_property
    def filters(self) -> AccessLogFilterForm:
        staff = [(str(u.pk), f"{u} ({u.get_role_display()})") for u in User.objects.all()]
        choices = [*staff, *audit.STAFF_FILTERS.items()]
        form = AccessLogFilterForm(self.request.GET, staff_choices=choices)
        form.is_valid()
        return form

    @cached_property
    def clients(self) -> tuple[Client | None, list[Client] | None]:
        """The client picked, and the clients a name search found (None: no search)."""
        data = self.filters.cleaned_data if self.filters.is_valid() else {}
        if data.get("client"):
            return Client.objects.filter(pk=data["client"]).first(), None
        if data.get("q"):
            found = selectors.client_search(query=data["q"])
            return None, list(found[: self.picker_limit + 1])
        return None, None

    def get_queryset(self):
        if not self.filters.is_valid():
            return audit.access_log().none()
        picked, found = self.clients
        data = self.filters.cleaned_data
        if data.get("client"):
            client_ids = [data["client"]]
        elif found is not None:
            client_ids = [c.pk for c in found[: self.picker_limit]]
        else:
            client_ids = None
        return audit.access_log(client_ids=client_ids, staff=data.get("staff") or "")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        picked, found = self.clients
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            form=self.filters,
            rows=audit.access_rows(context["object_list"]),
            picked=picked,
            picked_id=self.filters.cleaned_data.get("client") if self.filters.is_valid() else None,
            found=found[: self.picker_limit] if found is not None else None,
            found_more=found is not None and len(found) > self.picker_limit,
            filtered=any(self.request.GET.get(k) for k in ("client", "q", "staff")),
            query=query.urlencode(),
            staff_query=self._without("client", "q"),
        )
        return context

    def _without(self, *names) -> str:
        query = self.request.GET.copy()
        for name in (*names, "page"):
            query.pop(name, None)
        return query.urlencode()
