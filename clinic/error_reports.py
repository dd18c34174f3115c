"""DEBUG error pages that never show a password written inside a URL (issue 12).

Django's ``SafeExceptionReporterFilter`` hides settings whose *name* looks secret
(``PASSWORD``, ``SECRET_KEY``, ...), but ``REDIS_URL``, ``CELERY_BROKER_URL`` and the
``DATABASE_URL``/``EMAIL_URL`` that ``runserver`` passes on in ``request.META`` (it
carries the whole environment) are shown as they are, password included. This filter
also blanks the password part of any ``scheme://user:password@host`` it finds in
settings, request headers and environment, and the local variables of the traceback.
"""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@  (the user may be empty: redis://:password@host)
_PASSWORD_IN_URL = re.compile(
    r"(?P<start>\b[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)(?P<password>[^@/?#\s]+)(?=@)", re.IGNORECASE
)
TEXTS = (str, dict, list, tuple)


class CredentialsInUrlsFilter(SafeExceptionReporterFilter):
    def cleanse_setting(self, key, value):
        value = super().cleanse_setting(key, value)
        # Plain strings only: a lazy object that poses as one is left alone (unevaluated).
        if type(value) is str:
            return self.cleanse_urls(value)
        return value

    def cleanse_urls(self, text: str) -> str:
        return _PASSWORD_IN_URL.sub(rf"\g<start>{self.cleansed_substitute}", text)

    def get_traceback_frame_variables(self, request, tb_frame):
        # Strings and the dicts and lists of them (an environ, a settings dict) as the
        # settings are: secret-looking keys hidden, passwords in URLs blanked.
        return [
            (name, self.cleanse_setting("", value) if isinstance(value, TEXTS) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]
