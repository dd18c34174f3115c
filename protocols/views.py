from django.views.generic import ListView

from clinic.permissions import RoleRequiredMixin
from protocols.models import Protocol


class ProtocolListView(RoleRequiredMixin, ListView):
    permission = "protocols.view"
    model = Protocol
    template_name = "protocols/protocol_list.html"
