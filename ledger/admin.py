"""Ledger admin: assets are editable; accounts, entries and postings are read-only.

Ledger rows are never corrected in place (PostgreSQL refuses it anyway): a correction is a
reversing entry posted through `ledger.services`.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin
from ledger.models import Asset, JournalEntry, LedgerAccount, Posting


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
    fields = ["owner", "asset", "kind", "balance", "created_at", "postings_link"]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description=_("postings"))
    def postings_link(self, obj: LedgerAccount) -> str:
        url = reverse("admin:ledger_posting_changelist") + f"?account={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("postings"))


class PostingInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Posting
    fields = ["account", "asset", "side", "amount", "created_at"]
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
    fields = ["kind", "idempotency_key", "reference", "memo", "fingerprint", "created_at"]
    readonly_fields = fields
    inlines = [PostingInline]
    show_full_result_count = False


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "entry", "account", "asset", "side", "amount", "created_at"]
    list_filter = ["side", "asset", "account__kind", "entry__kind"]
    list_select_related = ["entry", "account", "account__owner", "asset"]
    search_fields = ["entry__idempotency_key", "entry__reference"]
    fields = ["entry", "account", "asset", "side", "amount", "created_at"]
    readonly_fields = fields
    show_full_result_count = False
