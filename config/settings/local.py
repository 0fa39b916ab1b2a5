"""Local development: the embedded default of `make run`."""

import copy

from .base import *  # noqa: F403

DEBUG = env.bool("DJANGO_DEBUG", default=True)  # noqa: F405
# The demo staff of seed_demo get an authenticator with the published demo key (never in production).
DEMO_STAFF_TOTP = env.bool("DEMO_STAFF_TOTP", default=True)  # noqa: F405
# Log lines for a person at a terminal (production and CI keep JSON). A copy: base's dict stays as it is.
LOG_FORMAT = env("LOG_FORMAT", default="text")  # noqa: F405
LOGGING = copy.deepcopy(LOGGING)  # noqa: F405
LOGGING["handlers"]["console"]["formatter"] = "json" if LOG_FORMAT == "json" else "text"
# The audit chainer's beat and worker lines every few seconds would drown the terminal of `make run`.
LOGGING["filters"]["routine_tasks"] = {"()": "core.logging.RoutineTasksFilter"}
LOGGING["handlers"]["console"]["filters"].append("routine_tasks")
