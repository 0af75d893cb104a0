"""Settings for the billing console, read from the environment.

Development needs no environment at all (SQLite, DEBUG on). Production sets
DEBUG=0, SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL; see the README.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY when DEBUG=0.")
    # Only ever used on a developer's machine: DEBUG is on.
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # Serve static files the way production does, also under runserver.
    "whitenoise.runserver_nostatic",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "axes",
    "django_tasks_db",
    "bills",
    "exports",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served as the console's own
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session, before CommonMiddleware: the language of the cookie set by the
    # top bar's switcher, else the browser's Accept-Language, else English.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # The language a signed-in user chose, saved with their profile: it wins over the
    # cookie and the browser, so it follows them to another browser.
    "bills.languages.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "bills.middleware.CurrentOrganizationMiddleware",
    # After the organization: refuses a URL the member's role there does not reach.
    "bills.roles.RoleMiddleware",
    "bills.middleware.PrivatePagesMiddleware",
    # Last, as django-axes asks: it turns a lockout into the login page with a message.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "billing_console.urls"

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
                "bills.context_processors.console",
            ],
        },
    },
]

WSGI_APPLICATION = "billing_console.wsgi.application"

# SQLite is the embedded default; DATABASE_URL=postgres://... selects PostgreSQL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The test database is a file, not memory: the tests run a real `db_worker` process
    # beside the test process (exports/tests/test_worker.py), which must share it.
    # In the system's temporary directory (which exists on a fresh machine), one per test
    # run: two runs at once never share it. The worker is given its name explicitly.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"billing-console-test-{os.getpid()}.sqlite3")
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable database must fail fast (a 503 page), not hold a worker until
    # gunicorn kills it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
    )
    # Behind PgBouncer in transaction pooling mode a server-side cursor (QuerySet.iterator)
    # would outlive the transaction its connection was lent for (README: "Running on
    # several machines").
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool(
        "DISABLE_SERVER_SIDE_CURSORS", default=False
    )

# django-axes first: it refuses a locked-out username and IP before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "bills:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# Adding a language is a line here and a catalogue in locale/ (README: "Languages").
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Per-language overrides of Django's formats (billing_console/formats/).
FORMAT_MODULE_PATH = ["billing_console.formats"]
# The top bar's language choice (bills/languages.py), kept a year, like the browser's own.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

EXPORTS_DIR = Path(os.environ.get("EXPORTS_DIR", BASE_DIR / ".exports"))
# The caches' files and the rendered bill PDFs (CACHES and STORAGES below).
CACHE_DIR = Path(os.environ.get("CACHE_DIR", BASE_DIR / ".cache"))

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Production serves `collectstatic` output through whitenoise: hashed names cached for a
# year, gzip alongside. Development and the test suite read static/ directly, so they
# need no collectstatic (tests/test_deploy.py checks the production storage).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Export files (exports/): a private directory, never served by URL; the console's
    # own view checks the organization and audits each download. EXPORTS_STORAGE_BACKEND
    # and EXPORTS_STORAGE_OPTIONS (JSON) select another, e.g. an S3-compatible store
    # through django-storages: see the README.
    "exports": {
        "BACKEND": os.environ.get(
            "EXPORTS_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": json.loads(os.environ.get("EXPORTS_STORAGE_OPTIONS", "{}"))
        or {"location": str(EXPORTS_DIR), "base_url": None, "directory_permissions_mode": 0o700},
    },
    # Rendered bill and credit note PDFs (bills/pdf.py), named by a digest of everything
    # printed on them: derivable, so not the database, where blobs of 20-200 KB would
    # swell the WAL and the backups. By default a directory under CACHE_DIR (or
    # BILL_PDF_CACHE_DIR); several servers share one directory (NFS) or any storage
    # (BILL_PDF_STORAGE_BACKEND, BILL_PDF_STORAGE_OPTIONS as JSON), like the exports.
    # `manage.py purge_pdfs` deletes files older than BILL_PDF_RETENTION_DAYS.
    "bill_pdfs": {
        "BACKEND": os.environ.get(
            "BILL_PDF_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": json.loads(os.environ.get("BILL_PDF_STORAGE_OPTIONS", "{}"))
        or {
            "location": os.environ.get("BILL_PDF_CACHE_DIR", str(CACHE_DIR / "bill-pdfs")),
            "base_url": None,
            "directory_permissions_mode": 0o700,
            "file_permissions_mode": 0o600,
        },
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Files under CACHE_DIR, not the per-process LocMemCache: every gunicorn worker on a host
# shares one copy, and it survives restarts and worker recycling. The directory must
# belong to the app's user alone: Django pickles what it stores there.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # The Bills page's totals and the Pending badge (bills/summaries.py), keyed by the
    # organization's bills_version. Shared, so a worker that gunicorn has just recycled
    # does not add up 100,000 bills again; a few hundred bytes an entry. Every write
    # lists the directory (~15 ms at 20,000 files, ~1.5 ms at 2,000): a deployment with
    # thousands of active organizations wants a shared cache server here instead.
    "bill_summaries": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(CACHE_DIR / "bill-summaries"),
        "OPTIONS": {"MAX_ENTRIES": 2_000},
    },
    # The Bills page's rendered content (bills/summaries.py), also keyed by bills_version:
    # in each process's memory, so a deploy (a restart) never serves an old layout.
    # 30-120 KB an entry. Not under DEBUG: runserver reloads edited templates without a
    # restart, and a developer must see the edit.
    "bill_pages": {
        "BACKEND": "django.core.cache.backends.dummy.DummyCache"
        if DEBUG
        else "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "bill-pages",
        "TIMEOUT": 600,
        "OPTIONS": {"MAX_ENTRIES": 300},
    },
}

# Several web servers (README: "Running on several machines") share one Redis for every
# cache above, so a page, a total or a badge computed by one server is read by all.
# Each alias keeps its own key prefix, so one can be flushed alone. Redis is a cache
# here, never the only copy: a Redis that is down or slow costs each request at most
# REDIS_TIMEOUT per cache call, and the page renders uncached (bills/summaries.py).
# Django pickles what it stores there: Redis must be reachable by the console alone.
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_TIMEOUT = float(os.environ.get("REDIS_TIMEOUT", "0.25"))
if REDIS_URL:
    for alias, cache in CACHES.items():
        if cache["BACKEND"] == "django.core.cache.backends.dummy.DummyCache":
            continue  # the page content under DEBUG: still never cached
        CACHES[alias] = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"billing:{alias}",
            "TIMEOUT": cache.get("TIMEOUT", 300),
            # Seconds, for connecting and for each answer; no retry: a second wait for a
            # Redis that did not answer the first time would only double the cost.
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT,
                "socket_timeout": REDIS_TIMEOUT,
            },
        }
    # Each process's own copy of what it read from Redis (bills/summaries.py: NEAR).
    CACHES["bill_near"] = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "bill-near",
        "OPTIONS": {"MAX_ENTRIES": 300},
    }

# The platform's legal entity: the seller on every bill PDF.
BILLING_SELLER = {
    "name": os.environ.get("BILLING_SELLER_NAME", "Cloud Messaging Platform Pte. Ltd."),
    "address": os.environ.get(
        "BILLING_SELLER_ADDRESS", "80 Robinson Road, #10-01\nSingapore 068898"
    ).replace("\\n", "\n"),
    "tax_id": os.environ.get("BILLING_SELLER_TAX_ID", "GST 201912345K"),
    "email": os.environ.get("BILLING_SELLER_EMAIL", "billing@cloud-messaging.example"),
}

# Behind a TLS-terminating proxy in production.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies append to X-Forwarded-For in front of the console: the client IP that
# login throttling and the audit trail record is the one the outermost of them saw.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# A working day: the console shows tax data and money.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 60 * 60)))
CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# A load balancer checks each server's health over plain HTTP, on the server's own port.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy on every response. Every script and style is a file in
# static/ (or the admin's own static files): no inline code, no other origin.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Login throttling (django-axes): AXES_FAILURE_LIMIT wrong passwords for one username
# from one IP lock that pair out for AXES_COOLOFF_TIME; other users on the same network,
# and the same user elsewhere, can still log in. Unlock early with
# `manage.py axes_reset_username <username>` or in the admin (Access attempts).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "bills.views.login_locked_out"
AXES_CLIENT_IP_CALLABLE = "bills.audit.client_ip"
# Its start-up banner on every manage.py command is noise; lockouts are still logged.
AXES_VERBOSE = False


def _without_traceback(record: logging.LogRecord) -> bool:
    """Keeps the record, drops its traceback."""
    record.exc_info = record.exc_text = None
    return True


def _not_an_outage(record: logging.LogRecord) -> bool:
    """Drops django.request's record of a 503 answered for an exception: that is the
    database-outage page, which bills.views.server_error logs in one line instead."""
    return not (getattr(record, "status_code", None) == 503 and record.exc_info)


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "without_traceback": {
            "()": "django.utils.log.CallbackFilter",
            "callback": _without_traceback,
        },
        "not_an_outage": {"()": "django.utils.log.CallbackFilter", "callback": _not_an_outage},
    },
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # WeasyPrint logs each step of every bill PDF at INFO; its warnings still show.
        "weasyprint.progress": {"level": "WARNING"},
        # A foreign Host header is a scanner or a misrouted request, not a bug in the
        # console: its one-line message says all there is; a traceback per probe would
        # bury real errors.
        "django.security.DisallowedHost": {"filters": ["without_traceback"]},
        # An outage must not flood the logs with thousands of identical tracebacks.
        "django.request": {"filters": ["not_an_outage"]},
    },
}

# Seconds a bill PDF may take to render (bills/pdf.py) before the render is stopped and the
# user told the bill is too large to print. Well within gunicorn's timeout
# (gunicorn.conf.py): a download that waits for another render of the same bill may take
# twice this long.
BILL_PDF_RENDER_SECONDS = float(os.environ.get("BILL_PDF_RENDER_SECONDS", "20"))
# `manage.py purge_pdfs` deletes rendered PDFs written longer ago than this; a bill
# downloaded again is rendered again.
BILL_PDF_RETENTION = dt.timedelta(days=int(os.environ.get("BILL_PDF_RETENTION_DAYS", "90")))

# Background jobs (exports/): Django's tasks framework, queued in the database by
# django-tasks-db and run by `manage.py db_worker` (scripts/worker; scripts/run starts one).
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "exports"],
    }
}
EXPORTS_STORAGE_ALIAS = "exports"
# A ready export's file is kept this long; `manage.py purge_exports` deletes it after.
EXPORT_RETENTION = dt.timedelta(days=int(os.environ.get("EXPORT_RETENTION_DAYS", "7")))
# A running export that reports no progress for this long has lost its worker.
EXPORT_STALLED_SECONDS = int(os.environ.get("EXPORT_STALLED_SECONDS", "120"))
# Queued or running exports one member, or one API key, may have at once.
EXPORTS_ACTIVE_PER_USER = int(os.environ.get("EXPORTS_ACTIVE_PER_USER", "3"))
# Export Data downloads at once up to this many bills, and queues a job beyond
# (bench/bench_export.py: about 3 seconds of work each, see the README).
EXPORT_INLINE_MAX_ROWS = {"xlsx": 20_000, "csv": 100_000}
# The most bills one "Download Bills (ZIP)" holds.
# 1,000 bills: about 1.3 s with their PDFs cached, 2 to 5 minutes rendering them all
# (bench/bench_jobs.py --parts zip; the README has the figures).
EXPORT_ZIP_MAX_BILLS = int(os.environ.get("EXPORT_ZIP_MAX_BILLS", "1000"))

# The API (api/, README "API"). A key acts with API_KEY_ROLE in its organization
# (bills/roles.py): Finance, who may read bills, PDFs, products and orders, and export bills.
API_KEY_ROLE = "finance"
# Requests per key per calendar minute, counted in the database (shared by every server).
API_RATE_LIMIT_PER_MINUTE = int(os.environ.get("API_RATE_LIMIT_PER_MINUTE", "120"))
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.ConsoleRole"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [],  # no body, but the exports' POST (JSON: api.views.ExportList)
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Money is never a float: DecimalFields are strings (api/serializers.py MoneyField).
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
    "DATE_FORMAT": "iso-8601",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Billing console API",
    "DESCRIPTION": (
        "An organization's bills, PDFs, products and orders, read with an API key; "
        "and exports of its bills, asked for and downloaded."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["api.permissions.ConsoleRole"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "BillStatusEnum": "bills.models.Bill.Status",
        "OrderStatusEnum": "bills.models.Order.Status",
        "ExportFormatEnum": "exports.models.Export.Format",
        "ExportStatusEnum": "exports.models.Export.Status",
    },
}
