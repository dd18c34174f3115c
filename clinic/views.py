from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse

from clinic.roles import Role


@login_required
def home(request):
    """Estheticians start from their own day, today (issue 13); everyone else from the
    day's schedule."""
    if request.user.role == Role.ESTHETICIAN:
        return redirect(f"{reverse('sessions:calendar')}?view=day")
    return redirect("sessions:schedule")


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else ""
    return render(request, "403.html", {"message": message}, status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html", status=500)


def database_unavailable(request):
    """The 503 page (clinic.errors): like 500.html, it asks nothing of the database."""
    return render(request, "503.html", status=503)
