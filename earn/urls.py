"""Earn API routes; each API module owns its own `urlpatterns`."""

from earn.api import catalogue, launch, positions, staff_products

urlpatterns = [*catalogue.urlpatterns, *staff_products.urlpatterns, *positions.urlpatterns, *launch.urlpatterns]
