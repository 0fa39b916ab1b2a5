"""`manage.py audit_verify`: chain what is committed, then check the whole audit hash chain.

Exit 1 naming the first broken event; exit 2 when the chain is intact but events have stayed
unchained longer than AUDIT_CHAIN_MAX_LAG_SECONDS (only possible with --no-chain, or when this
command cannot chain): the trail is sound, the chainer is not running.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.audit import audit_chain
from core.audit_verify import audit_chain_verify
from core.management.arguments import int_at_least
from core.models import AuditEvent


class Command(BaseCommand):
    help = ("Chain the committed audit events, then verify the hash chain from the first event; exit 1 naming "
            "the first broken event, 2 when events stay unchained too long.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int_at_least(1), default=100_000,
                            help="events verified per query (one range of the chain, checked in SQL)")
        parser.add_argument("--progress", action="store_true", help="show a progress bar (default on a terminal)")
        parser.add_argument("--no-chain", action="store_true",
                            help="verify only (read-only): do not chain pending events first; report them")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_chain"]:
            chained = audit_chain()
            if chained and options["verbosity"] >= 2:
                self.stdout.write(f"chained {chained} pending events")
        show = options["progress"] or (options["verbosity"] >= 1 and sys.stderr.isatty())
        bar = tqdm(total=AuditEvent.objects.filter(hash__isnull=False).count(), unit="event", disable=not show,
                   file=sys.stderr)
        try:
            report = audit_chain_verify(batch=options["batch"], progress=bar.update)
        finally:
            bar.close()
        if not report.intact:
            raise CommandError(f"audit chain broken at event #{report.broken_sequence}: {report.reason} "
                               f"({report.checked} events before it are intact)", returncode=1)
        if options["verbosity"] >= 1:
            last = f"last #{report.last_sequence}, hash {report.last_hash}" if report.checked else "empty trail"
            pending = f"; {report.unchained} not chained yet" if report.unchained else ""
            anchored = (f"; from position {report.anchor_position + 1}, anchored on the hash of the detached "
                        f"month's position {report.anchor_position}" if report.anchor_position else "")
            self.stdout.write(self.style.SUCCESS(
                f"audit chain intact: {report.checked} events ({last}){pending}{anchored}"))
        if report.stale_unchained:
            raise CommandError(
                f"{report.stale_unchained} audit events unchained for more than "
                f"{settings.AUDIT_CHAIN_MAX_LAG_SECONDS} s (oldest #{report.oldest_unchained_sequence}): "
                "is the chainer (Celery worker and beat) running?", returncode=2)
