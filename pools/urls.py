"""Pool API routes."""

from pools.api import urlpatterns

__all__ = ["urlpatterns"]
