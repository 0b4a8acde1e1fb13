"""Keyport settings: one file, read from the environment.

Safe defaults for a laptop (SQLite under var/, mail written to files);
production sets KEYPORT_ENV=production and the variables it then requires.
"""

import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from keyport.lib.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("KEYPORT_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

KEYPORT_ENV = env_choice("KEYPORT_ENV", "development", ("development", "production"))
PRODUCTION = KEYPORT_ENV == "production"
DEBUG = env_bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when KEYPORT_ENV=production.")


def _secret_key() -> str:
    configured = env_str("SECRET_KEY")
    if configured:
        if PRODUCTION and len(configured) < 50:
            raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters in production.")
        return configured
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY is required when KEYPORT_ENV=production.")
    # A laptop gets a key made once and kept, so sessions survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when KEYPORT_ENV=production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "django_htmx",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "keyport.lib",
    "keyport.staff",
    "keyport.audit",
    "keyport.facilities",
    "keyport.contacts",
    "keyport.bookings",
    "keyport.cars",
    "keyport.billing",
    "keyport.payments",
    "keyport.frontdesk",
    "keyport.imports",
    "keyport.documents",
    "keyport.events",
    "keyport.emails",
    "keyport.worker",
    "keyport.demo",
    "keyport.access",
    "keyport.dashboard",
    "keyport.portal",
    "keyport.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "keyport.dashboard.sessions.StaffIdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "keyport.urls"
WSGI_APPLICATION = "keyport.wsgi.application"

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
                "csp.context_processors.nonce",
                "keyport.portal.branding.portal_branding",
                "keyport.dashboard.capabilities.staff_capabilities",
            ],
        },
    },
]

# Database: SQLite under var/ by default; DATABASE_URL for PostgreSQL.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    try:
        _database = dj_database_url.parse(DATABASE_URL)
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {error}") from None
    if _database["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL.")
    _database["OPTIONS"] = {
        "pool": {
            "min_size": env_int("DATABASE_POOL_MIN", 1, minimum=0),
            "max_size": env_int("DATABASE_POOL_MAX", 10, minimum=1),
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 10, minimum=1),
        },
        # The pool is in the process, so a connection keeps what was prepared on it: the access
        # check prepares its statements once (keyport/access/services/doors.py). Django's own
        # queries bind on the client and are never prepared. Off behind a pooler that cannot keep
        # them.
        "prepare_threshold": 5 if env_bool("DATABASE_PREPARED_STATEMENTS", default=True) else None,
    }
    _database["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not also.
    # The pool hands out only a connection that answers: one the server dropped is replaced.
    _database["CONN_HEALTH_CHECKS"] = True
    _database["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME", "test_keyport")}
else:
    _database = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "keyport.sqlite3")),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": env_int("SQLITE_BUSY_TIMEOUT", 20, minimum=1),
            "init_command": ("PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"),
        },
    }
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared cache: rate limits and locks must hold across processes.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "keyport_cache"}
    }

# Background work: the Django Tasks API with the database worker.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A RUNNING task whose worker has not been heard from for this long is run again.
TASK_WORKER_STALE_AFTER_SECONDS = env_int("TASK_WORKER_STALE_AFTER_SECONDS", 120, minimum=10)
TASK_WORKER_HEARTBEAT_SECONDS = env_int("TASK_WORKER_HEARTBEAT_SECONDS", 15, minimum=1)
# A worker that loses its database connection tries again after this pause, doubling up to the cap.
TASK_WORKER_RECONNECT_FIRST_SECONDS = 0.5
TASK_WORKER_RECONNECT_MAX_SECONDS = env_int("TASK_WORKER_RECONNECT_MAX_SECONDS", 30, minimum=1)
# Finished task results are deleted once a day when older than this; 0 keeps them all.
TASK_RESULTS_KEEP_DAYS = env_int("TASK_RESULTS_KEEP_DAYS", 7, minimum=0)
# Import tenants: lines imported, and lines checked, per transaction (each commits with its
# checkpoint; on SQLite every other writer waits for it, so a chunk takes a second or two), and the
# invites sent a minute, what the mail server accepts.
IMPORT_CHUNK_ROWS = env_int("IMPORT_CHUNK_ROWS", 50, minimum=1)
IMPORT_CHECK_CHUNK_LINES = env_int("IMPORT_CHECK_CHUNK_LINES", 1000, minimum=1)
IMPORT_INVITES_PER_MINUTE = env_int("IMPORT_INVITES_PER_MINUTE", 60, minimum=1)

AUTH_USER_MODEL = "staff.StaffUser"
# Every password check, whichever form asks (dashboard, Django admin), is throttled here.
AUTHENTICATION_BACKENDS = ["keyport.staff.authentication.ThrottledModelBackend"]
# Staff password sign-in: wrong passwords counted per account (the email typed, known or not) and
# per address within a window; past either limit even the right password waits for the window's end.
STAFF_SIGN_IN_FAILURES_PER_ACCOUNT = env_int("STAFF_SIGN_IN_FAILURES_PER_ACCOUNT", 10, minimum=1)
STAFF_SIGN_IN_FAILURES_PER_ADDRESS = env_int("STAFF_SIGN_IN_FAILURES_PER_ADDRESS", 50, minimum=1)
STAFF_SIGN_IN_WINDOW_SECONDS = env_int("STAFF_SIGN_IN_WINDOW_SECONDS", 900, minimum=60, maximum=24 * 60 * 60)
# Forgot password?: a link that works once, for PASSWORD_RESET_TIMEOUT seconds; requests counted per
# email typed (known or not) and per address, an hour each.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600, minimum=600, maximum=3 * 24 * 60 * 60)
STAFF_PASSWORD_RESETS_PER_EMAIL = env_int("STAFF_PASSWORD_RESETS_PER_EMAIL", 3, minimum=1)
STAFF_PASSWORD_RESETS_PER_ADDRESS = env_int("STAFF_PASSWORD_RESETS_PER_ADDRESS", 20, minimum=1)
# Two-factor sign-in for staff (django-otp): the name authenticator apps show beside the code.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Keyport")
LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "dashboard:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# Email: SMTP when EMAIL_HOST is set; otherwise one file a message under var/mail/.
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Keyport <no-reply@keyport.test>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
elif PRODUCTION:
    raise ImproperlyConfigured("EMAIL_HOST is required when KEYPORT_ENV=production.")
else:
    EMAIL_BACKEND = "keyport.emails.backends.OneFilePerMessageBackend"
    EMAIL_FILE_PATH = Path(env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail")))

# Security.
# Staff are signed out after this many hours without a request; a portal sign-in lasts this many
# days. The session cookie lives as long as the longest of them; each audience is checked on its own.
KEYPORT_STAFF_IDLE_HOURS = env_int("KEYPORT_STAFF_IDLE_HOURS", 12, minimum=1, maximum=24 * 30)
KEYPORT_PORTAL_SESSION_DAYS = env_int("KEYPORT_PORTAL_SESSION_DAYS", 30, minimum=1, maximum=365)
SESSION_COOKIE_AGE = max(KEYPORT_PORTAL_SESSION_DAYS * 24, KEYPORT_STAFF_IDLE_HOURS) * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    if env_bool("BEHIND_TLS_PROXY", default=True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Magic-link tokens travel in URL paths; no log line may keep one.
    "filters": {"redact_tokens": {"()": "keyport.lib.log_redaction.RedactSignInTokens"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_tokens"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Replaces Django's own handlers for its loggers (a console handler when DEBUG is on, and
    # mail_admins): they would write request paths, tokens included, without the filter.
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
        # httpx logs every request at INFO (reconcile: hundreds a minute); failures are logged by
        # the adapter in its own words.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # The stripe library logs every request at INFO; the payments adapter logs failures itself.
        "stripe": {"level": "WARNING"},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Keyport's own knobs.
KEYPORT_SITE_NAME = env_str("KEYPORT_SITE_NAME", "Keyport")

# Customer portal sign-in: magic-link lifetimes and the login page's rate limits.
PORTAL_SIGN_IN_LINK_MINUTES = env_int("PORTAL_SIGN_IN_LINK_MINUTES", 10, minimum=1, maximum=24 * 60)
PORTAL_INVITE_HOURS = env_int("PORTAL_INVITE_HOURS", 72, minimum=1, maximum=30 * 24)
# Per email: this many links at once; then each next one waits, from the first delay and
# doubling, at most the max delay and never longer than a link lives (see docs/security.md).
LOGIN_RATE_PER_EMAIL_PER_HOUR = env_int("LOGIN_RATE_PER_EMAIL_PER_HOUR", 5, minimum=1)
LOGIN_EMAIL_FIRST_DELAY_SECONDS = env_int("LOGIN_EMAIL_FIRST_DELAY_SECONDS", 60, minimum=1)
LOGIN_EMAIL_MAX_DELAY_SECONDS = env_int("LOGIN_EMAIL_MAX_DELAY_SECONDS", 600, minimum=1)
LOGIN_RATE_PER_ADDRESS_PER_MINUTE = env_int("LOGIN_RATE_PER_ADDRESS_PER_MINUTE", 20, minimum=1)
# How many proxies in front of Keyport append to X-Forwarded-For; 0 trusts REMOTE_ADDR only.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)
# Where links in emails point (sign-in links are made off the request, by the worker). On a
# laptop, the address scripts/serve.sh serves on: the demo seeder writes its emails before the
# server starts, and they link to it too.
_SERVE_ADDR = env_str("KEYPORT_ADDR", "127.0.0.1:8000")
PUBLIC_BASE_URL = env_str(
    "PUBLIC_BASE_URL", f"https://{ALLOWED_HOSTS[0]}" if PRODUCTION else f"http://{_SERVE_ADDR}"
).rstrip("/")

# Access engine: PINs, shares, wrong-PIN throttling, the periodic sweep.
ACCESS_PIN_LENGTH = env_int("ACCESS_PIN_LENGTH", 6, minimum=4, maximum=10)
ACCESS_SHARES_PER_BOOKING = env_int("ACCESS_SHARES_PER_BOOKING", 20, minimum=1)
ACCESS_PIN_SLOW_AFTER = env_int("ACCESS_PIN_SLOW_AFTER", 5, minimum=1)
ACCESS_PIN_BLOCK_AFTER = env_int("ACCESS_PIN_BLOCK_AFTER", 10, minimum=2)
ACCESS_PIN_BLOCK_SECONDS = env_int("ACCESS_PIN_BLOCK_SECONDS", 900, minimum=1)
ACCESS_PIN_FAILURE_WINDOW_SECONDS = env_int("ACCESS_PIN_FAILURE_WINDOW_SECONDS", 900, minimum=1)
# 0 turns the periodic sweep off (tests that do not exercise it).
ACCESS_SWEEP_SECONDS = env_int("ACCESS_SWEEP_SECONDS", 60, minimum=0)
# An intent being sent is leased this long: nobody else sends it meanwhile. One whose sender was
# cut off (a lost connection, a killed worker) is sent again by the sweep once its lease has run out.
ACCESS_SYNC_LEASE_SECONDS = env_int("ACCESS_SYNC_LEASE_SECONDS", 60, minimum=1)
# Each sweep reads back this many units from each location's access provider, in turn.
ACCESS_RECONCILE_UNITS_PER_SWEEP = env_int("ACCESS_RECONCILE_UNITS_PER_SWEEP", 200, minimum=1)
# Sensorberg: a push that got no answer may still be applied by the vendor this long after Keyport
# gave up on it; a removal sent meanwhile is sent again once it has passed (see docs/security.md).
SENSORBERG_LATE_PUSH_SECONDS = env_int("SENSORBERG_LATE_PUSH_SECONDS", 120, minimum=1)
# Only for tests and development with the fake Sensorberg on 127.0.0.1: otherwise the client
# secret goes only to hosts whose every address is public.
SENSORBERG_ALLOW_PRIVATE_HOSTS = env_bool("SENSORBERG_ALLOW_PRIVATE_HOSTS", default=False)

# Billing: how often the overdue lockout check runs; 0 turns the periodic check off.
BILLING_OVERDUE_CHECK_MINUTES = env_int("BILLING_OVERDUE_CHECK_MINUTES", 60, minimum=0)

# Online payment with Stripe: the install's keys, used by every location without its own (a
# location's settings page can set its own). Without a secret key, Pay is hidden and the portal's
# Billing says how to pay instead. STRIPE_API_BASE points the adapter (and Checkout) at the local
# fake, in tests and development only.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE").rstrip("/")
# How often saved cards pay the invoices issued since (0: never).
PAYMENTS_AUTOPAY_SWEEP_MINUTES = env_int("PAYMENTS_AUTOPAY_SWEEP_MINUTES", 5, minimum=0)

# Billing: the daily run that issues rent invoices from bookings, at each location's midnight.
BILLING_RUN_ENABLED = env_bool("BILLING_RUN_ENABLED", default=True)
