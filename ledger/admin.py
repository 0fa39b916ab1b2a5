"""Ledger admin: assets are editable; accounts, entries and postings are read-only.

Ledger rows are never corrected in place (PostgreSQL refuses it anyway): a correction is a
reversing entry posted through `ledger.services`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.requests import request_user
from accounts.roles import OPERATIONS, user_has_role
from core.admin import ReadOnlyAdminMixin
from core.errors import ApplicationError
from ledger.deposits import staff_deposit_approve, staff_deposit_reject
from ledger.models import Asset, JournalEntry, LedgerAccount, PendingDeposit, Posting


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "scale"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Asset | None = None) -> list[str]:
        # Changing an asset's code or scale would re-interpret every amount already posted in it.
        return ["code", "scale"] if obj is not None else []


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "owner", "asset", "kind", "balance", "postings_link", "created_at"]
    list_filter = ["kind", "asset"]
    list_select_related = ["owner", "asset"]
    search_fields = ["=id", "owner__email"]
    fields = ("owner", "asset", "kind", "balance", "created_at", "postings_link")
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description=_("postings"))
    def postings_link(self, obj: LedgerAccount) -> str:
        url = reverse("admin:ledger_posting_changelist") + f"?account={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("postings"))


class PostingInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Posting
    fields = ("account", "asset", "side", "amount", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "idempotency_key", "reference", "created_at"]
    list_filter = ["kind"]
    search_fields = ["=id", "idempotency_key", "reference"]
    date_hierarchy = "created_at"
    fields = ("kind", "idempotency_key", "reference", "memo", "fingerprint", "created_at")
    readonly_fields = fields
    inlines = [PostingInline]
    show_full_result_count = False


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "entry", "account", "asset", "side", "amount", "created_at"]
    list_filter = ["side", "asset", "account__kind", "entry__kind"]
    list_select_related = ["entry", "account", "account__owner", "asset"]
    search_fields = ["entry__idempotency_key", "entry__reference"]
    fields = ("entry", "account", "asset", "side", "amount", "created_at")
    readonly_fields = fields
    show_full_result_count = False


class PendingDepositDecisionForm(forms.Form):
    otp = forms.CharField(label=_("One-time code"), max_length=16, strip=True,
                          widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))
    reason = forms.CharField(label=_("Notes (optional)"), required=False, max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


@admin.register(PendingDeposit)
class PendingDepositAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Four-eyes deposits: operations staff other than the requester approve or reject, with a fresh code."""

    list_display = ("id", "user", "asset", "amount", "usd_value", "reference", "status", "requested_by",
                    "requested_at", "decided_by", "decided_at")
    list_filter = ["status", "asset"]
    list_select_related = ["user", "asset", "requested_by", "decided_by"]
    search_fields = ["=id", "reference", "user__email"]
    fields = (*list_display[1:], "entry")
    readonly_fields = fields
    actions = ["approve_selected", "reject_selected"]
    show_full_result_count = False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, OPERATIONS) and request.user.has_perm("ledger.post_deposit")

    @admin.action(description=_("Approve the selected deposit request (second operator)"), permissions=["decide"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._decide(request, queryset, action="approve_selected", label=str(_("approve")),
                            call=lambda pending, data: staff_deposit_approve(actor=request_user(request),
                                                                             pending_id=pending.pk, otp=data["otp"]))

    @admin.action(description=_("Reject the selected deposit request (second operator)"), permissions=["decide"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._decide(request, queryset, action="reject_selected", label=str(_("reject")),
                            call=lambda pending, data: staff_deposit_reject(actor=request_user(request),
                                                                            pending_id=pending.pk, otp=data["otp"],
                                                                            reason=data["reason"]))

    def _decide(self, request: HttpRequest, queryset: QuerySet, *, action: str, label: str,
                call: Any) -> HttpResponse | None:
        """One request at a time: each decision is a money move and uses up its own one-time code."""
        selected = list(queryset[:2])
        if len(selected) != 1:
            self.message_user(request, _("Select exactly one deposit request: each decision needs its own code."),
                              messages.ERROR)
            return None
        pending = selected[0]
        form = PendingDepositDecisionForm(request.POST if request.POST.get("confirm") == "yes" else None)
        if form.is_valid():
            try:
                call(pending, form.cleaned_data)
            except ApplicationError as exc:
                self.message_user(request, f"{pending}: {exc.message} ({exc.code})", messages.ERROR)
            else:
                self.message_user(request, _("%(obj)s: %(label)s done.") % {"obj": pending, "label": label},
                                  messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Confirm: %(label)s") % {"label": label},
            "opts": self.model._meta,
            "pending": pending,
            "details": [(_("customer"), pending.user), (_("amount"), f"{pending.amount} {pending.asset_id}"),
                        (_("USD value"), pending.usd_value), (_("reference"), pending.reference),
                        (_("requested by"), pending.requested_by), (_("requested at"), pending.requested_at)],
            "form": form,
            "action": action,
            "label": label,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/ledger/pendingdeposit/decide.html", context)
