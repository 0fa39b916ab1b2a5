from django.urls import path

from accounts import kyc_api
from accounts.api import AuthTokenObtainApi

urlpatterns = [
    path("auth/token", AuthTokenObtainApi.as_view(), name="auth-token"),
    *kyc_api.urlpatterns,
]
