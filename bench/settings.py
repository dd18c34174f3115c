"""Settings for the bench only: the app's own settings, plus what measuring needs.

- ``bench.urls``: the app's URLs and two floor views (a bare JSON answer, one SELECT by
  primary key), served by the same process so every ratio has its floor from the same run.
- ``bench.queries.QueryCountMiddleware``, outermost: a request sent with
  ``X-Bench-Queries: 1`` gets its query count back in the same header (load rounds do not
  send it, so they pay nothing for it).
- API throttles lifted out of the way: a load generator is one member of staff sending
  thousands of requests a minute (the throttle's check still runs on every request).

Everything else (DEBUG off, persistent connections, the middleware) is the app's, from the
environment, as ``make serve`` runs it; ``bench/run.py`` sets a strong ``SECRET_KEY``.
"""

from clinic.settings import *  # noqa: F403
from clinic.settings import MIDDLEWARE

ROOT_URLCONF = "bench.urls"
MIDDLEWARE = ["bench.queries.QueryCountMiddleware", *MIDDLEWARE]
API_THROTTLE_USER = "100000000/minute"
API_THROTTLE_ANON = "100000000/minute"
