"""Admin for disclosures (draft, side-by-side preview, approve/reject) and the read-only audit trail.

Writes go through `compliance.services.disclosures`, so maker ≠ checker, versioning and audit
events are the same as through the staff API.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html, format_html_join, linebreaks
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from compliance.models import AuditEvent, Disclosure, DisclosureStatus
from compliance.services import disclosures as services
from core.errors import ApplicationError
from earn.admin import run_confirmed
from earn.models import Product, ProductStatus

CONTENT_FIELDS = ["body_en", "body_zh_hant", "risk_statements"]


class DisclosureForm(forms.ModelForm):
    """Bodies and the product's own statements; the standard ones are added by the service."""

    class Meta:
        model = Disclosure
        fields = ["product", *CONTENT_FIELDS]
        help_texts = {"risk_statements": _('Product-specific statements only, as JSON: '
                                           '[{"key": "slashing", "en": "…", "zh-hant": "…"}]. Standard risks '
                                           '(smart contract, lock-up, impermanent loss, deposit protection, '
                                           'rate changes) and the English-prevails clause are added automatically.')}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "product" in self.fields:
            self.fields["product"].queryset = Product.objects.exclude(status=ProductStatus.CLOSED)
        if self.instance.pk and "risk_statements" in self.fields:
            own = services._own_statements(self.instance, self.instance.product)
            self.initial["risk_statements"] = own
        if "risk_statements" in self.fields:
            self.fields["risk_statements"].required = False


@admin.register(Disclosure)
class DisclosureAdmin(admin.ModelAdmin):
    form = DisclosureForm
    change_form_template = "admin/compliance/disclosure/change_form.html"
    list_display = ["product", "version", "status", "author", "approved_by", "approved_at", "short_hash"]
    list_filter = ["status", "product__term_type", "product__asset"]
    list_select_related = ["product", "author", "approved_by"]
    search_fields = ["product__name_en", "sha256"]
    actions = ["approve_selected", "reject_selected"]
    review_fields = ["version", "status", "sha256", "author", "approved_by", "approved_at", "rejection_reason"]

    def get_fieldsets(self, request: HttpRequest, obj: Disclosure | None = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["product", *CONTENT_FIELDS]})]
        return [
            (_("Preview (English | 繁體中文)"), {"fields": ["preview"]}),
            (_("Content"), {"fields": ["product", *CONTENT_FIELDS], "classes": ["collapse"]}),
            (_("Review"), {"fields": self.review_fields}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Disclosure | None = None) -> list[str]:
        if obj is None:
            return []
        editable = obj.status == DisclosureStatus.DRAFT and self.has_change_permission(request, obj)
        return ["preview", "product", *self.review_fields, *([] if editable else CONTENT_FIELDS)]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # versions are kept forever: acknowledgements point at them

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("compliance.approve_disclosure")

    @admin.display(description="sha256")
    def short_hash(self, disclosure: Disclosure) -> str:
        return disclosure.sha256[:12] + "…"

    @admin.display(description=_("side-by-side preview"))
    def preview(self, disclosure: Disclosure) -> str:
        """English and Traditional Chinese in two columns, statement by statement, as customers see them."""
        statements = format_html_join(
            "", '<tr><td>☐ {}</td><td>☐ {}</td><td><code>{}</code></td></tr>',
            ((s["en"], s["zh-hant"], s["key"]) for s in disclosure.risk_statements))
        return format_html(
            '<table class="disclosure-preview" style="width:100%;table-layout:fixed">'
            '<thead><tr><th lang="en">English</th><th lang="zh-Hant">繁體中文</th><th style="width:12em">{}</th>'
            '</tr></thead><tbody><tr><td lang="en">{}</td><td lang="zh-Hant">{}</td><td></td></tr>{}</tbody></table>',
            _("statement key"), mark_safe(linebreaks(disclosure.body_en, autoescape=True)),  # noqa: S308 - escaped
            mark_safe(linebreaks(disclosure.body_zh_hant, autoescape=True)), statements,  # noqa: S308 - escaped
        )

    def save_model(self, request: HttpRequest, obj: Disclosure, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        statements = data.get("risk_statements") or []
        if isinstance(statements, str):
            statements = json.loads(statements)
        if change:
            changed = {f: data[f] for f in form.changed_data if f in CONTENT_FIELDS}
            if changed:
                services.disclosure_update(actor=request.user, disclosure=obj.pk,
                                           body_en=changed.get("body_en"), body_zh_hant=changed.get("body_zh_hant"),
                                           risk_statements=statements if "risk_statements" in changed else None)
        else:
            created = services.disclosure_draft(actor=request.user, product=data["product"], body_en=data["body_en"],
                                                body_zh_hant=data["body_zh_hant"], risk_statements=statements)
            obj.pk = created.pk
        obj.refresh_from_db()

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
                        extra_context: dict | None = None) -> HttpResponse:
        extra_context = extra_context or {}
        if object_id:
            disclosure = Disclosure.objects.filter(pk=object_id).select_related("author").first()
            if disclosure is not None and disclosure.status == DisclosureStatus.DRAFT \
                    and self.has_approve_permission(request):
                extra_context["workflow_buttons"] = [{"action": "approve_selected", "label": _("Approve")},
                                                     {"action": "reject_selected", "label": _("Reject")}]
            extra_context["author"] = disclosure.author if disclosure else None
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, f"{exc.message} ({exc.code})", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def _details(self, disclosure: Disclosure) -> list[tuple[str, Any]]:
        current = Disclosure.objects.filter(product_id=disclosure.product_id, status=DisclosureStatus.CURRENT).first()
        return [(_("product"), disclosure.product), (_("version"), disclosure.version),
                (_("author"), disclosure.author), (_("sha256"), disclosure.sha256),
                (_("statements"), ", ".join(s["key"] for s in disclosure.risk_statements)),
                (_("supersedes"), f"v{current.version}" if current else "—")]

    @admin.action(description=_("Approve (becomes current)"), permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return run_confirmed(self, request, queryset.select_related("product", "author"), action="approve_selected",
                             label=str(_("approve disclosure")), details=self._details,
                             call=lambda d, _r: services.disclosure_approve(actor=request.user, disclosure=d.pk))

    @admin.action(description=_("Reject (with reason)"), permissions=["approve"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return run_confirmed(self, request, queryset.select_related("product", "author"), action="reject_selected",
                             label=str(_("reject disclosure")), details=self._details, needs_reason=True,
                             call=lambda d, r: services.disclosure_reject(actor=request.user, disclosure=d.pk,
                                                                         reason=r))


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, read-only for everyone (PostgreSQL refuses UPDATE and DELETE anyway)."""

    list_display = ["sequence", "created_at", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    list_select_related = ["actor"]
    search_fields = ["=object_id", "actor__email", "action"]
    date_hierarchy = "created_at"
    fields = ["sequence", "created_at", "actor", "action", "object_type", "object_id", "before_pretty",
              "after_pretty", "prev_hash", "hash"]
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("before"))
    def before_pretty(self, event: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.before, indent=2, ensure_ascii=False))

    @admin.display(description=_("after"))
    def after_pretty(self, event: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.after, indent=2, ensure_ascii=False))
