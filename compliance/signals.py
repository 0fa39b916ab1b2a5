"""What compliance announces to the apps above it (they connect receivers from their AppConfig.ready)."""

from __future__ import annotations

from django.dispatch import Signal

# A disclosure version that supersedes another was approved; sent inside the approval's transaction with
# `disclosure=`. Notifications tells the product's holders after the commit.
disclosure_published = Signal()
