"""Settings: everything a deployment changes comes from the environment (see README)."""

import os
from pathlib import Path

from monitor import config, sqlite

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-insecure-key-set-SECRET_KEY-in-production"
DEBUG = config.env_bool("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
PORT = config.env_int("PORT", 8000)
SITE_URL = os.environ.get("SITE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")

INSTALLED_APPS = [
    "monitor.admin_app.AdminConfig",  # django.contrib.admin, its admin modules imported by monitor/urls.py, not at start-up
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "monitor",
    "dmarc_reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "monitor.urls"
WSGI_APPLICATION = "monitor.wsgi.application"

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

DATABASES = {"default": config.database(BASE_DIR / "db.sqlite3")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    sqlite.prefer_pysqlite3()  # a current SQLite, built with its defaults, where the wheel exists
    # WAL lets the web server read while the worker writes; a generous timeout rides out busy moments.
    # temp_store=MEMORY: a statement's undo journal (every multi-row INSERT inside an import's
    # transaction has one) stays in memory instead of spilling page by page into a file in /var/tmp.
    # page_size (a new database's only; set before WAL is): 16 KiB pages, a quarter as many WAL frames
    # and B-tree pages for an import's bulk inserts to write (whole imports of 20,000 and 200,000 rows
    # measured 3 % and 7 % faster).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                                        "PRAGMA temp_store=MEMORY;"}
    )
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")} if os.environ.get("TEST_DB_FILE") else {}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "monitor.staticfinders.PlotlyFinder",  # plotly.js straight from the installed plotly package
]
WHITENOISE_USE_FINDERS = True

# E-mail: Django's own setting names.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = config.env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = config.env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = config.env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "monitor@localhost")

# DNS: every question the product asks goes to these (empty: the system resolver).
DNS_NAMESERVERS = config.nameservers()
DNS_TIMEOUT = float(os.environ.get("DNS_TIMEOUT", "3"))

# Background work: the Redis broker when REDIS_URL is set, else the ORM broker on the database.
REDIS_URL = config.redis_url()
Q_CLUSTER = {
    "name": "monitor",
    "workers": config.env_int("Q_WORKERS", 2),
    "timeout": 3600,
    "retry": 3700,
    "max_attempts": 1,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 500,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# The cache holds what every web process must share: the TLS-RPT upload rate limits (dmarc_reports.ratelimit).
# In Redis when REDIS_URL is set, else in the database (its table is made by migrate, monitor 0005).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "monitor"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "monitor_cache",
                          "OPTIONS": {"MAX_ENTRIES": 50_000}}}  # (Django's 300 would drop buckets under a flood)

# Ingestion limits (issue: report ingestion).
INGEST_MAX_BYTES = config.env_int("INGEST_MAX_BYTES", 256 * 1024 * 1024)
INGEST_MAX_MEMBERS = config.env_int("INGEST_MAX_MEMBERS", 1000)
DATA_UPLOAD_MAX_NUMBER_FILES = 1000

# Blocklist audits: questions in flight, per-list rate limit (questions/s, burst), retries of a timeout,
# and the most addresses one pool member (a CIDR range) may expand to (1,024: a /22).
BLOCKLIST_IN_FLIGHT = config.env_int("BLOCKLIST_IN_FLIGHT", 200)
BLOCKLIST_RATE = float(config.env_int("BLOCKLIST_RATE", 200))
BLOCKLIST_BURST = config.env_int("BLOCKLIST_BURST", 100)
BLOCKLIST_RETRIES = config.env_int("BLOCKLIST_RETRIES", 1)
BLOCKLIST_MAX_ADDRESSES = config.env_int("BLOCKLIST_MAX_ADDRESSES", 1024)

# DNS audits: domains audited at once; the MTA-STS policy fetch (port, CA bundle, timeout).
DNS_AUDIT_WORKERS = config.env_int("DNS_AUDIT_WORKERS", 8)
MTA_STS_PORT = config.env_int("MTA_STS_PORT", 443)
MTA_STS_CA_FILE = os.environ.get("MTA_STS_CA_FILE") or None
# MTA-STS policies are fetched from public addresses only (dns_audit.policy_fetch); these networks besides.
MTA_STS_ALLOW_NETWORKS = config.networks("MTA_STS_ALLOW_NETWORKS")
MTA_STS_TIMEOUT = config.env_int("MTA_STS_TIMEOUT", 10)

# Reverse DNS of report sources: questions in flight, and how long an answer is kept.
ENRICH_CONCURRENCY = config.env_int("ENRICH_CONCURRENCY", 50)
SOURCE_HOST_MAX_AGE_DAYS = config.env_int("SOURCE_HOST_MAX_AGE_DAYS", 30)

# Alerts: when they are evaluated and the digest is sent; the volumes below which a rate means nothing.
ALERT_EVALUATE_CRON = os.environ.get("ALERT_EVALUATE_CRON", "17 * * * *")
DIGEST_CRON = os.environ.get("DIGEST_CRON", "0 7 * * 1")
ALERT_MIN_DMARC_MESSAGES = config.env_int("ALERT_MIN_DMARC_MESSAGES", 100)
ALERT_MIN_SOURCE_FAILURES = config.env_int("ALERT_MIN_SOURCE_FAILURES", 50)
ALERT_MIN_SOURCE_FAILURE_SHARE = float(config.env_int("ALERT_MIN_SOURCE_FAILURE_SHARE", 50))
# New sources failing DMARC open one alert each up to this many open per domain; past it, one alert for them all.
ALERT_MAX_SOURCE_ALERTS = config.env_int("ALERT_MAX_SOURCE_ALERTS", 5)
ALERT_MIN_TLS_SESSIONS = config.env_int("ALERT_MIN_TLS_SESSIONS", 100)
# Webhooks go to public addresses only (monitor.alerts.outbound); these networks are allowed besides.
WEBHOOK_ALLOW_NETWORKS = config.networks("WEBHOOK_ALLOW_NETWORKS")

# Mailbox polling and TLS reports over HTTPS (issue: hands-free ingestion).
MAILBOX_POLL_CRON = os.environ.get("MAILBOX_POLL_CRON", "*/15 * * * *")
MAILBOX_MAX_MESSAGE_BYTES = config.env_int("MAILBOX_MAX_MESSAGE_BYTES", 64 * 1024 * 1024)
TLSRPT_MAX_BYTES = config.env_int("TLSRPT_MAX_BYTES", 1024 * 1024)
TLSRPT_MAX_JSON_BYTES = config.env_int("TLSRPT_MAX_JSON_BYTES", 4 * 1024 * 1024)
TLSRPT_RATE_BURST = config.env_int("TLSRPT_RATE_BURST", 20)
TLSRPT_RATE_PER_HOUR = config.env_int("TLSRPT_RATE_PER_HOUR", 60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
