from django.views.generic import TemplateView

from clinic.permissions import RoleRequiredMixin


class CalendarView(RoleRequiredMixin, TemplateView):
    permission = "sessions.view"
    template_name = "sessions/calendar.html"
