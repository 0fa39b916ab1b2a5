"""KYC API: a customer's residence change requests, and the KYC provider's signed webhook."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import kyc
from accounts.models import InvestorClass, KycStatus

if TYPE_CHECKING:
    from accounts.requests import AuthenticatedRequest


class ResidenceRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    current_country = serializers.CharField()
    requested_country = serializers.CharField(help_text="Empty: the residence stays as it is.")
    current_investor_class = serializers.CharField()
    requested_investor_class = serializers.CharField(help_text="Empty: the investor class stays as it is.")
    reason = serializers.CharField()
    status = serializers.CharField(help_text="pending, approved or rejected")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()


class ResidenceRequestApi(APIView):
    """The customer's own requests to change their verified residence (or investor class); compliance decides."""

    class InputSerializer(serializers.Serializer):
        requested_country = serializers.CharField(required=False, allow_blank=True, max_length=2,
                                                  help_text="ISO 3166-1 alpha-2; empty keeps the residence.")
        requested_investor_class = serializers.ChoiceField(choices=InvestorClass.values, required=False,
                                                           allow_blank=True)
        reason = serializers.CharField(max_length=2000)

    @extend_schema(responses=ResidenceRequestOutput(many=True), tags=["account"],
                   operation_id="residence_request_list")
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(ResidenceRequestOutput(kyc.residence_requests_of(request.user), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ResidenceRequestOutput}, tags=["account"],
                   operation_id="residence_request_create")
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = kyc.residence_request_create(user=request.user, **data.validated_data)
        return Response(ResidenceRequestOutput(created).data, status=201)


class KycWebhookApi(APIView):
    """The KYC provider's decision about a customer, authenticated by an HMAC-SHA256 signature of the raw body.

    Header `X-KYC-Signature: sha256=<hex HMAC-SHA256(body, KYC_WEBHOOK_SECRET)>`; body JSON `{event_id,
    timestamp (Unix seconds), user_id | email, status: verified|rejected, country (when verified),
    investor_class?: retail|professional}`. 401 bad signature or stale timestamp, 409 replayed event id, 404
    unknown user; 404 WEBHOOK_DISABLED when no secret is configured.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        event_id = serializers.RegexField(r"^[A-Za-z0-9._:-]{1,100}$", max_length=100)
        timestamp = serializers.IntegerField(min_value=0, max_value=10**11)
        user_id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
        email = serializers.EmailField(required=False)
        status = serializers.ChoiceField(choices=[KycStatus.VERIFIED, KycStatus.REJECTED])
        country = serializers.RegexField(r"^[A-Z]{2}$", required=False, allow_blank=True)
        investor_class = serializers.ChoiceField(choices=InvestorClass.values, required=False, allow_blank=True)

        def validate(self, attrs: dict) -> dict:
            if attrs.get("user_id") is None and not attrs.get("email"):
                raise serializers.ValidationError({"user_id": "Give user_id or email."})
            return attrs

    class OutputSerializer(serializers.Serializer):
        event_id = serializers.CharField()
        user_id = serializers.IntegerField()
        status = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer}, auth=[], tags=["kyc"],
                   operation_id="kyc_webhook",
                   parameters=[OpenApiParameter(kyc.SIGNATURE_HEADER, str, OpenApiParameter.HEADER, required=True,
                                                description="sha256=<hex HMAC-SHA256 of the raw body>")])
    def post(self, request: Request) -> Response:
        # The signature covers the raw JSON body, read here before any parser; the API takes JSON only, so a
        # form body is refused as everywhere else (415), and no provider sends one anyway.
        if request.content_type.split(";")[0].strip().lower() != "application/json":
            raise UnsupportedMediaType(request.content_type)
        body = request.body
        kyc.webhook_authenticate(body=body, signature=request.headers.get(kyc.SIGNATURE_HEADER))
        data = self.InputSerializer(data=kyc.webhook_payload(body))
        data.is_valid(raise_exception=True)
        v = data.validated_data
        event = kyc.kyc_webhook_apply(event_id=v["event_id"], timestamp=v["timestamp"], user_id=v.get("user_id"),
                                      email=v.get("email"), status=v["status"], country=v.get("country") or None,
                                      investor_class=v.get("investor_class") or None,
                                      received={k: v[k] for k in v})
        return Response(self.OutputSerializer({"event_id": event.event_id, "user_id": event.user_id,
                                               "status": event.status}).data)


urlpatterns = [
    path("account/residence-requests", ResidenceRequestApi.as_view(), name="residence-requests"),
    path("kyc/webhook", KycWebhookApi.as_view(), name="kyc-webhook"),
]
