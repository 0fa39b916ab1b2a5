"""A launch allocated: each customer is told what they were allotted and what came back to them.

One notification per customer and launch (key `launch:<product id>`), however many commitments they
made, so a re-run settle batch or a redelivered task never notifies twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.urls import reverse

from core.money import decimal_text
from earn.models import CommitmentStatus, LaunchCommitment, Product
from notifications.events import _names
from notifications.models import NotificationKind
from notifications.services import after_commit, notification_send


def launch_notify(product_id: int, user_ids: list[int]) -> int:
    """Notify these customers of their settled allocation in the launch; returns how many were sent now."""
    product = Product.objects.select_related("asset").filter(pk=product_id).first()
    if product is None:
        return 0
    scale = product.asset.scale
    rows = (LaunchCommitment.objects.filter(product_id=product_id, user_id__in=user_ids,
                                            status=CommitmentStatus.SETTLED)
            .values("user_id").annotate(committed=Sum("amount"), allocated=Sum("allocated"),
                                        refunded=Sum("refunded"))
            .order_by("user_id"))
    link = reverse("portal:product", args=[product_id])
    sent = 0
    for row in rows:
        if notification_send(user_id=row["user_id"], kind=NotificationKind.LAUNCH_ALLOCATED,
                             key=f"launch:{product_id}", link=link,
                             params={"product": _names(product), "asset": product.asset_id,
                                     "committed": decimal_text(row["committed"], scale),
                                     "allocated": decimal_text(row["allocated"] or Decimal(0), scale),
                                     "refunded": decimal_text(row["refunded"] or Decimal(0), scale)}):
            sent += 1
    return sent


def launch_settled_receiver(sender: Any, product_id: int, user_ids: list[int], **kwargs: Any) -> None:
    """earn.signals.launch_settled: notify the batch's customers once its transaction commits."""
    after_commit(f"launch:{product_id}", "launch_notify_task", {"product_id": product_id, "user_ids": list(user_ids)},
                 launch_notify)
