from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse

from clients.admin import ClientAdmin as ClientRecordAdmin
from clients.models import Client
from sessions_app.client_data import client_erase, erasure_preview
from sessions_app.models import (
    ClosedDay,
    DayOff,
    Device,
    Room,
    Session,
    TreatmentRecord,
    WorkingHours,
)
from sessions_app.resource_services import working_hours_problems


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active")


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("name", "serial_number", "in_service")
    list_filter = ("in_service",)


class WorkingHoursAdminForm(forms.ModelForm):
    """The set-up page's rules (no overlapping shifts on one day) here too, so the
    admin shows them as form errors rather than the database's refusal."""

    class Meta:
        model = WorkingHours
        fields = ["esthetician", "weekday", "starts_at", "ends_at"]

    def clean(self):
        data = super().clean()
        names = ("esthetician", "weekday", "starts_at", "ends_at")
        if all(data.get(name) is not None for name in names):
            errors = working_hours_problems(
                working_hours=self.instance, **{name: data[name] for name in names}
            )
            if errors:
                raise ValidationError(errors)
        return data


@admin.register(WorkingHours)
class WorkingHoursAdmin(admin.ModelAdmin):
    form = WorkingHoursAdminForm
    list_display = ("esthetician", "weekday", "starts_at", "ends_at")
    list_filter = ("esthetician",)


@admin.register(DayOff)
class DayOffAdmin(admin.ModelAdmin):
    list_display = ("date", "esthetician", "reason")
    list_filter = ("esthetician",)


@admin.register(ClosedDay)
class ClosedDayAdmin(admin.ModelAdmin):
    list_display = ("date", "reason")


class TreatmentInline(admin.StackedInline):
    model = TreatmentRecord
    extra = 0
    can_delete = False


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    """Read-mostly: bookings change through the clinic's pages, which check for clashes."""

    list_display = ("start", "client", "esthetician", "room", "device", "kind", "status")
    list_filter = ("status", "kind", "esthetician")
    list_select_related = ("client", "esthetician", "room", "device")
    date_hierarchy = "start"
    inlines = [TreatmentInline]
    readonly_fields = (
        "client",
        "esthetician",
        "room",
        "device",
        "plan",
        "start",
        "end",
        "kind",
        "status",
        "sequence",
        "booked_by",
        "checked_in_at",
        "completed_at",
        "cancelled_at",
    )

    def has_add_permission(self, request) -> bool:
        return False


# Deleting a client in the admin erases them (issue 12): the same service as the client
# page and the API, instead of a delete that the client's sessions protect. The admin
# of ``clients`` cannot import ``sessions_app``, so the client's admin is completed here.
admin.site.unregister(Client)


@admin.register(Client)
class ClientAdmin(ClientRecordAdmin):
    delete_confirmation_template = "admin/clients/client/erase_confirmation.html"
    delete_selected_confirmation_template = "admin/clients/client/erase_selected_confirmation.html"

    def has_change_permission(self, request, obj=None) -> bool:
        # An erased client is kept as anonymous statistics: read it, never edit it back.
        if obj is not None and obj.erased_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        """What the confirmation page lists: what erasing each client does. Nothing is
        deleted, so nothing is protected."""
        objs = list(objs)
        previews = erasure_preview(clients=objs)
        lines = []
        for client in objs:
            if client.erased_at is not None:
                lines.append(f"{client}: already erased; nothing changes.")
                continue
            preview = previews[client.pk]
            lines.append(
                f"{client}: name, contact details and notes anonymised, "
                f"{preview.letters} letter(s) deleted, {preview.future_sessions} future "
                f"session(s) and {preview.pending_emails} pending email(s) cancelled "
                "without notice; sessions and treatment records kept as anonymous statistics."
            )
        return lines, {}, set(), []

    def log_deletions(self, request, queryset):
        # Nothing is deleted: each erasure is logged as a change of the client (after
        # it, so the log names the erased client, not the person).
        pass

    def _erase(self, request, client):
        erasure = client_erase(client=client, by=request.user, request=request)
        if not erasure.already:
            self.log_change(request, erasure.client, "Erased (personal data anonymised).")
        return erasure

    def delete_model(self, request, obj):
        request.client_erasures = [self._erase(request, obj)]

    def delete_queryset(self, request, queryset):
        request.client_erasures = [self._erase(request, client) for client in queryset]

    def response_delete(self, request, obj_display, obj_id):
        erasure = request.client_erasures[0]
        self.message_user(request, f"Client {obj_id}: {erasure.summary()}", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:clients_client_change", args=[obj_id]))

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            actions["delete_selected"] = (
                type(self).erase_selected,
                "delete_selected",
                "Delete selected clients (erase: anonymise, keep sessions as statistics)",
            )
        return actions

    def erase_selected(self, request, queryset):
        """The bulk "delete selected": Django's confirmation page (listing what erasure
        does), then each client through ``client_erase``."""
        if not request.POST.get("post"):
            return delete_selected(self, request, queryset)
        self.delete_queryset(request, queryset)
        erasures = request.client_erasures
        done = sum(1 for erasure in erasures if not erasure.already)
        already = len(erasures) - done
        text = (
            f"Erased {done} client(s): names, contact details, notes and letters removed, "
            "future sessions and pending emails cancelled without notice; sessions and "
            "treatment records kept as anonymous statistics."
        )
        if already:
            text += f" {already} client(s) had already been erased; nothing changed for them."
        self.message_user(request, text, messages.SUCCESS)
        return None
