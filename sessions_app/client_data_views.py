"""The manager's "Export data" and "Erase client" on the client page (issue 12): thin
views over ``sessions_app.client_data``."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views import View

from clients.models import Client
from clinic.permissions import RoleRequiredMixin
from sessions_app.client_data import (
    client_erase,
    client_export,
    erasure_confirmed,
    erasure_preview,
)


def export_response(export) -> HttpResponse:
    """The ZIP as a download that no cache keeps (health data)."""
    response = HttpResponse(export.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    add_never_cache_headers(response)
    return response


class ClientExportView(RoleRequiredMixin, View):
    """POST only (a button, so that no link preview or prefetch exports anything)."""

    permission = "clients.export"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        client = get_object_or_404(Client, pk=pk)
        return export_response(client_export(client=client, by=request.user, request=request))


class EraseConfirmForm(forms.Form):
    confirm_name = forms.CharField(
        label="Type the client's full name to confirm",
        max_length=250,
        error_messages={"required": "Type the client's full name to confirm the erasure."},
    )

    def __init__(self, *args, client: Client, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client
        self.fields["confirm_name"].help_text = f"Type “{client.full_name}”."
        self.fields["confirm_name"].widget.attrs["autocomplete"] = "off"

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"]
        if not erasure_confirmed(client=self.client, typed=typed):
            raise forms.ValidationError(
                f"That is not the client's name: type “{self.client.full_name}” to erase them."
            )
        return typed


class ClientEraseView(RoleRequiredMixin, View):
    """A confirmation page that says what erasure does and asks for the client's name;
    the POST erases through ``client_erase``. An erased client's page says so, and a
    second POST (a double submit) changes nothing."""

    permission = "clients.erase"
    template_name = "clients/client_erase.html"

    def _client(self, pk: int) -> Client:
        return get_object_or_404(Client.objects.select_related("erased_by"), pk=pk)

    def _page(self, request, client: Client, form, *, status: int = 200):
        context = {
            "client": client,
            "form": form,
            "preview": erasure_preview(clients=[client])[client.pk],
        }
        response = render(request, self.template_name, context, status=status)
        add_never_cache_headers(response)
        return response

    def get(self, request, pk: int):
        client = self._client(pk)
        return self._page(request, client, EraseConfirmForm(client=client))

    def post(self, request, pk: int):
        client = self._client(pk)
        if client.erased_at is None:
            form = EraseConfirmForm(request.POST, client=client)
            if not form.is_valid():
                return self._page(request, client, form, status=400)
        erasure = client_erase(client=client, by=request.user, request=request)
        messages.success(request, erasure.summary())
        return redirect("clients:detail", pk=client.pk)
