from django.urls import path

from liabilities.api import LiabilityProofApi, LiabilityRootsApi

urlpatterns = [
    path("liabilities/roots", LiabilityRootsApi.as_view(), name="liability-roots"),
    path("liabilities/proof", LiabilityProofApi.as_view(), name="liability-proof"),
]
