"""Admin for accounts: customers' KYC and residence change requests, API tokens by prefix and expiry.

Compliance officers act through admin actions that call `accounts.kyc`, so the role check, "the requester
is never the decider" and the audit events are the same whatever the entry point. No page shows a key,
a TOTP secret or a recovery code.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

# Imported first so that their admin registrations exist and can be taken back below; autodiscover
# imports these modules after this one (INSTALLED_APPS order) and finds them already loaded.
from django_otp.plugins.otp_static import admin as _otp_static_admin  # noqa: F401
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp import admin as _otp_totp_admin  # noqa: F401
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import kyc
from accounts.models import ApiToken, KycCustomer, KycWebhookEvent, ResidenceChangeRequest
from accounts.roles import COMPLIANCE_OFFICER, user_has_role
from accounts.tokens import api_token_revoke
from core.admin import ReadOnlyAdmin, ReadOnlyAdminMixin, run_confirmed

# django-otp's admins show (or let one add and read back) TOTP keys, QR codes and recovery codes.
for _model in (TOTPDevice, StaticDevice, StaticToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only: who holds which token (by prefix) until when; revoking is audited."""

    list_display = ["prefix", "name", "user", "created_at", "expires_at", "last_used_at"]
    list_filter = ["expires_at"]
    search_fields = ["prefix", "user__email", "name"]
    fields = ["user", "name", "prefix", "created_at", "expires_at", "last_used_at"]
    readonly_fields = fields
    list_select_related = ["user"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a key is shown once, to its owner: tokens are made on the portal or the API

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False  # revoke through the action, which writes the audit event

    @admin.action(description=_("Revoke the selected tokens"), permissions=["view"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        if not request.user.has_perm("accounts.delete_apitoken"):
            self.message_user(request, _("You may not revoke API tokens."), messages.ERROR)
            return
        count = 0
        for token in queryset.select_related("user"):
            api_token_revoke(user=token.user, token_id=token.pk, actor=request.user)
            count += 1
        self.message_user(request, ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count)
                          % {"count": count}, messages.SUCCESS)


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
                             reason_label=str(_("Reason (kept in the audit trail; not shown to the customer)")),
                             call=lambda u, r: kyc.kyc_reject(actor=request.user, user_id=u.pk, reason=r))


@admin.register(ResidenceChangeRequest)
class ResidenceChangeRequestAdmin(ComplianceActionsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    # The status and the change asked for come first: they must show without scrolling sideways.
    list_display = ["id", "created_at", "user", "status", "current_country", "requested_country",
                    "current_investor_class", "requested_investor_class", "decided_by", "decided_at"]
    list_filter = ["status", "requested_country"]
    list_select_related = ["user", "decided_by"]
    search_fields = ["user__email"]
    date_hierarchy = "created_at"
    fields = ["user", "created_at", "current_country", "requested_country", "current_investor_class",
              "requested_investor_class", "reason", "status", "decided_by", "decided_at", "decision_note"]
    readonly_fields = fields
    actions = ["approve_selected", "reject_selected"]

    def _details(self, r: ResidenceChangeRequest) -> list[tuple[str, Any]]:
        unchanged = _("no change")
        return [(_("customer"), r.user),
                (_("country"), f"{r.current_country} → {r.requested_country or unchanged}"),
                (_("investor class"), f"{r.current_investor_class} → {r.requested_investor_class or unchanged}"),
                (_("reason"), r.reason)]

    @admin.action(description=_("Approve (the new residence applies at once)"), permissions=["decide"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return run_confirmed(self, request, queryset.select_related("user"), action="approve_selected",
                             label=str(_("approve residence change")), details=self._details,
                             reason_label=str(_("Note (optional; shown to the customer)")),
                             call=lambda r, note: kyc.residence_request_approve(actor=request.user, request_id=r.pk,
                                                                                note=note))

    @admin.action(description=_("Reject (with reason)"), permissions=["decide"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return run_confirmed(self, request, queryset.select_related("user"), action="reject_selected",
                             label=str(_("reject residence change")), details=self._details, needs_reason=True,
                             reason_label=str(_("Reason (shown to the customer)")),
                             call=lambda r, note: kyc.residence_request_reject(actor=request.user, request_id=r.pk,
                                                                               note=note))


@admin.register(KycWebhookEvent)
class KycWebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "event_id", "user", "status"]
    list_filter = ["status"]
    list_select_related = ["user"]
    search_fields = ["event_id", "user__email"]
    date_hierarchy = "received_at"
