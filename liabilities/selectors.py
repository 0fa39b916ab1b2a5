"""Reads: the published roots, and one customer's inclusion proof (their leaves and paths to the roots)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Max

from liabilities import merkle
from liabilities.models import LiabilityLeaf, LiabilityNode, LiabilitySnapshot

PROOF_FORMAT = "earn-liability-proof/1"


def latest_date() -> dt.date | None:
    return LiabilitySnapshot.objects.aggregate(latest=Max("date"))["latest"]


def snapshot_dates(limit: int = 31) -> list[dt.date]:
    return list(LiabilitySnapshot.objects.order_by("-date").values_list("date", flat=True).distinct()[:limit])


def _text(units: int, scale: int) -> str:
    return format(Decimal(units).scaleb(-scale), "f") if scale else str(units)


def root_list(day: dt.date) -> list[dict[str, Any]]:
    """Every asset's public figures of `day` (one query)."""
    return [{"asset": s.asset_id, "scale": s.scale, "root": s.root, "total": _text(int(s.total_units), s.scale),
             "total_units": str(int(s.total_units)), "leaves": s.leaves, "cutoff": s.cutoff,
             "built_at": s.built_at}
            for s in LiabilitySnapshot.objects.filter(date=day).order_by("asset_id")]


def _path(leaf: LiabilityLeaf, snapshot: LiabilitySnapshot) -> list[dict[str, str]]:
    """Siblings from the leaf to the root: inside its block recomputed from the block's leaves (one
    index-range read), above it from the stored nodes (one read of the few it needs)."""
    block = leaf.idx // merkle.BLOCK
    rows = (LiabilityLeaf.objects.filter(snapshot=snapshot, idx__gte=block * merkle.BLOCK,
                                         idx__lt=(block + 1) * merkle.BLOCK)
            .order_by("idx").values_list("hash", "units"))
    inside = merkle.levels([(bytes(h), int(u)) for h, u in rows])
    steps = merkle.path(inside, leaf.idx - block * merkle.BLOCK)
    wanted, index, level = [], block, 0
    width = -(-snapshot.leaves // merkle.BLOCK)  # block roots at level 0
    while width > 1:
        wanted.append((level, index ^ 1))
        index //= 2
        level += 1
        width = -(-width // 2)
    if wanted:
        stored = {(level, idx): (bytes(h), int(u)) for level, idx, h, u in
                  LiabilityNode.objects.filter(snapshot=snapshot, level__lte=wanted[-1][0],
                                               idx__in={i for _l, i in wanted})
                  .values_list("level", "idx", "hash", "units")}
        for level, sibling in wanted:
            found = stored.get((level, sibling))
            if found is not None:  # no sibling: this level moved the node up unchanged
                side = "L" if sibling % 2 == 0 else "R"
                steps.append({"side": side, "hash": found[0].hex(), "sum": str(found[1])})
    return steps


def proof_for(user_id: int, day: dt.date) -> dict[str, Any] | None:
    """The customer's proof of `day`: None when no snapshot was published for it; `assets` empty when the
    service owed them nothing that day."""
    snapshots = {s.pk: s for s in LiabilitySnapshot.objects.filter(date=day)}
    if not snapshots:
        return None
    leaves = list(LiabilityLeaf.objects.filter(snapshot_id__in=list(snapshots), user_id=user_id))
    assets = []
    for leaf in sorted(leaves, key=lambda row: snapshots[row.snapshot_id].asset_id):
        snapshot = snapshots[leaf.snapshot_id]
        scale = snapshot.scale
        assets.append({
            "asset": snapshot.asset_id, "scale": scale, "root": snapshot.root,
            "total_units": str(int(snapshot.total_units)), "total": _text(int(snapshot.total_units), scale),
            "leaves": snapshot.leaves, "cutoff": snapshot.cutoff, "built_at": snapshot.built_at,
            "leaf": {"salt": bytes(leaf.salt).hex(), "units": str(int(leaf.units)),
                     "balance": _text(int(leaf.units), scale), "hash": bytes(leaf.hash).hex(),
                     "by_kind": {kind: _text(int(getattr(leaf, kind).scaleb(scale)), scale)
                                 for kind in ("available", "earn", "accrued", "pending", "committed")}},
            "path": _path(leaf, snapshot),
        })
    return {"format": PROOF_FORMAT, "date": day.isoformat(), "leaf_id": merkle.leaf_id(user_id),
            "hash": "sha256", "rule": ("leaf = SHA-256(\"earn-liability-leaf/1|\" salt \"|\" leaf_id \"|\" asset "
                                       "\"|\" units); node = SHA-256(\"earn-liability-node/1\" ‖ left.hash ‖ "
                                       "left.sum ‖ right.hash ‖ right.sum), sums 32-byte big-endian"),
            "assets": assets}


def leaf_list(user_id: int, day: dt.date) -> list[dict[str, Any]]:
    """The customer's own leaves of `day` (asset, balance and by account), for the portal (one query)."""
    rows = (LiabilityLeaf.objects.filter(snapshot__date=day, user_id=user_id)
            .values("snapshot__asset_id", "snapshot__scale", "units", "available", "earn", "accrued", "pending",
                    "committed")
            .order_by("snapshot__asset_id"))
    return [{"asset": row["snapshot__asset_id"], "scale": row["snapshot__scale"],
             "balance": _text(int(row["units"]), row["snapshot__scale"]),
             "available": row["available"], "earn": row["earn"], "accrued": row["accrued"],
             "pending": row["pending"], "committed": row["committed"]} for row in rows]
