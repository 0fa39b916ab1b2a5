"""Compliance API routes; each API module owns its own `urlpatterns`."""

from compliance.api import assessment, complaints, customer, disclosures, reports

urlpatterns = [*disclosures.urlpatterns, *customer.urlpatterns, *assessment.urlpatterns, *complaints.urlpatterns,
               *reports.urlpatterns]
