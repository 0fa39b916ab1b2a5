"""Admin console: customers' KYC (verify / reject) and residence change requests (approve / reject).

Compliance officers act through admin actions that call `accounts.kyc`, so the role check, "the requester
is never the decider" and the audit events are the same whatever the entry point. Nothing here edits a
field directly.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from accounts import kyc
from accounts.models import KycCustomer, KycWebhookEvent, ResidenceChangeRequest
from accounts.roles import COMPLIANCE_OFFICER, user_has_role
from core.admin import ReadOnlyAdmin, ReadOnlyAdminMixin
from earn.admin import run_confirmed


class ComplianceActionsMixin:
    def has_decide_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, COMPLIANCE_OFFICER)


@admin.register(KycCustomer)
class KycCustomerAdmin(ComplianceActionsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Customers' KYC facts, read-only; "verify KYC" and "reject KYC" are the only ways to change them here."""

    list_display = ["email", "country", "declared_country", "kyc_status", "kyc_verified_at", "kyc_verified_by",
                    "kyc_source", "date_joined"]
    list_filter = ["kyc_status", "kyc_source", "country"]
    list_select_related = ["kyc_verified_by"]
    search_fields = ["email"]
    fields = ["email", "display_name", "country", "declared_country", "kyc_status", "kyc_verified_at",
              "kyc_verified_by", "kyc_source", "date_joined"]
    readonly_fields = fields
    actions = ["verify_kyc", "reject_kyc"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).filter(is_staff=False)

    def _details(self, user: KycCustomer) -> list[tuple[str, Any]]:
        return [(_("declared country"), user.declared_country or "—"), (_("country on file"), user.country),
                (_("KYC status"), user.get_kyc_status_display())]

    @admin.action(description=_("Verify KYC (the declared country becomes the verified residence)"),
                  permissions=["decide"])
    def verify_kyc(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return run_confirmed(self, request, queryset, action="verify_kyc", label=str(_("verify KYC")),
                             details=self._details,
                             call=lambda u, _r: kyc.kyc_verify(actor=request.user, user_id=u.pk))

    @admin.action(description=_("Reject KYC (with reason)"), permissions=["decide"])
    def reject_kyc(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return run_confirmed(self, request, queryset, action="reject_kyc", label=str(_("reject KYC")),
                             details=self._details, needs_reason=True,
                             call=lambda u, r: kyc.kyc_reject(actor=request.user, user_id=u.pk, reason=r))


@admin.register(ResidenceChangeRequest)
class ResidenceChangeRequestAdmin(ComplianceActionsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "user", "current_country", "requested_country", "current_investor_class",
                    "requested_investor_class", "status", "decided_by", "decided_at"]
    list_filter = ["status", "requested_country"]
    list_select_related = ["user", "decided_by"]
    search_fields = ["user__email"]
    date_hierarchy = "created_at"
    fields = ["user", "created_at", "current_country", "requested_country", "current_investor_class",
              "requested_investor_class", "reason", "status", "decided_by", "decided_at", "decision_note"]
    readonly_fields = fields
    actions = ["approve_selected", "reject_selected"]

    def _details(self, r: ResidenceChangeRequest) -> list[tuple[str, Any]]:
        return [(_("customer"), r.user), (_("country"), f"{r.current_country} → {r.requested_country or '='}"),
                (_("investor class"), f"{r.current_investor_class} → {r.requested_investor_class or '='}"),
                (_("reason"), r.reason)]

    @admin.action(description=_("Approve (the new residence applies at once)"), permissions=["decide"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return run_confirmed(self, request, queryset.select_related("user"), action="approve_selected",
                             label=str(_("approve residence change")), details=self._details,
                             call=lambda r, note: kyc.residence_request_approve(actor=request.user, request_id=r.pk,
                                                                                note=note))

    @admin.action(description=_("Reject (with reason)"), permissions=["decide"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return run_confirmed(self, request, queryset.select_related("user"), action="reject_selected",
                             label=str(_("reject residence change")), details=self._details, needs_reason=True,
                             call=lambda r, note: kyc.residence_request_reject(actor=request.user, request_id=r.pk,
                                                                               note=note))


@admin.register(KycWebhookEvent)
class KycWebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "event_id", "user", "status"]
    list_filter = ["status"]
    list_select_related = ["user"]
    search_fields = ["event_id", "user__email"]
    date_hierarchy = "received_at"
