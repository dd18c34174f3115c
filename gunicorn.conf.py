"""gunicorn settings for `make serve` (Procfile.prod), all from the environment.

    gunicorn -c gunicorn.conf.py clinic.wsgi

WEB_BIND / WEB_PORT   address and port to listen on (127.0.0.1:8000: behind a proxy)
WEB_CONCURRENCY       worker processes (default 2 per CPU + 1)
WEB_THREADS           threads per worker (default 1)
WEB_TIMEOUT           seconds a request may take before its worker is restarted (30)
WEB_ACCESS_LOG        access log file, "-" for stdout (default), "" for none
FORWARDED_ALLOW_IPS   proxies whose X-Forwarded-Proto is believed (127.0.0.1,::1)
"""

import multiprocessing
import os

bind = f"{os.environ.get('WEB_BIND', '127.0.0.1')}:{os.environ.get('WEB_PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("WEB_THREADS") or 1)
timeout = int(os.environ.get("WEB_TIMEOUT") or 30)
# On SIGTERM a worker finishes the requests in hand for this long.
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT") or 20)
# Connections from the reverse proxy are kept open between requests.
keepalive = int(os.environ.get("WEB_KEEPALIVE") or 5)
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Request lines longer than this are refused (a signed email link is far shorter).
limit_request_line = 4094
# gunicorn 24+ opens a control socket in ~/.gunicorn by default: two servers on one
# machine (scaling out, the tests) would fight over it, and nothing here uses it.
control_socket_disable = True
