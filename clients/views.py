from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import FormView, ListView, TemplateView

from clients import selectors, services
from clients.api import clearance_document_response
from clients.forms import ClearanceForm, ClientForm, ScreeningForm
from clients.models import Clearance, Client
from clients.rules import CONDITION_LABELS, Condition
from clinic.clinic_time import localdate
from clinic.errors import DomainError
from clinic.forms import form_add_error
from clinic.permissions import RoleRequiredMixin


class ClientListView(RoleRequiredMixin, ListView):
    permission = "clients.view"
    template_name = "clients/client_list.html"
    paginate_by = 25

    def get_queryset(self):
        query = self.request.GET.get("q", "").strip()
        return selectors.clients_for_eligibility(selectors.client_search(query=query))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["query"] = self.request.GET.get("q", "").strip()
        context["rows"] = [
            (client, selectors.client_eligibility(client=client))
            for client in context["object_list"]
        ]
        return context


class ClientMixin(RoleRequiredMixin):
    """A page about one client, found by the URL's ``pk``."""

    @cached_property
    def client(self) -> Client:
        queryset = selectors.clients_for_eligibility(Client.objects.all())
        return get_object_or_404(queryset, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["client"] = self.client
        return context


class ClientDetailView(ClientMixin, TemplateView):
    permission = "clients.view"
    template_name = "clients/client_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["eligibility"] = selectors.client_eligibility(client=self.client)
        context["changes"] = selectors.client_changes(client=self.client)
        context["today"] = localdate()
        return context


class ClientCreateView(RoleRequiredMixin, FormView):
    permission = "clients.edit"
    form_class = ClientForm
    template_name = "clients/client_form.html"

    def form_valid(self, form):
        try:
            client = services.client_create(by=self.request.user, **form.cleaned_data)
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
            services.client_update(client=client, by=self.request.user, **form.cleaned_data)
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
