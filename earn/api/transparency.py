"""Verifiable earnings: `GET /api/v1/positions/{id}/accruals?format=proof`, every day's inputs and results.

The answer is a self-contained document (`earn-accrual-proof/1`) that `bin/earn_verify.py` checks with
the Python standard library alone; see earn.selectors.accrual_proof for what it holds.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import NotFound
from earn.models import Position
from earn.selectors.accrual_proof import accrual_proof

PROOF_MEDIA_TYPE = "application/vnd.earn.accrual-proof+json"


class AccrualProofRenderer(JSONRenderer):
    """JSON, chosen by `?format=proof` (or the Accept header): the proof instead of a page of accruals."""

    media_type = PROOF_MEDIA_TYPE
    format = "proof"


class ProofTierSerializer(serializers.Serializer):
    lower = serializers.CharField()
    upper = serializers.CharField(allow_null=True, help_text="null: no upper bound")
    apr = serializers.CharField(help_text="a fraction: 0.05 = 5 %")


class ProofTermsSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    effective_from = serializers.DateField()
    day_count_basis = serializers.IntegerField()
    tiers = ProofTierSerializer(many=True)


class ProofDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    terms_version = serializers.IntegerField(allow_null=True)
    day_count_basis = serializers.IntegerField(allow_null=True)
    tiers = ProofTierSerializer(many=True, help_text="The marginal tiers of the terms in force that day.")
    base = serializers.CharField(help_text="What earned that day, 18 decimals.")
    carry_in = serializers.CharField(help_text="The previous day's carry_out (0 on the first day).")
    exact = serializers.CharField(help_text="round_down(yearly / basis, 18 dp).")
    apr = serializers.CharField(help_text="round_down(yearly / base, 18 dp): the blended APR recorded.")
    posted = serializers.CharField(help_text="round_down(exact + carry_in, scale): what was credited.")
    carry_out = serializers.CharField(help_text="exact + carry_in − posted.")
    payout = serializers.CharField()


class ProofChangeSerializer(serializers.Serializer):
    effective_date = serializers.DateField()
    amount = serializers.CharField()
    reason = serializers.CharField()


class ProofTotalsSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    posted = serializers.CharField()
    carry = serializers.CharField()


@extend_schema_serializer(many=False)  # one document, not a page of them
class AccrualProofSerializer(serializers.Serializer):
    """`?format=proof`: the whole history of a position's interest, to recompute offline."""

    format = serializers.CharField(help_text="earn-accrual-proof/1")
    position = serializers.IntegerField()
    product = serializers.IntegerField()
    asset = serializers.CharField()
    scale = serializers.IntegerField(help_text="The asset's decimals: posted amounts are rounded down to it.")
    term_type = serializers.CharField()
    value_date = serializers.DateField()
    maturity_date = serializers.DateField(allow_null=True)
    rounding = serializers.CharField(help_text="ROUND_DOWN (towards zero), Python decimal's name.")
    exact_decimal_places = serializers.IntegerField()
    rule = serializers.CharField()
    terms = ProofTermsSerializer(many=True)
    changes = ProofChangeSerializer(many=True, help_text="What earns on a day is the sum of the changes "
                                    "effective on or before it.")
    days = ProofDaySerializer(many=True)
    totals = ProofTotalsSerializer()


def accrual_proof_response(request: Request, position_id: int) -> Response:
    """The proof of the caller's own position; anyone else's answers 404 like every object endpoint."""
    position = Position.objects.select_related("asset").filter(pk=position_id, user=request.user.pk).first()
    if position is None:
        raise NotFound(_("No such position."), field="position")
    body: dict[str, Any] = accrual_proof(position)
    return Response(body)
