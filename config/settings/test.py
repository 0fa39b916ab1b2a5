"""Tests: PostgreSQL from DATABASE_URL (CI) or the embedded server; never SQLite."""

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# No worker in tests: notifications are sent right after the commit (tests/notifications covers the task).
NOTIFICATIONS_VIA_CELERY = False
# No worker either for the audit chain: tests (and audit_verify) chain inline with core.audit.audit_chain.
AUDIT_CHAIN_ON_COMMIT = False
# A distinct test database per concurrent run (TEST_DATABASE_NAME) keeps parallel runs apart.
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_earn")}  # noqa: F405
# The suite reads everything from default; tests/core/test_db_router.py gives one test at a time a `replica`
# alias on the same test database (what TEST MIRROR would do), committed data being visible through both.
DATABASES.pop("replica", None)  # noqa: F405
# Every throttle scope out of the way; tests of a limit set their own rate.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/min")  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = False
# Per-process cache: throttle counters of concurrent test runs must not meet in a shared Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
