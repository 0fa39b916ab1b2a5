"""Earn API routes; each API module owns its own `urlpatterns`."""

from earn.api import positions, products

urlpatterns = [*products.urlpatterns, *positions.urlpatterns]
