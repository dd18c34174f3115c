"""Managers' pages for the clinic's resources: rooms, devices, hours, closed days."""

from django.views.generic import TemplateView

from clinic.permissions import RoleRequiredMixin


class ResourcesHomeView(RoleRequiredMixin, TemplateView):
    permission = "resources.manage"
    template_name = "manage/home.html"
