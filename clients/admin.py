from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from clients.audit import AuditedAdminMixin
from clients.models import Clearance, Client, Screening


@admin.register(Client)
class ClientAdmin(SimpleHistoryAdmin):
    list_display = ("last_name", "first_name", "email", "phone", "date_of_birth")
    search_fields = ("first_name", "last_name", "email", "phone")
    # Set by what the client or the clinic did (unsubscribe, links revoked, erasure), each
    # through its own service; read here, never typed in.
    readonly_fields = ("unsubscribed_at", "links_revoked_at", "erased_at", "erased_by")


@admin.register(Screening)
class ScreeningAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Screenings are a record: read them here, never edit them."""

    audit_what = "screening"

    list_display = ("client", "outcome", "recorded_at", "recorded_by")
    list_filter = ("outcome",)
    list_select_related = ("client", "recorded_by")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Clearance)
class ClearanceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_what = "clearance"
    list_display = ("client", "physician", "issued_on", "expires_on")
    list_select_related = ("client",)
    exclude = ("document",)
