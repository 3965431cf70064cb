"""Settings for the lead-refunds back-office, read from the environment.

Every value has a safe development default except SECRET_KEY, which production must set.
A malformed value stops the process at start-up with ImproperlyConfigured.
"""

import sys
from pathlib import Path

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_cache,
    env_choice,
    env_decimal,
    env_int,
    env_list,
    env_redis_url,
    env_str,
)

# Lets admin classes be written ModelAdmin[Model] at run time, as the type checker reads them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
TESTING = "pytest" in sys.modules or env_bool("TESTING")

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "django-insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG or TESTING else "")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names this site answers to")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_fsm",
    "csp",
    # Listed so the API docs page serves its Swagger files from here, not from a CDN.
    "ninja",
    "accounts",
    "leads",
    "refunds",
    "integrations",
    "webhooks",
    # After refunds, whose `qcluster` command wraps django-q2's (the first app listed wins).
    "django_q",
]

MIDDLEWARE = [
    # First: the request id is bound before anything else logs (config/logs.py).
    "config.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy (CONTENT_SECURITY_POLICY) and Permissions-Policy on every
    # response, static files included.
    "csp.middleware.CSPMiddleware",
    "config.headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Times in the reader's zone: a pro's market's, a staff member's own (accounts.timezones).
    "accounts.timezones.LocalTimeMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "accounts.context_processors.navigation",
            ],
            # Every template writes times and money one way: {{ value|when }},
            # {{ amount|money }} (accounts/templatetags).
            "builtins": ["accounts.templatetags.local_time", "accounts.templatetags.money"],
        },
    },
]

# The embedded default is an SQLite file beside manage.py; production and CI use PostgreSQL.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    # Connections are kept for a minute between requests; the health check (one SELECT 1 at a
    # request's first query) replaces one the server dropped meanwhile instead of failing on it.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] not in (
    "django.db.backends.sqlite3",
    "django.db.backends.postgresql",
):
    raise ImproperlyConfigured("DATABASE_URL must point at SQLite or PostgreSQL")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Wait for a busy writer instead of failing at once: the worker and the web share the file.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}

# --- Read replica --------------------------------------------------------------------------
# DATABASE_REPLICA_URL (optional) adds a `replica` alias, a read-only copy of the database kept
# by PostgreSQL's streaming replication. Only reads made inside config.db_router.using_replica()
# (the heavy read pages mark themselves) go there; writes, the review path and everything else
# use `default`. Unset: no replica alias, and using_replica() changes nothing.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    try:
        DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URL is not a database URL: {exc}") from None
    if DATABASES["replica"]["ENGINE"] != DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must use the same engine as DATABASE_URL")
    # Under tests the replica is the test database itself, through a second connection.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]
# --- end of read replica -------------------------------------------------------------------

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Password hashing ----------------------------------------------------------------------
# Argon2 (argon2-cffi) hashes every new or changed password. The PBKDF2 hashers after it still
# check the hashes made before (Django's earlier default), and Django re-hashes such a password
# with Argon2 when its owner next signs in. The suite uses the fast MD5 hasher;
# tests/accounts/test_password_hashing.py signs in with this list.
PRODUCTION_PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
PASSWORD_HASHERS = PRODUCTION_PASSWORD_HASHERS
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# --- end of password hashing ---------------------------------------------------------------

LANGUAGE_CODE = "en-us"
# Django's own date and time formats (the admin's lists) match the product's filters.
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# In development and tests whitenoise serves straight from the apps' and project's static folders.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Development prints each email; production sends through the SMTP server below. The console
# backend writes whole emails (addresses and bodies) to the process's output, which production
# ships with its logs, so it is refused when DEBUG is off.
CONSOLE_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    CONSOLE_EMAIL_BACKEND if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
if EMAIL_BACKEND == CONSOLE_EMAIL_BACKEND and not DEBUG:
    raise ImproperlyConfigured(
        "EMAIL_BACKEND: the console backend writes whole emails to the logs; with DEBUG off use "
        "SMTP (the default) or django.core.mail.backends.dummy.EmailBackend to send nothing"
    )
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Lead refunds <refunds@localhost>")

# Where the site answers, for the absolute links in emails (a pro's Inbox message, a request in
# the admin): scheme and host, no path. Unset, production uses https:// and the first host of
# ALLOWED_HOSTS; development and tests the address runserver and the demo use.
SITE_URL = env_str("SITE_URL").strip().rstrip("/")
if not SITE_URL:
    if DEBUG or TESTING:
        SITE_URL = "http://127.0.0.1:8000"
    elif ALLOWED_HOSTS[0].startswith((".", "*")):
        raise ImproperlyConfigured(
            f"SITE_URL must be set: the first of ALLOWED_HOSTS ({ALLOWED_HOSTS[0]}) is a pattern"
        )
    else:
        SITE_URL = f"https://{ALLOWED_HOSTS[0]}"
if not SITE_URL.startswith(("http://", "https://")) or not SITE_URL.split("://", 1)[1]:
    raise ImproperlyConfigured(f"SITE_URL must be http(s)://<host>, not {SITE_URL!r}")


# On only behind a proxy that overwrites X-Forwarded-Proto, X-Forwarded-For and X-Request-ID
# (dropping whatever a visitor sent): the site then believes them for HTTPS, the sign-in
# throttle's address and the logs' request id. Off, a visitor's headers are never believed.
TRUST_PROXY_HEADERS = env_bool("TRUST_PROXY_HEADERS", False)

# Content-Security-Policy (django-csp) on every page, the admin's and the API docs' included:
# scripts, styles, fonts and requests from this site only, no inline script or style, no
# plugins, not framed. data: images are Bootstrap's and the admin's inline SVG icons in CSS.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Browser features no page here uses, switched off for every page (config.headers).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
}

# The cache holds the sign-in throttle's counts, which every web process must share. Local
# memory (the default with DEBUG and in tests) is one process's own; production defaults to
# the database's cache table (scripts/serve runs createcachetable); redis://host:6379/1 too.
CACHES = {
    "default": env_cache("CACHE_URL", "locmem://" if DEBUG or TESTING else "db://django_cache")
}
# Failed sign-ins for one email address from one IP address, and from one IP address for any
# email address (password spraying), before signing in from there pauses, and for how long
# (accounts.forms.LoginThrottle; both the site's and the admin's sign-in pages).
LOGIN_THROTTLE = {
    "FAILURES": env_int("LOGIN_THROTTLE_FAILURES", 5, minimum=1),
    "IP_FAILURES": env_int("LOGIN_THROTTLE_IP_FAILURES", 20, minimum=1),
    "MINUTES": env_int("LOGIN_THROTTLE_MINUTES", 15, minimum=1),
}

if not DEBUG and not TESTING:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a promise made for the whole registered domain at hstspreload.org; a
        # back office on a subdomain does not make it, so check --deploy's reminder is silenced.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    if TRUST_PROXY_HEADERS:
        # A visitor can send X-Forwarded-Proto too: believed only when the proxy overwrites it.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# django-q2: the ORM broker keeps tasks in the database, so the demo needs no other service.
# retry must exceed timeout, or a slow task would be handed out twice.
Q_TIMEOUT = env_int("Q_TIMEOUT", 60, minimum=1)
Q_CLUSTER = {
    "name": "refunds",
    "orm": "default",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    "timeout": Q_TIMEOUT,
    "retry": env_int("Q_RETRY", Q_TIMEOUT * 2, minimum=Q_TIMEOUT + 1),
    "max_attempts": env_int("Q_MAX_ATTEMPTS", 5, minimum=1),
    "catch_up": False,
    "sync": TESTING or env_bool("Q_SYNC", False),
    # Every run is kept (support reads failures and attempts in the admin). A positive limit
    # would make the monitor lock and count the whole history after every task; old runs are
    # pruned by a scheduled task instead (refunds.tasks.prune_task_history).
    "save_limit": 0,
    # Hand a worker several queued tasks per database round trip.
    "bulk": env_int("Q_BULK", 10, minimum=1),
    "ack_failures": True,
}
if Q_CLUSTER["retry"] <= Q_CLUSTER["timeout"]:
    raise ImproperlyConfigured("Q_RETRY must be greater than Q_TIMEOUT (django-q2 requirement)")

# --- The worker's broker: the database by default, Redis as an option -----------------------
# Q_BROKER_URL=redis://host:6379/0 keeps the queue in Redis; every qcluster (and the web, which
# queues) must use the same URL. Redis hands a task out once: Q_RETRY, Q_MAX_ATTEMPTS and Q_BULK
# then do nothing, and the stuck-decisions sweep sends a lost or failed credit, denial or email
# again (README, "Running in production"). The test suite keeps the database broker whatever the
# environment says; tests/guarantees/test_worker_cluster.py runs real clusters on both.
Q_BROKER_URL = env_redis_url("Q_BROKER_URL")
if Q_BROKER_URL and not TESTING:
    del Q_CLUSTER["orm"]
    Q_CLUSTER["redis"] = Q_BROKER_URL
# --- end of the broker block -----------------------------------------------------------------

# The refund policy (DESIGN.md). Operators tune these; refunds/policy/ reads them.
RULE_MODES = ("on", "suggest", "off")  # refunds/policy/rules.py: ON, SUGGEST, OFF
REFUND_POLICY = {
    "REPORT_WINDOW_DAYS": env_int("REFUND_REPORT_WINDOW_DAYS", 14, minimum=1),
    "REVIEW_HOURS": env_int("REFUND_REVIEW_HOURS", 24, minimum=1),
    "CLAIM_MINUTES": env_int("REFUND_CLAIM_MINUTES", 30, minimum=1),
    "MIN_CONTACT_ATTEMPTS": env_int("REFUND_MIN_CONTACT_ATTEMPTS", 2, minimum=1),
    "MIN_HOURS_SINCE_FIRST_ATTEMPT": env_int("REFUND_MIN_HOURS_SINCE_FIRST_ATTEMPT", 24),
    "PEER_WINDOW_DAYS": env_int("REFUND_PEER_WINDOW_DAYS", 90, minimum=1),
    "PEER_MEDIAN_MULTIPLIER": env_decimal("REFUND_PEER_MEDIAN_MULTIPLIER", "2"),
    "PEER_PERCENTILE": env_int("REFUND_PEER_PERCENTILE", 90, minimum=1),
    "PEER_MIN_LEADS": env_int("REFUND_PEER_MIN_LEADS", 10, minimum=1),
    "PEER_MIN_PEERS": env_int("REFUND_PEER_MIN_PEERS", 5, minimum=1),
    "DUPLICATE_WINDOW_DAYS": env_int("REFUND_DUPLICATE_WINDOW_DAYS", 30, minimum=1),
    "CARD_SETTLEMENT_BUSINESS_DAYS": env_int("REFUND_CARD_SETTLEMENT_BUSINESS_DAYS", 5, minimum=0),
    "FIRST_RESPONSE_HOURS": env_int("REFUND_FIRST_RESPONSE_HOURS", 24, minimum=1),
    "DISPUTE_HOURS": env_int("REFUND_DISPUTE_HOURS", 48, minimum=1),
    # Automatic approval of clear-cut requests: each rule on, suggest (shown only) or off.
    "AUTO_APPROVE_MODES": {
        "duplicate": env_choice("REFUND_AUTO_APPROVE_DUPLICATE", "on", RULE_MODES),
        "outside_services": env_choice("REFUND_AUTO_APPROVE_OUTSIDE_SERVICES", "on", RULE_MODES),
        "unreachable_contact": env_choice(
            "REFUND_AUTO_APPROVE_UNREACHABLE_CONTACT", "suggest", RULE_MODES
        ),
    },
    "AUTO_APPROVE_MAX_PRICE": env_decimal("REFUND_AUTO_APPROVE_MAX_PRICE", "100"),
    "AUTO_APPROVE_PER_PRO_30D": env_int("REFUND_AUTO_APPROVE_PER_PRO_30D", 3),
    "AUTO_APPROVE_SAMPLE_PERCENT": env_int("REFUND_AUTO_APPROVE_SAMPLE_PERCENT", 5),
    # The suite runs with no undo window, so a decision's credit or notice follows at once as
    # the worker would send it; tests/refunds/test_undo.py and the browser tests set one.
    "UNDO_SECONDS": env_int("REFUND_UNDO_SECONDS", 0 if TESTING else 60),
}
if REFUND_POLICY["AUTO_APPROVE_SAMPLE_PERCENT"] > 100:
    raise ImproperlyConfigured("REFUND_AUTO_APPROVE_SAMPLE_PERCENT must be between 0 and 100")
if REFUND_POLICY["PEER_PERCENTILE"] > 100:
    raise ImproperlyConfigured("REFUND_PEER_PERCENTILE must be between 1 and 100")

# Logs and request ids (config/logs.py; README: Operations → Logs) ---------------------------
# One JSON object per line in production, text for a person with DEBUG; LOG_FORMAT overrides.
LOG_FORMAT = env_choice("LOG_FORMAT", "text" if DEBUG else "json", ("json", "text"))
# TRUST_PROXY_HEADERS (above): the site then logs and returns the proxy's X-Request-ID.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logs.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "config.logs.JsonFormatter"},
        "text": {"()": "config.logs.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # The worker logs every task at INFO; under tests that is noise.
        "django-q": {"level": "WARNING" if TESTING else "INFO"},
        # Django's own handlers print plain text (and mail ADMINS, which is unset): its records
        # go to the one handler above instead, in the same format.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # runserver's line per request repeats the access line (refunds.access).
        "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
    },
}
# ---------------------------------------------------------------------------------------------

# Card refunds go through this class (refunds.gateway.PaymentGateway).
PAYMENT_GATEWAY = env_str("PAYMENT_GATEWAY", "refunds.gateway.SandboxGateway")
# A credit is tried at most this many times in all (the worker's retries and the stuck-decisions
# sweep together); then it waits for support, who see it under Credits → "Needs a person".
CREDIT_MAX_ATTEMPTS = env_int("REFUND_CREDIT_MAX_ATTEMPTS", 15, minimum=1)
# A webhook receiver that has not answered after this many seconds failed this try (webhooks/).
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1)
if WEBHOOK_TIMEOUT_SECONDS >= Q_TIMEOUT:
    raise ImproperlyConfigured("WEBHOOK_TIMEOUT_SECONDS must be less than Q_TIMEOUT")

# --- Operations: health probes and Prometheus metrics (ops/; README, Operations) ------------
# /health/live and /health/ready need no sign-in. ops.middleware.ProbeMiddleware answers them
# first, before the host check and the HTTPS redirect, so a load balancer may call an instance
# by its address over plain HTTP.
# A heartbeat older than this makes /health/ready fail. The worker writes one every minute and
# its scheduler looks every 30 s, so a healthy worker's is up to about 90 s old.
HEALTH_WORKER_STALE_SECONDS = env_int("HEALTH_WORKER_STALE_SECONDS", 120, minimum=90)
# /metrics answers only to "Authorization: Bearer <METRICS_TOKEN>"; without one set it is a 404.
METRICS_TOKEN = env_str("METRICS_TOKEN").strip()
if METRICS_TOKEN and len(METRICS_TOKEN) < 24:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 24 characters (a random secret)")
INSTALLED_APPS += ["django_prometheus"]
# django-prometheus: requests counted and timed by view, method and status. The probes are
# answered before its first middleware, so they are not counted.
MIDDLEWARE = [
    "ops.middleware.ProbeMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    *MIDDLEWARE,
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
# The same database engine wrapped by django-prometheus, which counts and times every query.
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends."
)
