from django.urls import path

from accounts import kyc_api
from accounts.api import ApiTokenListApi, ApiTokenRevokeApi, AuthTokenObtainApi, StaffCustomerLookupApi

urlpatterns = [
    path("auth/token", AuthTokenObtainApi.as_view(), name="auth-token"),
    path("auth/tokens", ApiTokenListApi.as_view(), name="auth-tokens"),
    path("auth/tokens/<int:token_id>", ApiTokenRevokeApi.as_view(), name="auth-token-revoke"),
    path("staff/customers", StaffCustomerLookupApi.as_view(), name="staff-customer-lookup"),
    *kyc_api.urlpatterns,
]
