"""Pages for logging in and for one's account (issue 12, item 3): the login page with the
lockout and idle messages, "Change password", "My API tokens", and the manager's
"Log-ins" page (lockouts to unlock, every member of staff's tokens to revoke)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse_lazy
from django.views import View
from django.views.generic import TemplateView

from clinic import logins, tokens
from clinic.idle import session_ended_idle
from clinic.models import User
from clinic.permissions import RoleRequiredMixin


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password didn't match. Please try again.",
    }

    def get_invalid_login_error(self):
        if getattr(self.request, "axes_locked_out", False):
            self.locked_out = True
            return ValidationError(
                logins.lockout_message_for(self.request, {"username": self.username_value()}),
                code="locked_out",
            )
        return super().get_invalid_login_error()

    def username_value(self) -> str | None:
        return self.cleaned_data.get("username")


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["ended_idle"] = self.request.method == "GET" and session_ended_idle(self.request)
        context["session_idle_minutes"] = settings.SESSION_IDLE_MINUTES
        return context

    def form_invalid(self, form):
        response = super().form_invalid(form)
        # axes (clinic.logins.lockout_response) keeps this page and sets its status.
        response.shows_lockout = getattr(form, "locked_out", False)
        return response


class PasswordChangeView(RoleRequiredMixin, auth_views.PasswordChangeView):
    """Any member of staff changes their own password; their API tokens end with the old
    one (clinic.tokens) and this session stays signed in."""

    permission = "account.tokens"
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("account-tokens")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(
            self.request,
            "Your password has been changed. Your API tokens no longer work: ask for a new one.",
        )
        return response


class MyTokensView(RoleRequiredMixin, TemplateView):
    permission = "account.tokens"
    template_name = "accounts/tokens.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tokens"] = list(tokens.tokens_active(user=self.request.user))
        context["token_ttl_hours"] = settings.API_TOKEN_TTL_HOURS
        return context

    def post(self, request):
        if "all" in request.POST:
            count = tokens.tokens_revoke_all(user=request.user, by=request.user)
            messages.success(request, f"Revoked {count} token{'s' if count != 1 else ''}.")
        elif tokens.token_revoke(
            user=request.user, digest=request.POST.get("token", ""), by=request.user
        ):
            messages.success(request, "Token revoked: it no longer works.")
        else:
            messages.info(request, "That token had already gone.")
        return redirect("account-tokens")


class LoginsView(RoleRequiredMixin, TemplateView):
    """The manager's page: who is locked out, and who holds API tokens."""

    permission = "staff.manage"
    template_name = "accounts/logins.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        counts = tokens.tokens_per_staff()
        context["lockouts"] = logins.lockouts_current()
        context["failure_limit"] = settings.LOGIN_FAILURE_LIMIT
        context["lockout_minutes"] = settings.LOGIN_LOCKOUT_MINUTES
        context["staff_tokens"] = [
            (person, counts[person.pk])
            for person in User.objects.filter(pk__in=counts).order_by("username")
        ]
        return context


class UnlockView(RoleRequiredMixin, View):
    permission = "staff.manage"

    def post(self, request):
        kind, value = request.POST.get("kind", ""), request.POST.get("value", "")
        if kind not in ("username", "address") or not value:
            messages.error(request, "Choose a lockout to lift.")
            return redirect("logins")
        logins.lockout_unlock(kind=kind, value=value, by=request.user)
        noun = "username" if kind == "username" else "address"
        messages.success(request, f"Unlocked the {noun} {value}: log-in is open again.")
        return redirect("logins")


class RevokeStaffTokensView(RoleRequiredMixin, View):
    permission = "staff.manage"

    def post(self, request, pk):
        person = get_object_or_404(User, pk=pk)
        count = tokens.tokens_revoke_all(user=person, by=request.user)
        messages.success(
            request,
            f"Revoked {count} API token{'s' if count != 1 else ''} of "
            f"{person.get_full_name() or person.username}.",
        )
        return redirect("logins")
