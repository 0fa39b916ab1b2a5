"""Throttling a background kick to at most once per N seconds per process.

After-commit callbacks ask a worker to run a catch-up task (chain the audit trail, drain the outbox). One run
catches up on everything committed before it, so a kick per commit only queued runs that found nothing.
"""

from __future__ import annotations

import time

from django.conf import settings


class OncePer:
    """Due at most once per `settings.<setting_name>` seconds in this process (0 or less: every time).

    The setting is read on every call, so a test or an override takes effect at once.
    """

    def __init__(self, setting_name: str) -> None:
        self.setting_name = setting_name
        self.last = float("-inf")  # float-ok: this process's last kick (time.monotonic())

    def due(self) -> bool:
        """True (and the window restarts) when the last kick is at least the setting's seconds ago."""
        now = time.monotonic()
        if now - self.last < getattr(settings, self.setting_name):
            return False
        self.last = now
        return True
