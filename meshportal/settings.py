"""meshportal settings: one module, configured by environment variables.

Every setting that differs between a laptop and a deployment comes from the
environment (see `.env.example` and the README). Production is the default:
`DJANGO_DEBUG` is off unless set, and a missing secret key or host list then
stops the process at start-up instead of running insecurely.
"""

import os
import time
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it (and DJANGO_ALLOWED_HOSTS) for a "
            "deployment; in a checkout, `make .env` writes a local one for manage.py."
        )
    # A throwaway key for local development: sessions do not survive a restart.
    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not ALLOWED_HOSTS and not DEBUG:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is not set (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "catalog.apps.CuratorAdminConfig",  # django.contrib.admin with the curators' dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_filters",
    "taggit",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "axes",
    "catalog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # serves its own precompressed files
    # HTML, JSON and CSV compressed here too, not only behind a proxy (see docs/deployment.md on BREACH).
    "django.middleware.gzip.GZipMiddleware",
    "csp.middleware.CSPMiddleware",
    "catalog.middleware.RequestBodyLimitMiddleware",  # before anything reads a body
    "catalog.middleware.PageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "catalog.middleware.OldAddressMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into its refusal page
]

# Admin login throttling (django-axes): failed attempts are rows in the database,
# so every worker and process sees them. After ADMIN_LOGIN_FAILURE_LIMIT failures
# from one client address, its logins are refused for ADMIN_LOGIN_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "catalog.auth.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("ADMIN_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("ADMIN_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_CLIENT_IP_CALLABLE = "catalog.ratelimit.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_VERBOSE = False

# Content-Security-Policy (django-csp 4) on every response, the admin included:
# scripts, styles, images and fonts only from this site, no inline code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "manifest-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

ROOT_URLCONF = "meshportal.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "meshportal.wsgi.application"

# Database: SQLite in the project folder unless DATABASE_URL says otherwise,
# e.g. postgres://user:password@host:5432/meshportal
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        # SQLite connections are cheap to keep; PostgreSQL's pool (psycopg[pool]) wants 0.
        conn_max_age=int(
            os.environ.get(
                "DATABASE_CONN_MAX_AGE", "0" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "600"
            )
        ),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_POOL", True):
    # A pool of connections per process (psycopg's), so a request does not open its
    # own; Django wants CONN_MAX_AGE 0 with it. DATABASE_POOL=0 turns it off.
    # Its maximum defaults to gunicorn's threads per worker, plus one for the facet index's
    # follower (catalog/index_follower.py), so no thread waits for one.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DATABASE_POOL_MIN_SIZE", "1")),
        "max_size": int(os.environ.get("DATABASE_POOL_MAX_SIZE") or int(os.environ.get("GUNICORN_THREADS") or 8) + 1),
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions avoid "database is locked" when a reader turns
    # writer; WAL lets readers go on while one process writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when REDIS_URL (or CACHE_URL) is set, else this process's memory.
REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# How many processes serve the site (gunicorn reads it too: deploy/gunicorn.conf.py).
# The memory cache is per process: with more than one, REDIS_URL is required
# (`check --deploy` says so), since the rate limit and one-time forms live there.
WEB_CONCURRENCY = int(os.environ.get("WEB_CONCURRENCY") or 2)

# How often (seconds) each process's facet index looks for writes between requests and
# follows them, so that the first reader after a write finds it current
# (catalog/index_follower.py); 0: only requests follow them.
FACET_INDEX_POLL_SECONDS = float(os.environ.get("FACET_INDEX_POLL_SECONDS", "0.1"))

# Seconds a browse or topic page stays in the cache; the key holds the
# catalog's data version, so writes are seen at once. 0 turns it off.
# Off by default in debug mode, where templates change under a running server.
BROWSE_CACHE_SECONDS = int(os.environ.get("BROWSE_CACHE_SECONDS", "0" if DEBUG else "600"))
# Part of every page-cache key, so a new release never serves pages rendered
# by the old code. Set it to the deployed commit to share the cache between
# workers; by default each process start is a release of its own.
# The Nubenetes markdown that an empty catalog is built from (`setup_catalog`): vendored in data/.
CATALOG_CORPUS_DIR = Path(os.environ.get("MESHPORTAL_CORPUS_DIR") or BASE_DIR / "data" / "nubenetes")

MESHPORTAL_RELEASE = os.environ.get("MESHPORTAL_RELEASE") or str(time.time_ns())

# Email: printed to the console unless EMAIL_HOST names an SMTP server.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
    EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "meshportal <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who hears of new submissions; empty means the active users of the "Moderators" group.
MODERATORS_EMAILS = env_list("MODERATORS_EMAILS")
# The site's address for links in emails; the first allowed host over HTTPS by default.
_first_host = next((h.lstrip(".") for h in ALLOWED_HOSTS if h.lstrip(".") not in {"", "*"}), "")
SITE_URL = os.environ.get("SITE_URL") or (
    f"https://{_first_host}" if _first_host and not DEBUG else "http://127.0.0.1:8000"
)

# Reader submissions (/submit/): accepted suggestions per client address and window
# (through the cache above: per process without REDIS_URL), and the time a person
# needs at least to fill the form in.
SUBMISSION_RATE_LIMIT = int(os.environ.get("SUBMISSION_RATE_LIMIT", "5"))
SUBMISSION_RATE_WINDOW = int(os.environ.get("SUBMISSION_RATE_WINDOW", "3600"))
SUBMISSION_MIN_FILL_SECONDS = int(os.environ.get("SUBMISSION_MIN_FILL_SECONDS", "3"))
SUBMISSION_FORM_MAX_AGE = int(os.environ.get("SUBMISSION_FORM_MAX_AGE", str(24 * 3600)))
# The number of reverse proxies in front of the app that each append the address they
# saw to X-Forwarded-For (1 for the nginx of deploy/). The client address is then the
# entry that many places from the end; anything before it is the client's say.
# 0 (the default): REMOTE_ADDR, and X-Forwarded-For is ignored. DJANGO_BEHIND_PROXY=1
# is the older spelling of 1.
TRUSTED_PROXY_COUNT = int(
    os.environ.get("DJANGO_TRUSTED_PROXY_COUNT") or ("1" if env_bool("DJANGO_BEHIND_PROXY", False) else "0")
)
# Largest request body /submit/ reads; larger ones (and multipart bodies) are refused unread.
SUBMISSION_MAX_BODY_BYTES = int(os.environ.get("SUBMISSION_MAX_BODY_BYTES", str(32 * 1024)))
CSRF_FAILURE_VIEW = "catalog.submission_views.csrf_failure"

# Background jobs (docs/link-health.md): Django's tasks framework (the django-tasks
# backport). "immediate" runs a job inside the command that enqueues it (nothing
# else to run); "database" queues it in the database for `manage.py db_worker`
# processes (on PostgreSQL, any number of them on any number of machines).
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "immediate")
_TASK_BACKENDS = {
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
    "database": "django_tasks_db.DatabaseBackend",
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}, not {TASKS_BACKEND!r}.")
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND]}}

# Link checker (manage.py check_links; docs/link-health.md).
LINK_CHECK_CONCURRENCY = int(os.environ.get("LINK_CHECK_CONCURRENCY", "256"))
LINK_CHECK_PER_HOST = int(os.environ.get("LINK_CHECK_PER_HOST", "4"))
LINK_CHECK_HOST_DELAY = float(os.environ.get("LINK_CHECK_HOST_DELAY", "0.25"))
LINK_CHECK_TIMEOUT = float(os.environ.get("LINK_CHECK_TIMEOUT", "15"))
LINK_CHECK_MAX_BODY = int(os.environ.get("LINK_CHECK_MAX_BODY", str(256 * 1024)))
LINK_CHECK_MAX_REDIRECTS = int(os.environ.get("LINK_CHECK_MAX_REDIRECTS", "5"))
LINK_CHECK_RETRY_AFTER_MAX = float(os.environ.get("LINK_CHECK_RETRY_AFTER_MAX", "30"))
# "dead" = failed this many checks in a row, the first at least this many days before the last.
LINK_DEAD_AFTER_FAILURES = int(os.environ.get("LINK_DEAD_AFTER_FAILURES", "3"))
LINK_DEAD_AFTER_DAYS = int(os.environ.get("LINK_DEAD_AFTER_DAYS", "14"))
# Networks the checker may reach although they are not public (tests allow 127.0.0.0/8). Empty: none.
LINK_CHECK_ALLOWED_NETWORKS = env_list("LINK_CHECK_ALLOWED_NETWORKS")

# GitHub enrichment (manage.py refresh_github). Without a token: 60 requests an hour.
GITHUB_TOKEN = os.environ.get("GITHUB_TOKEN", "")
GITHUB_API_URL = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
# A repository not pushed to for this many days is flagged as inactive.
GITHUB_STALE_DAYS = int(os.environ.get("GITHUB_STALE_DAYS", str(18 * 30)))

# Logos (manage.py fetch_logos): the largest image kept, and where a GitHub owner's avatar is.
LOGO_MAX_BYTES = int(os.environ.get("LOGO_MAX_BYTES", str(64 * 1024)))
LOGO_GITHUB_AVATAR_URL = os.environ.get("LOGO_GITHUB_AVATAR_URL", "https://github.com/{owner}.png?size=40")

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

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve straight from the app and project static folders when collectstatic
# has not been run (tests, a quick local start without DEBUG).
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", not (STATIC_ROOT / "staticfiles.json").exists())
if WHITENOISE_USE_FINDERS:
    STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
# Files browsers ask for at the site's root (/favicon.ico).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

# Security headers; the HTTPS ones are on unless the deployment says it
# terminates TLS elsewhere without forwarding the scheme.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
    if TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

TAGGIT_CASE_INSENSITIVE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}
