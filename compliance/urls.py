"""Compliance API routes; each API module owns its own `urlpatterns`."""

from compliance.api import assessment, complaints, customer, disclosure_changes, disclosures, reports

urlpatterns = [*disclosures.urlpatterns, *disclosure_changes.urlpatterns, *customer.urlpatterns,
               *assessment.urlpatterns, *complaints.urlpatterns, *reports.urlpatterns]
