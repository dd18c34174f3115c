"""Correcting a treatment record (issue 13): its author or a manager; others get a 403."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.views.generic import FormView

from clinic.errors import DomainError
from clinic.forms import form_add_error
from clinic.permissions import RoleRequiredMixin
from sessions_app import selectors
from sessions_app.forms import TreatmentCorrectForm
from sessions_app.models import Session
from sessions_app.treatment import (
    MAY_NOT_CORRECT,
    TREATMENT_FIELDS,
    treatment_correct,
    treatment_may_correct,
)


class TreatmentCorrectView(RoleRequiredMixin, FormView):
    permission = "sessions.treat"
    form_class = TreatmentCorrectForm
    template_name = "sessions/treatment_correct.html"

    @cached_property
    def session(self) -> Session:
        queryset = selectors.sessions_for_list().select_related("treatment__recorded_by")
        return get_object_or_404(queryset, pk=self.kwargs["pk"], treatment__isnull=False)

    def dispatch(self, request, *args, **kwargs):
        # Log-in and the role first (the mixin), then the rule about this record.
        user = request.user
        gated = user.is_authenticated and user.can(self.permission)
        if gated and not treatment_may_correct(user=user, record=self.session.treatment):
            raise PermissionDenied(MAY_NOT_CORRECT)
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        record = self.session.treatment
        return {name: getattr(record, name) for name in TREATMENT_FIELDS}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "session": self.session}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            treatment_correct(session=self.session, by=self.request.user, **data)
        except (DomainError, ValidationError) as error:
            form_add_error(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request, "Treatment record corrected. The earlier version is kept in its history."
        )
        return redirect(f"{reverse('sessions:detail', args=[self.session.pk])}#treatment-heading")
