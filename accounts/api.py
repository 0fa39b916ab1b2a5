"""Authentication API: exchange email + password for an API token; list and revoke one's tokens."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts.models import KycStatus
from accounts.permissions import role_required
from accounts.services import auth_token_obtain, staff_customer_lookup
from accounts.tokens import api_token_revoke, api_tokens_of
from core.throttling import ScopedRateThrottle, SimpleRateThrottle

if TYPE_CHECKING:
    from accounts.requests import AuthenticatedRequest


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
    """POST email + password (+ otp when 2FA is on) → a new {"token"} for `Authorization: Token …`.

    Each call makes a new token (only its digest is stored, so an existing one cannot be shown
    again); it expires after API_TOKEN_TTL_DAYS. `id`, `prefix`, `name` and `expires_at` are additions.
    """

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
        name = serializers.CharField(required=False, allow_blank=True, max_length=100,
                                     help_text="A label to recognise the token by in lists (optional).")

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="The key; shown only in this response.")
        id = serializers.IntegerField()
        name = serializers.CharField()
        prefix = serializers.CharField(help_text="The key's first characters, shown in lists.")
        expires_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer}, auth=[], tags=["auth"],
                   operation_id="auth_token_obtain")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = auth_token_obtain(request=request._request, **serializer.validated_data)
        body = {"token": key, "id": token.pk, "name": token.name, "prefix": token.prefix,
                "expires_at": token.expires_at}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_200_OK)


class ApiTokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="Recorded to the minute.")


class ApiTokenListApi(APIView):
    """The customer's own API tokens, newest first: never the key, only its prefix."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ApiTokenOutput(many=True), tags=["auth"], operation_id="auth_token_list")
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(ApiTokenOutput(api_tokens_of(request.user), many=True).data)


class ApiTokenRevokeApi(APIView):
    """Revoke one of the customer's own tokens (it stops working at once); another's id is 404."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, tags=["auth"], operation_id="auth_token_revoke")
    def delete(self, request: AuthenticatedRequest, token_id: int) -> Response:
        api_token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StaffCustomerLookupApi(APIView):
    """Operations and compliance officers: the customer with exactly this email (`?email=`), 404 when none.

    For naming a customer by the id the staff endpoints answer with (staff deposits take the email
    itself too). No listing and no partial match; each lookup that finds a customer is audited
    (`customer.lookup`), and lookups are rate-limited per staff user (THROTTLE_STAFF_LOOKUP).
    """

    permission_classes = [IsAuthenticated, role_required(roles.OPERATIONS, roles.COMPLIANCE_OFFICER)]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "staff_lookup"

    class FilterSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(help_text="The customer's user id")
        email = serializers.EmailField()
        display_name = serializers.CharField()
        country = serializers.CharField(help_text="Country of residence (ISO 3166 alpha-2)")
        kyc_status = serializers.ChoiceField(choices=KycStatus.choices)
        is_active = serializers.BooleanField(help_text="False: the account is closed (deposits are refused)")
        created = serializers.DateTimeField(source="date_joined")

    @extend_schema(
        parameters=[OpenApiParameter("email", str, required=True, description="The customer's exact email address")],
        responses={200: OutputSerializer,
                   404: OpenApiResponse(description="NOT_FOUND: no customer has this email address")},
        tags=["staff"], operation_id="staff_customer_lookup")
    def get(self, request: AuthenticatedRequest) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        customer = staff_customer_lookup(actor=request.user, email=filters.validated_data["email"])
        return Response(self.OutputSerializer(customer).data)
