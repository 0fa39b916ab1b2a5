"""Local development: the embedded default of `make run`."""

from .base import *  # noqa: F403

DEBUG = env.bool("DJANGO_DEBUG", default=True)  # noqa: F405
# The demo staff of seed_demo get an authenticator with the published demo key (never in production).
DEMO_STAFF_TOTP = env.bool("DEMO_STAFF_TOTP", default=True)  # noqa: F405
# Log lines for a person at a terminal (production and CI keep JSON).
LOG_FORMAT = env("LOG_FORMAT", default="text")  # noqa: F405
LOGGING["handlers"]["console"]["formatter"] = "json" if LOG_FORMAT == "json" else "text"  # noqa: F405
