"""Staff product curation API: draft, lifecycle transitions, terms versions (thin: services do the work)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts.permissions import ANY_STAFF, role_required
from core.api import MoneyInputField, RateField, ScaledAmountField
from core.errors import NotFound, ValidationFailed
from earn.models import (
    Category,
    EarlyRedemption,
    PayoutMode,
    Product,
    ProductTerms,
    RedemptionMode,
    Strategy,
    TermType,
)
from earn.selectors import products as selectors
from earn.services import product_lifecycle as services
from earn.services import terms as terms_services

if TYPE_CHECKING:
    from accounts.requests import AuthenticatedRequest

# --- Shared pieces --------------------------------------------------------------------------------


class TierInput(serializers.Serializer):
    lower = MoneyInputField(positive=False, default=Decimal(0))
    upper = MoneyInputField(required=False, allow_null=True, default=None)
    apr = MoneyInputField(positive=False, help_text="A fraction: 0.06 = 6 %.")


class TermsInput(serializers.Serializer):
    effective_from = serializers.DateField(required=False)
    term_days = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    day_count_basis = serializers.ChoiceField(choices=[365, 360], required=False)
    payout = serializers.ChoiceField(choices=PayoutMode.choices, required=False)
    min_amount = MoneyInputField()
    max_amount = MoneyInputField(required=False, allow_null=True)
    per_user_cap = MoneyInputField(required=False, allow_null=True)
    total_cap = MoneyInputField(required=False, allow_null=True)
    window_start = serializers.DateTimeField(required=False, allow_null=True)
    window_end = serializers.DateTimeField(required=False, allow_null=True)
    early_redemption = serializers.ChoiceField(choices=EarlyRedemption.choices, required=False)
    penalty_apr = MoneyInputField(positive=False, required=False, allow_null=True)
    redemption_modes = serializers.ListField(child=serializers.ChoiceField(choices=RedemptionMode.choices),
                                             required=False, max_length=2)
    auto_renew_allowed = serializers.BooleanField(required=False)


@extend_schema_field({"type": "array", "items": {
    "type": "object", "required": ["url", "date"],
    "properties": {"url": {"type": "string"}, "date": {"type": "string", "description": "ISO date"},
                   "auditor": {"type": "string", "description": "May be absent."}}}})
class AuditReportsField(serializers.JSONField):
    """The stored audit reports as they are (`[{url, date, auditor}]`, `auditor` optional)."""


class AuditReportInput(serializers.Serializer):
    url = serializers.URLField()
    date = serializers.DateField()
    auditor = serializers.CharField(required=False, allow_blank=True, max_length=120)


class VettingInput(serializers.Serializer):
    venue = serializers.CharField(required=False, allow_blank=True, max_length=120)
    counterparty = serializers.CharField(required=False, allow_blank=True, max_length=120,
                                         help_text="Lending: the borrower; structured: the issuer.")
    il_alert_threshold = MoneyInputField(required=False, allow_null=True,
                                         help_text="Liquidity mining: alert past this loss, 0.05 = 5 %.")
    chain = serializers.CharField(required=False, allow_blank=True, max_length=60)
    contract_address = serializers.CharField(required=False, allow_blank=True, max_length=120)
    audit_reports = AuditReportInput(many=True, required=False)
    tvl_usd = MoneyInputField(positive=False, required=False, allow_null=True)
    yield_source = serializers.CharField(required=False, allow_blank=True)
    risk_rationale = serializers.CharField(required=False, allow_blank=True)
    yield_source_zh_hant = serializers.CharField(required=False, allow_blank=True)
    risk_rationale_zh_hant = serializers.CharField(required=False, allow_blank=True)
    reviewer_notes = serializers.CharField(required=False, allow_blank=True)


class StaffTierOutput(serializers.Serializer):
    lower = ScaledAmountField()
    upper = ScaledAmountField(allow_null=True, help_text="null: no upper bound")
    apr = RateField()


class TermsOutput(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    effective_from = serializers.DateField()
    term_days = serializers.IntegerField(allow_null=True)
    day_count_basis = serializers.IntegerField()
    payout = serializers.CharField()
    min_amount = ScaledAmountField(scale_from="product.asset.scale")
    max_amount = ScaledAmountField(scale_from="product.asset.scale", allow_null=True)
    per_user_cap = ScaledAmountField(scale_from="product.asset.scale", allow_null=True)
    total_cap = ScaledAmountField(scale_from="product.asset.scale", allow_null=True)
    window_start = serializers.DateTimeField(allow_null=True)
    window_end = serializers.DateTimeField(allow_null=True)
    early_redemption = serializers.CharField()
    penalty_apr = RateField(allow_null=True)
    redemption_modes = serializers.ListField(child=serializers.CharField())
    auto_renew_allowed = serializers.BooleanField()
    tiers = serializers.SerializerMethodField()
    drafted_by = serializers.EmailField(source="drafted_by.email")
    approved_by = serializers.EmailField(source="approved_by.email", allow_null=True, default=None)
    approved_at = serializers.DateTimeField(allow_null=True)
    rejection_reason = serializers.CharField()

    @extend_schema_field(StaffTierOutput(many=True))
    def get_tiers(self, terms: ProductTerms) -> list[dict]:
        scale = terms.product.asset.scale
        # many=True makes a ListSerializer, whose data is a list; the stubs type every serializer's data a dict
        return StaffTierOutput([{"lower": t.lower, "upper": t.upper, "apr": t.apr, "scale": scale}  # type: ignore[return-value]
                                for t in terms.tiers.all()], many=True).data


class StaffProductOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    name_en = serializers.CharField()
    name_zh_hant = serializers.CharField()
    asset = serializers.CharField(source="asset_id")
    term_type = serializers.CharField()
    strategy = serializers.CharField()
    category = serializers.CharField()
    risk_rating = serializers.IntegerField()
    venue = serializers.CharField()
    counterparty = serializers.CharField()
    chain = serializers.CharField()
    contract_address = serializers.CharField()
    audit_reports = AuditReportsField()
    il_alert_threshold = RateField(allow_null=True)
    tvl_usd = RateField(allow_null=True)
    yield_source = serializers.CharField()
    risk_rationale = serializers.CharField()
    yield_source_zh_hant = serializers.CharField()
    risk_rationale_zh_hant = serializers.CharField()
    reviewer_notes = serializers.CharField()
    vetting_missing = serializers.SerializerMethodField()
    total_cap = ScaledAmountField(scale_from="asset.scale", allow_null=True)
    sold_amount = ScaledAmountField(scale_from="asset.scale")
    drafted_by = serializers.EmailField(source="drafted_by.email")
    approved_by = serializers.EmailField(source="approved_by.email", allow_null=True, default=None)
    approved_at = serializers.DateTimeField(allow_null=True)
    rejection_reason = serializers.CharField()
    terms_versions = serializers.SerializerMethodField()

    def get_vetting_missing(self, product: Product) -> list[str]:
        return selectors.vetting_missing(product)

    @extend_schema_field(TermsOutput(many=True))
    def get_terms_versions(self, product: Product) -> list[dict]:
        versions = product.terms_versions.select_related("drafted_by", "approved_by").prefetch_related("tiers")
        # many=True makes a ListSerializer, whose data is a list; the stubs type every serializer's data a dict
        return TermsOutput(versions.order_by("version"), many=True).data  # type: ignore[return-value]


def _staff_product(product_id: int) -> Product:
    product = Product.objects.select_related("drafted_by", "approved_by").filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("No such product."))
    return product


class StaffProductCreateApi(APIView):
    """Draft a product: identity, vetting data, terms v1 and its marginal APR tiers (curators)."""

    permission_classes = [IsAuthenticated, role_required(roles.CURATOR)]

    class InputSerializer(serializers.Serializer):
        name_en = serializers.CharField(max_length=120)
        name_zh_hant = serializers.CharField(max_length=120)
        asset = serializers.CharField(max_length=16)
        term_type = serializers.ChoiceField(choices=TermType.choices)
        strategy = serializers.ChoiceField(choices=Strategy.choices, default=Strategy.SIMPLE)
        category = serializers.ChoiceField(choices=Category.choices, required=False,
                                           help_text="default: liquidity_mining for pools, else lending")
        risk_rating = serializers.IntegerField(min_value=1, max_value=5)
        vetting = VettingInput(required=False)
        terms = TermsInput()
        tiers = TierInput(many=True, allow_empty=False)

    @extend_schema(request=InputSerializer, responses={201: StaffProductOutput}, tags=["staff"],
                   operation_id="staff_product_create")
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        vetting = v.pop("vetting", {})
        if "audit_reports" in vetting:
            vetting["audit_reports"] = [{**r, "date": r["date"].isoformat()} for r in vetting["audit_reports"]]
        product = services.product_create(actor=request.user, terms=v.pop("terms"), tiers=v.pop("tiers"),
                                          **v, **vetting)
        return Response(StaffProductOutput(_staff_product(product.pk)).data, status=status.HTTP_201_CREATED)


class StaffProductDetailApi(APIView):
    """A product with its vetting data, checklist gaps and every terms version (any staff role)."""

    permission_classes = [IsAuthenticated, ANY_STAFF]

    @extend_schema(responses=StaffProductOutput, tags=["staff"], operation_id="staff_product_detail")
    def get(self, request: Request, product_id: int) -> Response:
        return Response(StaffProductOutput(_staff_product(product_id)).data)


class _TransitionApi(APIView):
    """Base for the lifecycle endpoints: one subclass per action."""

    action = ""

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, default="",
                                       help_text="Required to reject; optional notes otherwise.")

    def transition(self, request: AuthenticatedRequest, product_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.product_transition(actor=request.user, product=product_id, action=self.action,
                                    reason=data.validated_data["reason"])
        return Response(StaffProductOutput(_staff_product(product_id)).data)


def _transition_schema(action: str, doc: str) -> Any:
    return extend_schema(request=_TransitionApi.InputSerializer, responses=StaffProductOutput, tags=["staff"],
                         operation_id=f"staff_product_{action}", description=doc)


class StaffProductSubmitApi(_TransitionApi):
    """draft → in_review (curators); the vetting checklist must be complete."""

    action = "submit"
    permission_classes = [IsAuthenticated, role_required(roles.CURATOR)]

    @_transition_schema("submit", "draft → in_review")
    def post(self, request: AuthenticatedRequest, product_id: int) -> Response:
        return self.transition(request, product_id)


class StaffProductApproveApi(_TransitionApi):
    """in_review → approved (approvers; never the drafter or last editor)."""

    action = "approve"
    permission_classes = [IsAuthenticated, role_required(roles.APPROVER)]

    @_transition_schema("approve", "in_review → approved; `reason` is kept as reviewer's notes")
    def post(self, request: AuthenticatedRequest, product_id: int) -> Response:
        return self.transition(request, product_id)


class StaffProductRejectApi(_TransitionApi):
    """in_review → draft with a reason (approvers)."""

    action = "reject"
    permission_classes = [IsAuthenticated, role_required(roles.APPROVER)]

    @_transition_schema("reject", "in_review → draft; `reason` is required")
    def post(self, request: AuthenticatedRequest, product_id: int) -> Response:
        return self.transition(request, product_id)


class StaffProductGoLiveApi(_TransitionApi):
    """approved → live, or paused → live (resume); needs a current approved disclosure (operations)."""

    action = "go_live"
    permission_classes = [IsAuthenticated, role_required(roles.OPERATIONS)]

    @_transition_schema("go_live", "approved|paused → live")
    def post(self, request: AuthenticatedRequest, product_id: int) -> Response:
        return self.transition(request, product_id)


class StaffProductPauseApi(_TransitionApi):
    action = "pause"
    permission_classes = [IsAuthenticated, role_required(roles.OPERATIONS)]

    @_transition_schema("pause", "live → paused")
    def post(self, request: AuthenticatedRequest, product_id: int) -> Response:
        return self.transition(request, product_id)


class StaffProductCloseApi(_TransitionApi):
    action = "close"
    permission_classes = [IsAuthenticated, role_required(roles.OPERATIONS)]

    @_transition_schema("close", "approved|live|paused → closed")
    def post(self, request: AuthenticatedRequest, product_id: int) -> Response:
        return self.transition(request, product_id)


def _terms_of(product_id: int, version: int) -> ProductTerms:
    terms = ProductTerms.objects.filter(product_id=product_id, version=version).first()
    if terms is None:
        raise NotFound(_("No such terms version."))
    return terms


def _terms_output(terms_id: int) -> dict:
    terms = ProductTerms.objects.select_related("drafted_by", "approved_by").prefetch_related("tiers").get(pk=terms_id)
    return TermsOutput(terms).data


class StaffTermsProposeApi(APIView):
    """A new terms version (pending) for an approved/live/paused product; it needs approval (curators)."""

    permission_classes = [IsAuthenticated, role_required(roles.CURATOR)]

    class InputSerializer(TermsInput):
        tiers = TierInput(many=True, allow_empty=False)

    @extend_schema(request=InputSerializer, responses={201: TermsOutput}, tags=["staff"],
                   operation_id="staff_terms_propose")
    def post(self, request: AuthenticatedRequest, product_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        tiers = v.pop("tiers")
        terms = terms_services.product_terms_propose(actor=request.user, product=product_id, terms=v, tiers=tiers)
        return Response(_terms_output(terms.pk), status=status.HTTP_201_CREATED)


class StaffTermsApproveApi(APIView):
    """Approve a pending terms version (approvers; never its drafter)."""

    permission_classes = [IsAuthenticated, role_required(roles.APPROVER)]

    @extend_schema(request=None, responses=TermsOutput, tags=["staff"], operation_id="staff_terms_approve")
    def post(self, request: AuthenticatedRequest, product_id: int, version: int) -> Response:
        terms = terms_services.product_terms_approve(actor=request.user, terms=_terms_of(product_id, version))
        return Response(_terms_output(terms.pk))


class StaffTermsRejectApi(APIView):
    """Reject a pending terms version with a reason (approvers)."""

    permission_classes = [IsAuthenticated, role_required(roles.APPROVER)]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=TermsOutput, tags=["staff"], operation_id="staff_terms_reject")
    def post(self, request: AuthenticatedRequest, product_id: int, version: int) -> Response:
        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            raise ValidationFailed(str(_("Give a reason for the rejection.")), field="reason")
        terms = terms_services.product_terms_reject(actor=request.user, terms=_terms_of(product_id, version),
                                                    reason=data.validated_data["reason"])
        return Response(_terms_output(terms.pk))


urlpatterns = [
    path("staff/products", StaffProductCreateApi.as_view(), name="staff-product-create"),
    path("staff/products/<int:product_id>", StaffProductDetailApi.as_view(), name="staff-product-detail"),
    path("staff/products/<int:product_id>/submit", StaffProductSubmitApi.as_view(), name="staff-product-submit"),
    path("staff/products/<int:product_id>/approve", StaffProductApproveApi.as_view(), name="staff-product-approve"),
    path("staff/products/<int:product_id>/reject", StaffProductRejectApi.as_view(), name="staff-product-reject"),
    path("staff/products/<int:product_id>/go-live", StaffProductGoLiveApi.as_view(), name="staff-product-go-live"),
    path("staff/products/<int:product_id>/pause", StaffProductPauseApi.as_view(), name="staff-product-pause"),
    path("staff/products/<int:product_id>/close", StaffProductCloseApi.as_view(), name="staff-product-close"),
    path("staff/products/<int:product_id>/terms", StaffTermsProposeApi.as_view(), name="staff-terms-propose"),
    path("staff/products/<int:product_id>/terms/<int:version>/approve", StaffTermsApproveApi.as_view(),
         name="staff-terms-approve"),
    path("staff/products/<int:product_id>/terms/<int:version>/reject", StaffTermsRejectApi.as_view(),
         name="staff-terms-reject"),
]
