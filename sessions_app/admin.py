from django.contrib import admin

from sessions_app.models import ClosedDay, Device, Room, Session, TreatmentRecord, WorkingHours


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active")


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("name", "serial_number", "in_service")
    list_filter = ("in_service",)


@admin.register(WorkingHours)
class WorkingHoursAdmin(admin.ModelAdmin):
    list_display = ("esthetician", "weekday", "starts_at", "ends_at")
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
