"""Proof of liabilities API: the public roots of a day, and a customer's own inclusion proof."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import DecimalTextField
from core.errors import NotFound, ValidationFailed
from liabilities import selectors
from liabilities.services import date_parse

if TYPE_CHECKING:
    from accounts.requests import AuthenticatedRequest

BAD_DATE = OpenApiResponse(description="INVALID (field `date`): not a date written YYYY-MM-DD")
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


class LiabilityRootOutput(serializers.Serializer):
    asset = serializers.CharField()
    scale = serializers.IntegerField()
    # The serializer's metaclass pops declared fields, so this names the answer's key, not Field.root.
    root = serializers.CharField(help_text="hex SHA-256 of the root node")  # type: ignore[assignment]
    total = DecimalTextField(help_text="the sum of every customer's liability, in the asset")
    total_units = DecimalTextField(help_text="the same sum in the asset's smallest unit (the root's sum)")
    leaves = serializers.IntegerField()
    cutoff = serializers.DateTimeField(help_text="balances as of this instant (00:00 UTC after the date)")
    built_at = serializers.DateTimeField()


class LiabilityRootsOutput(serializers.Serializer):
    date = serializers.DateField()
    assets = LiabilityRootOutput(many=True)
    dates = serializers.ListField(child=serializers.DateField(), help_text="the latest dates published")


class LiabilityProofByKindOutput(serializers.Serializer):
    available = DecimalTextField()
    earn = DecimalTextField()
    accrued = DecimalTextField()
    pending = DecimalTextField()
    committed = DecimalTextField(help_text="committed to launches whose allocation has not run")


class LiabilityProofLeafOutput(serializers.Serializer):
    salt = serializers.CharField(help_text="hex; keep it private: it is what hides your leaf")
    units = DecimalTextField(help_text="your balance in the asset's smallest unit")
    balance = DecimalTextField()
    hash = serializers.CharField(help_text="hex SHA-256 of the leaf")
    by_kind = LiabilityProofByKindOutput()


class LiabilityProofStepOutput(serializers.Serializer):
    side = serializers.ChoiceField(choices=["L", "R"], help_text="L: the sibling is on the left")
    hash = serializers.CharField()
    sum = DecimalTextField(help_text="the sibling's sum, in the smallest unit")


class LiabilityProofAssetOutput(LiabilityRootOutput):
    leaf = LiabilityProofLeafOutput()
    path = LiabilityProofStepOutput(many=True)


class LiabilityProofOutput(serializers.Serializer):
    format = serializers.CharField()
    date = serializers.DateField()
    leaf_id = serializers.CharField()
    hash = serializers.CharField()
    rule = serializers.CharField()
    assets = LiabilityProofAssetOutput(many=True)


class LiabilityRootsApi(APIView):
    """Public: each asset's Merkle sum root and total of a day's liabilities (what every proof must reach)."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[DATE_PARAM], auth=[], tags=["liabilities"], operation_id="liability_roots",
                   responses={200: LiabilityRootsOutput, 400: BAD_DATE, 404: OpenApiResponse(
                       description="NOT_FOUND: no snapshot published for that date (or none yet)")})
    def get(self, request: Request) -> Response:
        day = _day(request)
        roots = selectors.root_list(day)
        if not roots:
            raise NotFound(_("No liabilities snapshot for this date."), field="date")
        body = {"date": day, "assets": roots, "dates": selectors.snapshot_dates()}
        return Response(LiabilityRootsOutput(body).data)


class LiabilityProofApi(APIView):
    """The caller's inclusion proof of a day: per asset their leaf (salt, balance by account) and the path
    to the root. Check it offline with `earn_verify.py inclusion proof.json --root …`."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[DATE_PARAM], tags=["liabilities"], operation_id="liability_proof",
                   responses={200: LiabilityProofOutput, 400: BAD_DATE, 401: OpenApiResponse(
                       description="NOT_AUTHENTICATED: a proof is the caller's own"), 404: OpenApiResponse(
                       description="NOT_FOUND: no snapshot published for that date; a customer owed nothing that "
                                   "day gets 200 with no assets")})
    def get(self, request: AuthenticatedRequest) -> Response:
        day = _day(request)
        proof = selectors.proof_for(request.user.pk, day)
        if proof is None:
            raise NotFound(_("No liabilities snapshot for this date."), field="date")
        return Response(LiabilityProofOutput(proof).data)
