"""Settings, all from environment variables (see the README's table).

With nothing set the app runs on embedded defaults: SQLite, a filesystem Celery
broker and emails written to ``var/emails``. ``DATABASE_URL`` and ``REDIS_URL``
switch to PostgreSQL and Redis.
"""

from datetime import timedelta
from pathlib import Path

import environ

from clinic import secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

VAR_DIR = Path(env.str("CLINIC_VAR_DIR", default=str(BASE_DIR / "var")))

# Secret key (issue 12): from the environment, or generated once into the var folder
# (mode 0600) and reused. With DEBUG off a short or known key refuses to start.
SECRET_KEY = env.str("SECRET_KEY", default="") or secret_key.generated(VAR_DIR / "secret_key")
# Old keys still accepted for signatures while rotating (email links already sent).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
DEBUG = env.bool("DEBUG", default=False)
if not DEBUG:
    secret_key.refuse_weak(SECRET_KEY, SECRET_KEY_FALLBACKS)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "clinic",
    "clinic.apps.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    # Expiring, revocable API tokens and log-in lockout (issue 12, item 3).
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "phonenumber_field",
    # The access log of health data (issue 12, clients.audit).
    "auditlog",
    "csp",
    "clients",
    "protocols",
    "sessions_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Issue 12, item 6: nothing dynamic is cached; one script and style policy for every page.
    "clinic.headers.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Health data access log (issue 12): knows the request, writes its reads at the end.
    "clients.audit.AccessLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, so it wraps only the view and its answer: one transaction per API write,
    # answer included, and Idempotency-Key replay (clinic.idempotency).
    "clinic.idempotency.ApiWriteMiddleware",
    # Ends a staff session idle for SESSION_IDLE_MINUTES (issue 12, item 3).
    "clinic.idle.IdleSessionMiddleware",
    # Innermost, as axes asks: turns a locked-out log-in attempt into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.clinic",
            ],
        },
    },
]

# Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'clinic.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction begins, so a
    # check-then-insert inside atomic() is not raced by another writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;",
    }
else:
    # Persistent connections: closing them after every request cost 12x throughput.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "clinic.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Time: stored in UTC, shown in the clinic's zone ---------------------------
LANGUAGE_CODE = "en-us"
CLINIC_TIME_ZONE = env.str("CLINIC_TIME_ZONE", default="America/Los_Angeles")
TIME_ZONE = CLINIC_TIME_ZONE
USE_I18N = False
USE_TZ = True

# Static files and uploads ---------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
WHITENOISE_USE_FINDERS = env.bool(
    "WHITENOISE_USE_FINDERS", default=not env.bool("STATIC_COLLECTED", default=False)
)
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
# Clearance documents live outside any public path; a staff-only view serves them.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
CLEARANCE_DOCUMENT_MAX_MB = env.int("CLEARANCE_DOCUMENT_MAX_MB", default=10)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = (CLEARANCE_DOCUMENT_MAX_MB + 1) * 1024 * 1024

# Clinic rules ----------------------------------------------------------------
CLINIC_NAME = env.str("CLINIC_NAME", default="Lumen Microcurrent Studio")
CLINIC_ADDRESS = env.str("CLINIC_ADDRESS", default="210 Valencia Street, San Francisco, CA 94103")
CLINIC_PHONE = env.str("CLINIC_PHONE", default="(415) 555-0100")
# Start of the links in client emails. Unset, it is the address `make run` serves
# (the Procfile's runserver on WEB_PORT), so links work on a fresh machine (issue 11);
# in production set it to the public https address.
WEB_PORT = env.int("WEB_PORT", default=8000)
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{WEB_PORT}").rstrip("/")
SCREENING_VALID_DAYS = env.int("SCREENING_VALID_DAYS", default=90)
SCREENING_RECENT_SURGERY_MONTHS = env.int("SCREENING_RECENT_SURGERY_MONTHS", default=6)
SCREENING_CANCER_TREATMENT_MONTHS = env.int("SCREENING_CANCER_TREATMENT_MONTHS", default=12)
CLEARANCE_VALID_MONTHS = env.int("CLEARANCE_VALID_MONTHS", default=12)
PHONENUMBER_DEFAULT_REGION = env.str("PHONE_REGION", default="US")
PHONENUMBER_DB_FORMAT = "E164"

# Reminders (an outbox dispatched by Celery beat) -------------------------------
REMINDER_EVENING_BEFORE = env.str("REMINDER_EVENING_BEFORE", default="18:00")
REMINDER_LATE_BOOKING_HOURS = env.int("REMINDER_LATE_BOOKING_HOURS", default=3)
REMINDER_BATCH_SIZE = env.int("REMINDER_BATCH_SIZE", default=200)
REMINDER_OUTAGE_MAX_SECONDS = env.int("REMINDER_OUTAGE_MAX_SECONDS", default=600)
REMINDER_MAX_ATTEMPTS = env.int("REMINDER_MAX_ATTEMPTS", default=6)
REMINDER_RETRY_BASE_SECONDS = env.int("REMINDER_RETRY_BASE_SECONDS", default=60)
# A row left in `sending` longer than this is taken up again: its worker is presumed dead.
# Every wait a live worker can make (EMAIL_TIMEOUT, the dispatch task's time limits) is
# bounded well under it, and clinic.checks refuses to start otherwise (issue 10).
REMINDER_SENDING_TIMEOUT_SECONDS = env.int("REMINDER_SENDING_TIMEOUT_SECONDS", default=180)
# The dispatch task's own limits: at the soft one it puts its unsent claims back and
# stops; at the hard one the pool kills it.
REMINDER_TASK_SOFT_TIME_LIMIT = env.int("REMINDER_TASK_SOFT_TIME_LIMIT", default=90)
REMINDER_TASK_TIME_LIMIT = env.int("REMINDER_TASK_TIME_LIMIT", default=120)
# A run stops claiming after this long and queues the next run at once (so one slow run
# never meets the soft limit, and a big outbox does not wait for beat's next tick).
REMINDER_DISPATCH_BUDGET_SECONDS = env.float("REMINDER_DISPATCH_BUDGET_SECONDS", default=45.0)
MAINTENANCE_DUE_WEEKS = env.int("MAINTENANCE_DUE_WEEKS", default=4)
MAINTENANCE_OVERDUE_WEEKS = env.int("MAINTENANCE_OVERDUE_WEEKS", default=6)
EMAIL_LINK_MAX_AGE_DAYS = env.int("EMAIL_LINK_MAX_AGE_DAYS", default=90)
CANCEL_NOTICE_HOURS = env.int("CANCEL_NOTICE_HOURS", default=24)

# Email -----------------------------------------------------------------------
# Without EMAIL_URL (e.g. smtp://user:pass@host:587) emails are written as files.
EMAIL_FILE_PATH = VAR_DIR / "emails"
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "clinic.mail.FolderEmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="clinic@example.com")
# Seconds any one wait on the mail server may take (connect, each reply). Without it a
# stalled server holds a worker, and its claimed rows, for ever.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=20.0)

# Celery ----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_DIR = VAR_DIR / "celery" / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # In and out must be the same folder, or nothing is ever consumed.
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
# Fair sharing (issue 10): a worker holds no message beyond the one it runs, so a burst
# of dispatch runs spreads over every idle worker instead of queueing behind a busy one.
# Late acks are safe here: every task is harmless to run twice (a dispatch run only
# sends what it claims in the database), and a run lost with its worker is run again.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
CELERY_BEAT_SCHEDULE = {
    # The database row is the schedule: this task only sends what is due now.
    "dispatch-due-reminders": {
        "task": "sessions_app.tasks.dispatch_due_reminders",
        "schedule": env.float("REMINDER_DISPATCH_EVERY_SECONDS", default=60.0),
    },
    "purge-expired-idempotency-keys": {
        "task": "clinic.tasks.purge_expired_idempotency_keys",
        "schedule": 3600.0,
    },
}

# Production (issue 12, items 1-2): static files, HTTPS, health check, error pages ----
# STATIC_COLLECTED (`make serve` sets it): `collectstatic` runs before the start and
# writes hashed, compressed copies into STATIC_ROOT; pages name the hashed copies and
# whitenoise serves them compressed with far-future caching. Unset (`make run`, the
# tests): whitenoise serves the files straight from the static folders, nothing to collect.
STATIC_COLLECTED = env.bool("STATIC_COLLECTED", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_COLLECTED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# One queue name shared by web, beat and workers (several apps on one Redis).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # A database that cannot be reached answers within seconds (health check, requests),
    # never after the operating system's TCP timeout of minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
# /health/: the longest wait on the broker before it counts as unreachable.
HEALTH_CHECK_TIMEOUT_SECONDS = env.float("HEALTH_CHECK_TIMEOUT_SECONDS", default=2.0)
# HTTPS: on when SITE_URL (the public address) is https.
SITE_IS_HTTPS = SITE_URL.startswith("https://")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SITE_IS_HTTPS)
# A load balancer probes the health check over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if SITE_IS_HTTPS else 0)
# Both are promises about the whole domain that are slow to take back: set them on purpose.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SITE_IS_HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SITE_IS_HTTPS)
# Only when the proxy in front always sets X-Forwarded-Proto (and strips a client's own);
# gunicorn already trusts it from FORWARDED_ALLOW_IPS (gunicorn.conf.py).
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
_site_origin = "/".join(SITE_URL.split("/", 3)[:3])
if _site_origin not in CSRF_TRUSTED_ORIGINS:
    CSRF_TRUSTED_ORIGINS.append(_site_origin)
# Content-Security-Policy (django-csp): scripts, styles, images and fonts only from this
# site; no inline script or style, no plugins, no framing by other sites, forms post here.
# The email preview's frame and the API docs widen it on their own views.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# DEBUG error pages hide the passwords inside URLs (DATABASE_URL, REDIS_URL, ...).
DEFAULT_EXCEPTION_REPORTER_FILTER = "clinic.error_reports.CredentialsInUrlsFilter"

# Logins, tokens and sessions (issue 12, item 3) ---------------------------------
# How many reverse proxies in front append to X-Forwarded-For: 0 trusts none and uses the
# connection's address (a client could otherwise pick its own address and dodge the
# per-address lockout and throttle); 1 behind one nginx, and so on.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Lockout (django-axes): a username after LOGIN_FAILURE_LIMIT failures from anywhere, an
# address after as many failures on any usernames; on the login page, the admin's and the
# token endpoint. The lock lifts LOGIN_LOCKOUT_MINUTES after the last failure, or when a
# manager unlocks it ("Log-in lockouts", clinic.logins).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "clinic.auth_backends.StaffBackend",
]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
# Each entry locks on its own: the username whatever the address, the address whatever
# the username.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "clinic.logins.lockout_response"
AXES_CLIENT_IP_CALLABLE = "clinic.logins.client_ip"
AXES_HTTP_RESPONSE_CODE = 429
# A success does not wipe the count: else one's own account would reset an address's
# failures between guesses at other usernames.
AXES_RESET_ON_SUCCESS = False
AXES_SENSITIVE_PARAMETERS = ["password"]
AXES_VERBOSE = False
# API tokens (django-rest-knox): stored only as a hash, expire after API_TOKEN_TTL_HOURS,
# all of a member of staff's tokens end when their password changes (clinic.tokens).
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=10)
# Health-data access log (clients.audit): does the commit of a read's row wait for the
# disk? True by default: an audit of health data is not allowed to lose rows. False turns
# PostgreSQL's synchronous_commit off for those rows only (faster reads; a database server
# crash may lose its last ~0.6 s of read rows; changes' rows always wait). Issue 14.
# The API token lookup, the eligibility read and the access log's INSERT are prepared once
# per PostgreSQL connection (clinic.prepared, issue 14). Off behind a transaction-mode
# pooler (PgBouncer pool_mode=transaction, RDS Proxy): they then run as plain SQL.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
ACCESS_LOG_READS_SYNCHRONOUS = env.bool("ACCESS_LOG_READS_SYNCHRONOUS", default=True)
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
# API throttles, "<count>/<second|minute|hour|day>". Per address for anonymous requests,
# per member of staff otherwise; the token endpoint has its own, stricter, per address.
API_THROTTLE_ANON = env.str("API_THROTTLE_ANON", default="60/minute")
API_THROTTLE_USER = env.str("API_THROTTLE_USER", default="1200/minute")
API_THROTTLE_TOKEN = env.str("API_THROTTLE_TOKEN", default="20/minute")
# The throttles count in this process's memory, on purpose: not Redis, so the API keeps
# answering while Redis is down (the broker may be, bookings must not fail with it), and
# not the database cache, which would add writes (and row locks held for a whole API
# write's transaction) to every request. Each web process counts on its own, so N
# processes allow up to N times the rate; the lockout above, the guard that matters,
# lives in the database and is shared by all.
CACHES = {
    # Pages' computed parts, keyed on the data version (clinic.dataversion, issue 14):
    # only a cache every process shares can hold them, so with REDIS_URL. Short waits:
    # a page computes its parts itself when Redis does not answer.
    "default": {
        # Django's, keeping one Redis client per pool (clinic.cache).
        "BACKEND": "clinic.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "clinic",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "api-throttle",
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    },
}
# Seconds a computed page part (the day, the week, the calendar feed) may be kept at
# most; every write makes a new one sooner (clinic.dataversion). 0 turns the cache off.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=300)
# Idle staff sessions end: no request for SESSION_IDLE_MINUTES and the next one finds the
# member of staff logged out, the login page saying why (clinic.idle).
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)

# REST API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "clinic.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Rates are the API_THROTTLE_* settings below, read when a request comes (clinic.throttles).
    "DEFAULT_THROTTLE_CLASSES": [
        "clinic.throttles.AnonThrottle",
        "clinic.throttles.UserThrottle",
    ],
    # The client's address for the anonymous throttle: REMOTE_ADDR unless proxies are trusted.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_PERMISSION_CLASSES": ["clinic.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "clinic.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "clinic.schema.ClinicAutoSchema",
    "EXCEPTION_HANDLER": "clinic.errors.api_exception_handler",
}
# How long an Idempotency-Key and its stored answer are kept (clinic.idempotency).
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
SPECTACULAR_SETTINGS = {
    "TITLE": "Microcurrent clinic session manager API",
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ConditionCodeEnum": "clients.rules.CONDITION_CODES",
        "ClearableConditionEnum": "clients.rules.CLEARABLE_CODES",
        "ModalityEnum": "protocols.models.Modality",
        "SessionKindEnum": "sessions_app.models.Session.Kind",
        "ReminderKindEnum": "sessions_app.models.Reminder.Kind",
    },
    # Swagger UI served from our own static files: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
