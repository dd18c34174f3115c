"""Headers that keep health data out of caches and pages under one script policy (issue 12).

Everything the app answers (pages, API, the clients' email links, letters) is about a
person, so nothing of it may be kept by a browser's or a proxy's cache: ``no-store`` on
every answer but the static files, which whitenoise serves before this runs. The
Content-Security-Policy itself is django-csp's (``CONTENT_SECURITY_POLICY`` in settings);
the views that need a wider one say so with its decorators, next to the reason.
"""

from django.conf import settings
from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """``Cache-Control: no-store`` (and its older spellings) on every dynamic answer."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.static_prefix = settings.STATIC_URL or "/static/"

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(self.static_prefix):
            add_never_cache_headers(response)
        return response
