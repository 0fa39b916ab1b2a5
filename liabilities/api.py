"""Proof of liabilities API: the public roots of a day, and a customer's own inclusion proof."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound, ValidationFailed
from liabilities import selectors
from liabilities.services import date_parse

if TYPE_CHECKING:
    from accounts.requests import AuthenticatedRequest

DATE_PARAM = OpenApiParameter("date", OpenApiTypes.DATE, description="YYYY-MM-DD (default: the latest snapshot)")


def _day(request: Request) -> dt.date:
    """The `date` asked for, else the latest built; 400 on anything but YYYY-MM-DD, 404 when none."""
    raw = request.query_params.get("date")
    if raw is None or raw == "":
        latest = selectors.latest_date()
        if latest is None:
            raise NotFound(_("No liabilities snapshot has been published yet."))
        return latest
    try:
        return date_parse(raw[:32])
    except ValueError:
        raise ValidationFailed(_("Enter a date as YYYY-MM-DD."), field="date") from None


class RootOutput(serializers.Serializer):
    asset = serializers.CharField()
    scale = serializers.IntegerField()
    # The serializer's metaclass pops declared fields, so this names the answer's key, not Field.root.
    root = serializers.CharField(help_text="hex SHA-256 of the root node")  # type: ignore[assignment]
    total = serializers.CharField(help_text="the sum of every customer's liability, in the asset")
    total_units = serializers.CharField(help_text="the same sum in the asset's smallest unit (the root's sum)")
    leaves = serializers.IntegerField()
    cutoff = serializers.DateTimeField()
    built_at = serializers.DateTimeField()


class RootsOutput(serializers.Serializer):
    date = serializers.DateField()
    assets = RootOutput(many=True)
    dates = serializers.ListField(child=serializers.DateField(), help_text="the latest dates published")


class LiabilityRootsApi(APIView):
    """Public: each asset's Merkle sum root and total of a day's liabilities (what every proof must reach)."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[DATE_PARAM], responses=RootsOutput, auth=[], tags=["liabilities"],
                   operation_id="liability_roots")
    def get(self, request: Request) -> Response:
        day = _day(request)
        roots = selectors.root_list(day)
        if not roots:
            raise NotFound(_("No liabilities snapshot for this date."), field="date")
        body = {"date": day, "assets": roots, "dates": selectors.snapshot_dates()}
        return Response(RootsOutput(body).data)


class LiabilityProofApi(APIView):
    """The caller's inclusion proof of a day: per asset their leaf (salt, balance by account) and the path
    to the root. Check it offline with `earn_verify.py inclusion proof.json --root …`."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[DATE_PARAM], responses={200: OpenApiTypes.OBJECT}, tags=["liabilities"],
                   operation_id="liability_proof")
    def get(self, request: AuthenticatedRequest) -> Response:
        day = _day(request)
        proof = selectors.proof_for(request.user.pk, day)
        if proof is None:
            raise NotFound(_("No liabilities snapshot for this date."), field="date")
        return Response(proof)
