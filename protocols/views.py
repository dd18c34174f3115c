from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import FormView, ListView

from clinic.errors import RuleViolation
from clinic.forms import form_add_error
from clinic.permissions import RoleRequiredMixin
from protocols import services
from protocols.forms import BoundaryForm, ProtocolForm
from protocols.models import Protocol
from protocols.rules import AGE


class ProtocolListView(RoleRequiredMixin, ListView):
    permission = "protocols.view"
    model = Protocol
    template_name = "protocols/protocol_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        bands = list(context["object_list"])
        # Each shared boundary: the band above and the band below it.
        context["boundaries"] = list(zip(bands[1:], bands, strict=False))
        context["age_max"] = AGE.high
        return context


class ProtocolMoveStartView(RoleRequiredMixin, View):
    """Move the boundary between two neighbouring bands in one step."""

    permission = "protocols.edit"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        protocol = get_object_or_404(Protocol, pk=pk)
        form = BoundaryForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"{protocol.name}: enter the age the band starts at.")
            return redirect("protocols:list")
        try:
            services.protocol_move_start(protocol=protocol, min_age=form.cleaned_data["min_age"])
        except RuleViolation as error:
            messages.error(request, f"Not moved: {error.message}")
            return redirect("protocols:list")
        messages.success(
            request,
            f"{protocol.name} now starts at age {form.cleaned_data['min_age']}; the band below "
            "ends the year before. Plans already made keep their numbers.",
        )
        return redirect("protocols:list")


class ProtocolUpdateView(RoleRequiredMixin, FormView):
    permission = "protocols.edit"
    form_class = ProtocolForm
    template_name = "protocols/protocol_form.html"

    @cached_property
    def protocol(self) -> Protocol:
        return get_object_or_404(Protocol, pk=self.kwargs["pk"])

    def get_initial(self):
        return {name: getattr(self.protocol, name) for name in ProtocolForm.base_fields}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["protocol"] = self.protocol
        context["other_bands"] = Protocol.objects.exclude(pk=self.protocol.pk)
        return context

    def form_valid(self, form):
        # A fresh copy: the service changes the row it is given before it checks.
        protocol = Protocol.objects.get(pk=self.protocol.pk)
        try:
            services.protocol_update(protocol=protocol, **form.cleaned_data)
        except (RuleViolation, ValidationError) as error:
            form_add_error(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"Saved {protocol.name} (ages {protocol.age_label}). New plans use these numbers; "
            "plans already made keep theirs.",
        )
        return redirect("protocols:list")
