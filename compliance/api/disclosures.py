"""Disclosure API: the customer's view of a product's current disclosure, and staff drafting/approval."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts.permissions import ANY_STAFF, role_required
from compliance.catalogue import catalogue, disclosure_extras
from compliance.disclosure_templates import TEMPLATES, ordered_keys, section_title, template
from compliance.models import Disclosure
from compliance.selectors import LANGUAGES, disclosure_current, disclosure_text, warnings_for
from compliance.services import disclosures as services
from core.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from accounts.requests import AuthenticatedRequest


class StatementOutput(serializers.Serializer):
    key = serializers.CharField()
    text = serializers.CharField()


class SectionOutput(serializers.Serializer):
    key = serializers.CharField(help_text="e.g. borrowers, collateral (lending); slashing (staking)")
    title = serializers.CharField(help_text="The section's heading in the requested language.")
    text = serializers.CharField()


class ProductDisclosureApi(APIView):
    """The current approved disclosure of a live or paused product, in English or Traditional Chinese."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        product = serializers.IntegerField()
        version = serializers.IntegerField()
        language = serializers.ChoiceField(choices=LANGUAGES)
        text = serializers.CharField()
        risk_statements = StatementOutput(many=True, help_text="Each must be ticked to acknowledge.")
        sections = SectionOutput(many=True, help_text="The sections the product's category requires, in order "
                                 "(empty for versions approved before sections existed).")
        sha256 = serializers.CharField(help_text="sha256 of the canonical content of both languages (bodies, "
                                       "statements and sections).")
        english_prevails = serializers.BooleanField()
        prescribed_warnings = serializers.ListField(child=serializers.CharField())
        approved_at = serializers.DateTimeField()
        il_table = serializers.JSONField(allow_null=True, help_text="Pool products: impermanent loss for price "
                                         "ratios 0.25–5, personalised for ?amount_usd= (default 1000).")

    @extend_schema(parameters=[OpenApiParameter("lang", str, enum=list(LANGUAGES), required=False,
                                                description="Defaults to the user's language."),
                               OpenApiParameter("amount_usd", str, required=False,
                                                description="Pool products: personalise the IL table.")],
                   responses=OutputSerializer, tags=["products"], operation_id="product_disclosure")
    def get(self, request: Request, product_id: int) -> Response:
        lang = (request.query_params.get("lang") or getattr(request.user, "language", "") or "en").lower()
        if lang not in LANGUAGES:
            raise ValidationFailed(_("lang is en or zh-hant."), field="lang")
        product = catalogue().visible_product(product_id=product_id, user=request.user)
        disclosure = disclosure_current(product_id=product.pk) if product else None
        if disclosure is None:
            raise NotFound(_("No current disclosure for this product."))
        warning = warnings_for(request.user, product, language=lang)["risk_warning"]
        body = {"id": disclosure.pk, "product": product_id, "version": disclosure.version, "sha256": disclosure.sha256,
                "english_prevails": True, "prescribed_warnings": [warning] if warning else [],
                "approved_at": disclosure.approved_at,
                **disclosure_text(disclosure, language=lang, country=getattr(request.user, "country", None))}
        body["il_table"] = None
        body.update(disclosure_extras(product, request.query_params))  # a pool product's IL table
        return Response(self.OutputSerializer(body).data)


class StatementInput(serializers.Serializer):
    key = serializers.RegexField(r"^[a-z][a-z0-9_]{1,63}$", help_text="snake_case, unique in the version")
    en = serializers.CharField()
    zh_hant = serializers.CharField()

    def to_internal_value(self, data: Any) -> dict:
        if isinstance(data, dict) and "zh-hant" in data:
            data = {**data, "zh_hant": data["zh-hant"]}
        value = super().to_internal_value(data)
        return {"key": value["key"], "en": value["en"], "zh-hant": value["zh_hant"]}


class SectionInput(serializers.Serializer):
    key = serializers.RegexField(r"^[a-z][a-z0-9_]{1,63}$", help_text="a section of the product's category")
    en = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)
    zh_hant = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)

    def to_internal_value(self, data: Any) -> dict:
        if isinstance(data, dict) and "zh-hant" in data:
            data = {**data, "zh_hant": data["zh-hant"]}
        value = super().to_internal_value(data)
        return {"key": value["key"], "en": value["en"], "zh-hant": value["zh_hant"]}


class TemplateSectionOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField(help_text="The heading customers read (in the caller's language).")
    guidance = serializers.CharField(help_text="What the drafter should write.")


class StaffSectionOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    en = serializers.CharField(allow_blank=True)
    zh_hant = serializers.CharField(allow_blank=True)


def _template_rows(category: str) -> list[dict[str, str]]:
    return [{"key": s.key, "title": str(s.title), "guidance": str(s.guidance)} for s in template(category)]


class StaffDisclosureOutput(serializers.Serializer):
    id = serializers.IntegerField()
    product = serializers.IntegerField(source="product_id")
    version = serializers.IntegerField()
    status = serializers.CharField()
    body_en = serializers.CharField()
    body_zh_hant = serializers.CharField()
    risk_statements = serializers.JSONField()
    category = serializers.CharField(allow_blank=True, help_text="The product category the sections were "
                                     "written for (empty before sections existed).")
    sections = serializers.SerializerMethodField()
    template = serializers.SerializerMethodField(help_text="The sections the product's category requires now.")
    missing_sections = serializers.SerializerMethodField(
        help_text="key.language of required sections still empty (approval answers 409 DISCLOSURE_INCOMPLETE).")
    sha256 = serializers.CharField()
    author = serializers.EmailField(source="author.email")
    approved_by = serializers.EmailField(source="approved_by.email", allow_null=True, default=None)
    approved_at = serializers.DateTimeField(allow_null=True)
    rejection_reason = serializers.CharField()


    @extend_schema_field(StaffSectionOutput(many=True))
    def get_sections(self, disclosure: Disclosure) -> list[dict[str, str]]:
        sections = disclosure.sections or {}
        return [{"key": key, "title": str(section_title(key, disclosure.category)), "en": sections[key]["en"],
                 "zh_hant": sections[key]["zh-hant"]} for key in ordered_keys(disclosure.category, sections)]

    @extend_schema_field(TemplateSectionOutput(many=True))
    def get_template(self, disclosure: Disclosure) -> list[dict[str, str]]:
        return _template_rows(services.product_category(disclosure.product))

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_missing_sections(self, disclosure: Disclosure) -> list[str]:
        return services.sections_missing(disclosure, disclosure.product)


def _staff_disclosure(disclosure_id: int) -> Disclosure:
    disclosure = (Disclosure.objects.select_related("author", "approved_by", "product").filter(pk=disclosure_id)
                  .first())
    if disclosure is None:
        raise NotFound(_("No such disclosure."))
    return disclosure


class StaffDisclosureDraftApi(APIView):
    """Draft the next disclosure version of a product; standard risk statements are added (curators)."""

    permission_classes = [IsAuthenticated, role_required(roles.CURATOR)]

    class InputSerializer(serializers.Serializer):
        body_en = serializers.CharField()
        body_zh_hant = serializers.CharField()
        risk_statements = StatementInput(many=True, required=False)
        sections = SectionInput(many=True, required=False, help_text="The sections of the product's category "
                                "(GET /staff/disclosure-templates); may be incomplete in a draft.")

    @extend_schema(request=InputSerializer, responses={201: StaffDisclosureOutput}, tags=["staff"],
                   operation_id="staff_disclosure_draft")
    def post(self, request: AuthenticatedRequest, product_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        disclosure = services.disclosure_draft(actor=request.user, product=product_id, body_en=v["body_en"],
                                               body_zh_hant=v["body_zh_hant"],
                                               risk_statements=v.get("risk_statements", []),
                                               sections=v.get("sections", []))
        return Response(StaffDisclosureOutput(_staff_disclosure(disclosure.pk)).data, status=status.HTTP_201_CREATED)


class StaffDisclosureDetailApi(APIView):
    permission_classes = [IsAuthenticated, ANY_STAFF]

    @extend_schema(responses=StaffDisclosureOutput, tags=["staff"], operation_id="staff_disclosure_detail")
    def get(self, request: Request, disclosure_id: int) -> Response:
        return Response(StaffDisclosureOutput(_staff_disclosure(disclosure_id)).data)


class StaffDisclosureTemplatesApi(APIView):
    """The sections each product category requires in a disclosure, with titles and drafting guidance."""

    permission_classes = [IsAuthenticated, ANY_STAFF]

    class OutputSerializer(serializers.Serializer):
        category = serializers.CharField()
        sections = TemplateSectionOutput(many=True)

    @extend_schema(parameters=[OpenApiParameter("category", str, enum=list(TEMPLATES), required=False,
                                                description="Only this category.")],
                   responses=OutputSerializer(many=True), tags=["staff"], operation_id="staff_disclosure_templates")
    def get(self, request: Request) -> Response:
        category = request.query_params.get("category")
        if category is not None and category not in TEMPLATES:
            raise ValidationFailed(_("category is one of: %(c)s.") % {"c": ", ".join(TEMPLATES)}, field="category")
        rows = [{"category": c, "sections": _template_rows(c)} for c in TEMPLATES if category in (None, c)]
        return Response(self.OutputSerializer(rows, many=True).data)


class StaffDisclosureApproveApi(APIView):
    """Approve a draft: it becomes current and supersedes the previous version (never its author). 409
    DISCLOSURE_INCOMPLETE (`missing`: key.language) while a section of the product's category is empty."""

    permission_classes = [IsAuthenticated, role_required(roles.APPROVER, roles.COMPLIANCE_OFFICER)]

    @extend_schema(request=None, responses=StaffDisclosureOutput, tags=["staff"],
                   operation_id="staff_disclosure_approve")
    def post(self, request: AuthenticatedRequest, disclosure_id: int) -> Response:
        services.disclosure_approve(actor=request.user, disclosure=disclosure_id)
        return Response(StaffDisclosureOutput(_staff_disclosure(disclosure_id)).data)


class StaffDisclosureRejectApi(APIView):
    permission_classes = [IsAuthenticated, role_required(roles.APPROVER, roles.COMPLIANCE_OFFICER)]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses=StaffDisclosureOutput, tags=["staff"],
                   operation_id="staff_disclosure_reject")
    def post(self, request: AuthenticatedRequest, disclosure_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.disclosure_reject(actor=request.user, disclosure=disclosure_id,
                                   reason=data.validated_data["reason"])
        return Response(StaffDisclosureOutput(_staff_disclosure(disclosure_id)).data)


urlpatterns = [
    path("products/<int:product_id>/disclosure", ProductDisclosureApi.as_view(), name="product-disclosure"),
    path("staff/products/<int:product_id>/disclosures", StaffDisclosureDraftApi.as_view(),
         name="staff-disclosure-draft"),
    path("staff/disclosures/<int:disclosure_id>", StaffDisclosureDetailApi.as_view(), name="staff-disclosure-detail"),
    path("staff/disclosure-templates", StaffDisclosureTemplatesApi.as_view(), name="staff-disclosure-templates"),
    path("staff/disclosures/<int:disclosure_id>/approve", StaffDisclosureApproveApi.as_view(),
         name="staff-disclosure-approve"),
    path("staff/disclosures/<int:disclosure_id>/reject", StaffDisclosureRejectApi.as_view(),
         name="staff-disclosure-reject"),
]
