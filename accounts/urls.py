from django.urls import path

from accounts import kyc_api
from accounts.api import ApiTokenListApi, ApiTokenRevokeApi, AuthTokenObtainApi

urlpatterns = [
    path("auth/token", AuthTokenObtainApi.as_view(), name="auth-token"),
    path("auth/tokens", ApiTokenListApi.as_view(), name="auth-tokens"),
    path("auth/tokens/<int:token_id>", ApiTokenRevokeApi.as_view(), name="auth-token-revoke"),
    *kyc_api.urlpatterns,
]
