"""Customer compliance API: acknowledgements and what still blocks a subscription."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance import errors
from compliance.catalogue import catalogue
from compliance.gate import blocking_codes_many
from compliance.services.acknowledgements import acknowledgement_create
from core.net import client_ip

if TYPE_CHECKING:
    from accounts.requests import AuthenticatedRequest


class AcknowledgementCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        disclosure_version = serializers.IntegerField(min_value=1)
        statements = serializers.ListField(child=serializers.CharField(max_length=100), max_length=100)
        language = serializers.ChoiceField(choices=["en", "zh-hant"], default="en")

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        disclosure_version = serializers.IntegerField()
        sha256 = serializers.CharField(help_text="sha256 of the version acknowledged.")
        previous_version = serializers.IntegerField(allow_null=True,
                                                    help_text="The version acknowledged before (null: none).")
        previous_sha256 = serializers.CharField(allow_blank=True,
                                                help_text="sha256 of the version acknowledged before (empty: none).")
        accepted_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, operation_id="acknowledgement_create")
    def post(self, request: AuthenticatedRequest, product_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        ack = acknowledgement_create(
            user=request.user, product_id=product_id, disclosure_version=v["disclosure_version"],
            statements=v["statements"], language=v["language"], ip_address=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        return Response(self.OutputSerializer(ack).data, status=201)


class ComplianceStatusApi(APIView):
    class OutputSerializer(serializers.Serializer):
        product = serializers.IntegerField()
        blocking = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses=OutputSerializer(many=True), operation_id="compliance_status")
    def get(self, request: AuthenticatedRequest) -> Response:
        """Live products the customer may be offered, each with what blocks a subscription now; products of a
        category not offered to them (PRODUCT_NOT_PERMITTED) are left out, as the catalogue leaves them out."""
        products = catalogue().live_products()
        codes = blocking_codes_many(request.user, products)
        offered = [p for p in products if errors.PRODUCT_NOT_PERMITTED not in codes[p.pk]]
        return Response(self.OutputSerializer([{"product": p.pk, "blocking": codes[p.pk]} for p in offered],
                                              many=True).data)


urlpatterns = [
    path("products/<int:product_id>/acknowledgements", AcknowledgementCreateApi.as_view(),
         name="acknowledgement-create"),
    path("compliance/status", ComplianceStatusApi.as_view(), name="compliance-status"),
]
