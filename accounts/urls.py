from django.urls import path

from accounts.api import AuthTokenObtainApi

urlpatterns = [
    path("auth/token", AuthTokenObtainApi.as_view(), name="auth-token"),
]
