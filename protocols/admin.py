from django import forms
from django.contrib import admin

from clinic.errors import RuleViolation
from protocols.models import Plan, Protocol
from protocols.services import PROTOCOL_FIELDS, protocol_update, protocol_validate


class ProtocolAdminForm(forms.ModelForm):
    class Meta:
        model = Protocol
        fields = list(PROTOCOL_FIELDS)

    def _post_clean(self):
        super()._post_clean()
        try:
            protocol_validate(self.instance)
        except RuleViolation as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    """Edits here go through the same band check as the protocol pages."""

    form = ProtocolAdminForm

    list_display = (
        "name",
        "min_age",
        "max_age",
        "sessions_min",
        "sessions_max",
        "weeks_min",
        "weeks_max",
        "session_minutes",
        "default_modality",
    )

    def save_model(self, request, obj, form, change):
        protocol_update(protocol=obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "client",
        "protocol",
        "start_date",
        "age_at_start",
        "sessions_min",
        "sessions_max",
    )
    list_select_related = ("client", "protocol")
    # Plans are made and cancelled by sessions_app.plans (one active plan per client;
    # cancelling notifies the client): the admin only shows them.
    readonly_fields = (
        "client",
        "protocol",
        "start_date",
        "cancelled_at",
        "cancelled_by",
        "modality",
        "created_by",
        "age_at_start",
        "sessions_min",
        "sessions_max",
        "weeks_min",
        "weeks_max",
        "session_minutes",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
