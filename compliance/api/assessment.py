"""Customer API: the knowledge / appropriateness assessment of the customer's jurisdiction."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance import selectors
from compliance.catalogue import catalogue
from compliance.gate import product_kind
from compliance.models import AssessmentAttempt, ProductKind
from compliance.services.assessments import assessment_submit
from core.errors import NotFound


class ChoiceOutput(serializers.Serializer):
    key = serializers.CharField()
    text = serializers.CharField()


class QuestionOutput(serializers.Serializer):
    key = serializers.CharField()
    topic = serializers.CharField()
    text = serializers.CharField()
    choices = ChoiceOutput(many=True)


class ResultOutput(serializers.Serializer):
    product_kind = serializers.CharField()
    passed = serializers.BooleanField()
    score = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    pass_mark = serializers.IntegerField()
    taken_at = serializers.DateTimeField(source="created_at")
    retake_after = serializers.DateTimeField(allow_null=True)


def _kind(*, user: object, product_id: object = None, kind: str | None = None) -> str:
    """The kind a product needs when `product` is given, else `product_kind` (default: flexible)."""
    if product_id not in (None, ""):
        text = str(product_id)
        product = (catalogue().visible_product(product_id=int(text), user=user)
                   if text.isascii() and text.isdigit() and len(text) < 19 else None)
        if product is None:
            raise NotFound(_("No such product."), field="product")
        return product_kind(product)
    kind = kind or ProductKind.DEMAND
    if kind not in ProductKind.values:
        raise NotFound(_("Unknown product kind."), field="product_kind")
    return kind


class AssessmentApi(APIView):
    """GET: the questions (without answers) and the last result; POST: answers → {passed, score, retake_after}."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        jurisdiction = serializers.CharField()
        product_kind = serializers.ChoiceField(choices=ProductKind.choices)
        required_from_risk_rating = serializers.IntegerField(allow_null=True)
        pass_mark = serializers.IntegerField(allow_null=True)
        questions = QuestionOutput(many=True)
        last_result = ResultOutput(allow_null=True)

    class InputSerializer(serializers.Serializer):
        product_kind = serializers.ChoiceField(choices=ProductKind.choices, required=False)
        product = serializers.IntegerField(required=False, min_value=1)
        answers = serializers.DictField(child=serializers.CharField(max_length=20), allow_empty=False)
        language = serializers.ChoiceField(choices=["en", "zh-hant"], required=False)

    @extend_schema(parameters=[OpenApiParameter("product_kind", str, enum=ProductKind.values),
                               OpenApiParameter("product", int, description="the kind this product needs"),
                               OpenApiParameter("lang", str, enum=["en", "zh-hant"])],
                   responses=OutputSerializer, tags=["compliance"], operation_id="assessment_questions")
    def get(self, request: Request) -> Response:
        kind = _kind(user=request.user, product_id=request.query_params.get("product"),
                     kind=request.query_params.get("product_kind"))
        rule = selectors.jurisdiction_rule(request.user.country)
        last = selectors.assessment_latest(request.user, kind)
        return Response(self.OutputSerializer({
            "jurisdiction": request.user.country, "product_kind": kind,
            "required_from_risk_rating": rule.assessment_min_risk if rule else None,
            "pass_mark": rule.pass_mark if rule else None,
            "questions": selectors.assessment_questions(request.user, kind,
                                                        language=request.query_params.get("lang")),
            "last_result": _result(last, rule.pass_mark if rule else None) if last else None,
        }).data)

    @extend_schema(request=InputSerializer, responses={201: ResultOutput}, tags=["compliance"],
                   operation_id="assessment_submit")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        kind = _kind(user=request.user, product_id=v.get("product"), kind=v.get("product_kind"))
        attempt = assessment_submit(user=request.user, product_kind=kind, answers=v["answers"],
                                    language=v.get("language") or request.user.language)
        rule = selectors.jurisdiction_rule(attempt.jurisdiction)
        return Response(ResultOutput(_result(attempt, rule.pass_mark if rule else None)).data, status=201)


def _result(attempt: AssessmentAttempt, pass_mark: int | None) -> dict:
    return {"product_kind": attempt.product_kind, "passed": attempt.passed, "score": attempt.score,
            "total": attempt.total, "percent": attempt.percent, "pass_mark": pass_mark,
            "created_at": attempt.created_at, "retake_after": attempt.retake_after}


urlpatterns = [path("compliance/assessment", AssessmentApi.as_view(), name="compliance-assessment")]
