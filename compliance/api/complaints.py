"""Customer API: file a complaint about a product or one's own position, and follow it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.selectors import complaints_for
from compliance.services.complaints import complaint_file
from core.errors import NotFound

if TYPE_CHECKING:
    from accounts.requests import AuthenticatedRequest


class ComplaintOutput(serializers.Serializer):
    id = serializers.IntegerField()
    product = serializers.IntegerField(source="product_id", allow_null=True)
    position = serializers.IntegerField(source="position_id", allow_null=True)
    subject = serializers.CharField()
    body = serializers.CharField()
    status = serializers.CharField()
    received_at = serializers.DateTimeField()
    final_response_due = serializers.DateTimeField(source="deadline_at")
    final_response = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)


class ComplaintListCreateApi(APIView):
    """GET: the customer's own complaints (newest first); POST: file one (8-week final-response deadline)."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        product = serializers.IntegerField(required=False, min_value=1)
        position = serializers.IntegerField(required=False, min_value=1)
        subject = serializers.CharField(max_length=200)
        body = serializers.CharField(max_length=10_000)

    @extend_schema(responses=ComplaintOutput(many=True), tags=["compliance"], operation_id="complaint_list")
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(ComplaintOutput(complaints_for(request.user)[:200], many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ComplaintOutput}, tags=["compliance"],
                   operation_id="complaint_create")
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        complaint = complaint_file(user=request.user, subject=v["subject"], body=v["body"],
                                   product_id=v.get("product"), position_id=v.get("position"))
        return Response(ComplaintOutput(complaint).data, status=201)


class ComplaintDetailApi(APIView):
    """One of the customer's own complaints (another customer's: 404)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ComplaintOutput, tags=["compliance"], operation_id="complaint_detail")
    def get(self, request: AuthenticatedRequest, complaint_id: int) -> Response:
        complaint = complaints_for(request.user).filter(pk=complaint_id).first()
        if complaint is None:
            raise NotFound(_("No such complaint."))
        return Response(ComplaintOutput(complaint).data)


urlpatterns = [
    path("compliance/complaints", ComplaintListCreateApi.as_view(), name="compliance-complaints"),
    path("compliance/complaints/<int:complaint_id>", ComplaintDetailApi.as_view(), name="compliance-complaint"),
]
