"""The browsable API documentation (Swagger UI from drf-spectacular's sidecar), for staff.

A member of staff who is not logged in is sent to the login page and back, as on every
page. The page's script comes from its own URL (the split view), so the site's
Content-Security-Policy needs no inline script; Swagger UI's page keeps one inline
``<style>`` block, allowed on this page only.
"""

from csp.decorators import csp_update
from django.contrib.auth.mixins import LoginRequiredMixin
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated


@method_decorator(csp_update({"style-src": ["'unsafe-inline'"]}), name="dispatch")
class ApiDocsView(LoginRequiredMixin, SpectacularSwaggerSplitView):
    permission_classes = [IsAuthenticated]
