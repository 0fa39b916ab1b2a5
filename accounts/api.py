"""Authentication API: exchange email + password for an API token."""

from __future__ import annotations

import hashlib

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import auth_token_obtain
from core.throttling import ScopedRateThrottle, SimpleRateThrottle


class AuthEmailRateThrottle(SimpleRateThrottle):
    """The "auth" rate per email as well as per client address, so rotating addresses does not help."""

    scope = "auth"
    cache_format = "throttle_%(scope)s_email_%(ident)s"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        # Hashed: a bounded key, and no email addresses kept in the cache.
        ident = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AuthTokenObtainApi(APIView):
    """POST email + password (+ otp when 2FA is on) → {"token"} for `Authorization: Token …`."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle, AuthEmailRateThrottle]
    throttle_scope = "auth"

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
        otp = serializers.CharField(required=False, allow_blank=True, max_length=16,
                                    help_text="One-time code (authenticator app or recovery code); required when "
                                              "two-factor authentication is on (OTP_REQUIRED otherwise).")

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer}, auth=[], tags=["auth"],
                   operation_id="auth_token_obtain")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = auth_token_obtain(request=request._request, **serializer.validated_data)
        return Response(self.OutputSerializer({"token": token.key}).data, status=status.HTTP_200_OK)
