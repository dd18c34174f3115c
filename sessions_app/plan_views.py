"""Pages that act on a whole plan: cancelling it from the client page."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View

from clinic.errors import DomainError
from clinic.permissions import RoleRequiredMixin
from protocols.models import Plan
from sessions_app import plans
from sessions_app.booking import plan_label


class PlanCancelView(RoleRequiredMixin, View):
    """The "Cancel plan" button: cancels the plan and its booked sessions through
    ``plans.plan_cancel``, then goes back to the client's page."""

    permission = "plans.cancel"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        plan = get_object_or_404(Plan.objects.select_related("protocol", "client"), pk=pk)
        try:
            plans.plan_cancel(plan=plan, by=request.user)
        except DomainError as error:
            messages.error(request, f"Not cancelled: {error.message}")
        else:
            messages.success(
                request,
                f"{plan_label(plan)} is cancelled, with its booked sessions; "
                f"{plan.client.full_name} gets an email for each.",
            )
        return redirect(f"{reverse('clients:detail', args=[plan.client_id])}#plan-{plan.pk}")
