"""Compliance API routes; each API module owns its own `urlpatterns`."""

from compliance.api import customer, disclosures

urlpatterns = [*disclosures.urlpatterns, *customer.urlpatterns]
