"""Send what the notification outbox holds now, in this process (what the worker's drain does)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from notifications.services import outbox_backlog, outbox_drain


class Command(BaseCommand):
    help = "Send the notifications waiting in the outbox (each once) and print how many were sent."

    def handle(self, *args: Any, **options: Any) -> None:
        waiting, _oldest = outbox_backlog()
        sent = outbox_drain()
        self.stdout.write(f"outbox rows waiting: {waiting}; notifications sent: {sent}")
