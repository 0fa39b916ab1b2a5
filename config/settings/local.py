"""Local development: the embedded default of `make run`."""

from .base import *  # noqa: F403

DEBUG = env.bool("DJANGO_DEBUG", default=True)  # noqa: F405
# The demo staff of seed_demo get an authenticator with the published demo key (never in production).
DEMO_STAFF_TOTP = env.bool("DEMO_STAFF_TOTP", default=True)  # noqa: F405
