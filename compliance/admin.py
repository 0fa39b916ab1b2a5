"""Admin: disclosures (draft, preview, approve/reject), the read-only audit trail and evidence, rules, complaints.

Writes go through `compliance.services.disclosures`, so maker ≠ checker, versioning and audit
events are the same as through the staff API.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.html import format_html, format_html_join, linebreaks
from django.utils.safestring import mark_safe
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import roles
from accounts.requests import request_user
from accounts.roles import user_has_role
from compliance.catalogue import CLOSED
from compliance.category_rules import DEFAULT_JURISDICTION
from compliance.category_selectors import rule_change_preview
from compliance.disclosure_templates import ordered_keys, section_title, template
from compliance.gate import restricted_countries
from compliance.models import (
    Acknowledgement,
    AssessmentAttempt,
    AssessmentQuestion,
    AuditEvent,
    CategoryRule,
    Complaint,
    CustomerProfile,
    Disclosure,
    DisclosureStatus,
    JurisdictionRule,
    Refusal,
)
from compliance.reports import KINDS
from compliance.selectors import exposure_limit_text, rules_summary
from compliance.services import complaints as complaint_services
from compliance.services import customers as customer_services
from compliance.services import disclosures as services
from compliance.services import reports as report_services
from compliance.services import rules as rule_services
from core.admin import ReadOnlyAdmin, ServiceRefusalsAsMessagesMixin, run_confirmed
from core.dates import day_end, day_start
from core.errors import ApplicationError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

CONTENT_FIELDS = ["body_en", "body_zh_hant", "risk_statements"]


def section_field(key: str, language: str) -> str:
    """The admin form field of one section in one language: section_<key>_en, section_<key>_zh_hant."""
    return f"section_{key}_{'zh_hant' if language == 'zh-hant' else 'en'}"


def section_form_fields(category: str) -> dict[str, forms.Field]:
    """Two text boxes per required section of the category, labelled with the title customers read and the
    drafter's guidance; they may be left empty in a draft (approval refuses until both are filled)."""
    fields: dict[str, forms.Field] = {}
    for section in template(category):
        fields[section_field(section.key, "en")] = forms.CharField(
            label=format_lazy("{} (English)", section.title), required=False, help_text=section.guidance,
            max_length=services.SECTION_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3, "lang": "en"}))
        fields[section_field(section.key, "zh-hant")] = forms.CharField(
            label=format_lazy("{} (繁體中文)", section.title), required=False,
            max_length=services.SECTION_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3, "lang": "zh-Hant"}))
    return fields


def _product_category(product_id: Any) -> str:
    """The category of a product chosen in the form (a plain field read through the disclosure's relation)."""
    if not str(product_id or "").isdigit():
        return ""
    product_model = Disclosure._meta.get_field("product").related_model
    return str(product_model._default_manager.filter(pk=int(product_id))  # type: ignore[union-attr]
               .values_list("category", flat=True).first() or "")


class DisclosureForm(forms.ModelForm):
    """Bodies and the product's own statements; the standard ones are added by the service."""

    class Meta:
        model = Disclosure
        fields = ["product", *CONTENT_FIELDS]
        help_texts = {"risk_statements": _('Product-specific statements only, as JSON: '
                                           '[{"key": "slashing", "en": "…", "zh-hant": "…"}]; a statement may '
                                           'add per-country wording for residents of that country: '
                                           '"jurisdictions": {"GB": {"en": "…", "zh-hant": "…"}}. Standard risks '
                                           '(smart contract, lock-up, impermanent loss, deposit protection, '
                                           'rate changes) and the English-prevails clause are added automatically.')}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "product" in self.fields:
            product_field = cast(forms.ModelChoiceField, self.fields["product"])
            assert product_field.queryset is not None  # a model form's foreign key field has one
            product_field.queryset = product_field.queryset.exclude(status=CLOSED)
        if self.instance.pk and "risk_statements" in self.fields:
            own = services._own_statements(self.instance, self.instance.product)
            self.initial["risk_statements"] = own
        if "risk_statements" in self.fields:
            self.fields["risk_statements"].required = False
        for key, text in (self.instance.sections or {}).items() if self.instance.pk else ():
            for language in ("en", "zh-hant"):
                if section_field(key, language) in self.fields:
                    self.initial[section_field(key, language)] = text.get(language, "")

    def sections(self, category: str) -> dict[str, dict[str, str]]:
        """{key: {en, zh-hant}} from the section boxes of the category's template."""
        data = self.cleaned_data
        return {section.key: {language: data.get(section_field(section.key, language)) or ""
                              for language in ("en", "zh-hant")} for section in template(category)}


@admin.register(Disclosure)
class DisclosureAdmin(ServiceRefusalsAsMessagesMixin, admin.ModelAdmin):
    form = DisclosureForm
    change_form_template = "admin/compliance/disclosure/change_form.html"
    list_display = ["product", "version", "status", "author", "approved_by", "approved_at", "short_hash"]
    list_filter = ["status", "product__term_type", "product__asset"]
    list_select_related = ["product", "author", "approved_by"]
    search_fields = ["product__name_en", "sha256"]
    actions = ["approve_selected", "reject_selected"]
    review_fields = ["version", "status", "sha256", "author", "approved_by", "approved_at", "rejection_reason"]

    def _category(self, request: HttpRequest, obj: Disclosure | None) -> str:
        """The category whose sections the form shows: the product's (now), or the one picked in ?product=."""
        if obj is not None:
            return services.product_category(obj.product)
        return _product_category(request.POST.get("product") or request.GET.get("product"))

    def _editable(self, request: HttpRequest, obj: Disclosure | None) -> bool:
        return obj is None or (obj.status == DisclosureStatus.DRAFT and self.has_change_permission(request, obj))

    def _sections_fieldset(self, request: HttpRequest, obj: Disclosure | None) -> list[tuple[Any, dict[str, Any]]]:
        category = self._category(request, obj)
        if not self._editable(request, obj):
            return []
        if not template(category):
            return [(_("Sections"), {"fields": [], "description": _(
                "Pick the product and save: the sections its category requires appear on the draft's page (or "
                "start from the product's “Draft disclosure” link).")})]
        rows = [(section_field(s.key, "en"), section_field(s.key, "zh-hant")) for s in template(category)]
        return [(format_lazy(_("Sections of a {} product (required in both languages to approve)"), category),
                 {"fields": rows})]

    def get_form(self, request: HttpRequest, obj: Disclosure | None = None, change: bool = False,
                 **kwargs: Any) -> Any:
        if self._editable(request, obj):  # the section boxes of the product's category, declared on the form
            kwargs["form"] = type("DisclosureSectionsForm", (self.form,),
                                  section_form_fields(self._category(request, obj)))
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Disclosure | None = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["product", *CONTENT_FIELDS]}), *self._sections_fieldset(request, obj)]
        return [
            (_("Preview (English | 繁體中文)"), {"fields": ["preview"]}),
            *self._sections_fieldset(request, obj),
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
        rows = []
        for s in disclosure.risk_statements:
            rows.append((s["en"], s["zh-hant"], s["key"]))
            for country, text in sorted((s.get("jurisdictions") or {}).items()):  # per-country sections
                rows.append((text["en"], text["zh-hant"], f"{s['key']} · {country}"))
        statements = format_html_join("", '<tr><td>☐ {}</td><td>☐ {}</td><td><code>{}</code></td></tr>', rows)
        sections = disclosure.sections or {}
        section_rows = []
        for key in ordered_keys(disclosure.category, sections):
            with translation.override("en"):
                title_en = str(section_title(key, disclosure.category))
            with translation.override("zh-hant"):
                title_zh = str(section_title(key, disclosure.category))
            section_rows.append((title_en, sections[key]["en"] or "—", title_zh, sections[key]["zh-hant"] or "—",
                                 key))
        section_html = format_html_join(
            "", '<tr><td lang="en"><strong>{}</strong><br>{}</td><td lang="zh-Hant"><strong>{}</strong><br>{}</td>'
                '<td><code>{}</code></td></tr>', section_rows)
        return format_html(
            '<table class="disclosure-preview" style="width:100%;table-layout:fixed">'
            '<thead><tr><th lang="en">English</th><th lang="zh-Hant">繁體中文</th><th style="width:12em">{}</th>'
            '</tr></thead><tbody><tr><td lang="en">{}</td><td lang="zh-Hant">{}</td><td></td></tr>{}{}</tbody>'
            '</table>',
            _("statement key"), mark_safe(linebreaks(disclosure.body_en, autoescape=True)),  # noqa: S308 - escaped
            mark_safe(linebreaks(disclosure.body_zh_hant, autoescape=True)), section_html,  # noqa: S308 - escaped
            statements,
        )

    def save_model(self, request: HttpRequest, obj: Disclosure, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        statements = data.get("risk_statements") or []
        if isinstance(statements, str):
            statements = json.loads(statements)
        category = self._category(request, obj if change else None)
        sections = form.sections(category) if isinstance(form, DisclosureForm) else {}
        if change:
            changed = {f: data[f] for f in form.changed_data if f in CONTENT_FIELDS}
            if changed or any(f.startswith("section_") for f in form.changed_data):
                # The boxes are the category's whole template: they replace the sections as a whole.
                services.disclosure_update(actor=request_user(request), disclosure=obj.pk,
                                           body_en=changed.get("body_en"), body_zh_hant=changed.get("body_zh_hant"),
                                           risk_statements=statements if "risk_statements" in changed else None,
                                           sections=sections)
        else:
            created = services.disclosure_draft(actor=request_user(request), product=data["product"],
                                                body_en=data["body_en"], body_zh_hant=data["body_zh_hant"],
                                                risk_statements=statements, sections=sections)
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
            if disclosure is not None and disclosure.status == DisclosureStatus.DRAFT:
                extra_context["missing_sections"] = services.sections_missing(disclosure, disclosure.product)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _details(self, disclosure: Disclosure) -> list[tuple[StrOrPromise, Any]]:
        current = Disclosure.objects.filter(product_id=disclosure.product_id, status=DisclosureStatus.CURRENT).first()
        return [(_("product"), disclosure.product), (_("version"), disclosure.version),
                (_("author"), disclosure.author), (_("sha256"), disclosure.sha256),
                (_("statements"), ", ".join(s["key"] for s in disclosure.risk_statements)),
                (_("sections"), ", ".join(disclosure.sections) or "—"),
                (_("missing sections (approval is refused)"),
                 ", ".join(services.sections_missing(disclosure, disclosure.product)) or "—"),
                (_("supersedes"), f"v{current.version}" if current else "—")]

    @admin.action(description=_("Approve (becomes current)"), permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return run_confirmed(self, request, queryset.select_related("product", "author"), action="approve_selected",
                             label=str(_("approve disclosure")), details=self._details,
                             call=lambda d, _r: services.disclosure_approve(actor=request_user(request),
                                                                            disclosure=d.pk))

    @admin.action(description=_("Reject (with reason)"), permissions=["approve"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return run_confirmed(self, request, queryset.select_related("product", "author"), action="reject_selected",
                             label=str(_("reject disclosure")), details=self._details, needs_reason=True,
                             call=lambda d, r: services.disclosure_reject(actor=request_user(request), disclosure=d.pk,
                                                                         reason=r))


class ActorFilter(admin.SimpleListFilter):
    title = _("actor")
    parameter_name = "actor_kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return [("staff", _("staff")), ("customer", _("customers")), ("system", _("system (jobs)"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "staff":
            return queryset.filter(actor__is_staff=True)
        if value == "customer":
            return queryset.filter(actor__is_staff=False)
        if value == "system":
            return queryset.filter(actor__isnull=True)
        return queryset


class ReportForm(forms.Form):
    kind = forms.ChoiceField(label=_("report"), choices=[(k.key, k.title) for k in KINDS.values()])
    start = forms.DateField(label=_("from"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("to"), widget=forms.DateInput(attrs={"type": "date"}))
    fmt = forms.ChoiceField(label=_("format"), choices=[("csv", "CSV"), ("pdf", "PDF")])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The last day is before the first day: swap them, or pick a later last day."))
        return data


def _reports_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponseBase:
    """The admin's report download page: kind, period, format; the export itself is audited."""
    if not user_has_role(request.user, roles.COMPLIANCE_OFFICER):
        raise DjangoPermissionDenied
    form = ReportForm(request.GET if "export" in request.GET else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        start, end = day_start(data["start"]), day_end(data["end"])
        try:
            export = report_services.report_export(actor=request_user(request), kind=data["kind"], start=start, end=end,
                                                   fmt=data["fmt"], channel="admin")
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            if export.format == "pdf":
                response: HttpResponseBase = HttpResponse(report_services.export_pdf(export),
                                                          content_type="application/pdf")
            else:
                response = StreamingHttpResponse(report_services.export_csv(export),
                                                 content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
            return response
    context = {**model_admin.admin_site.each_context(request), "title": _("Compliance reports"), "form": form,
               "rules": rules_summary(), "opts": model_admin.model._meta}
    return TemplateResponse(request, "admin/compliance/reports.html", context)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit trail, read-only for everyone (PostgreSQL refuses UPDATE and DELETE anyway)."""

    list_display = ["sequence", "created_at", "actor", "action", "object_type", "object_id"]
    list_filter = [ActorFilter, "action", "object_type"]
    list_select_related = ["actor"]
    search_fields = ["=object_id", "actor__email", "action"]
    change_list_template = "admin/compliance/auditevent/change_list.html"
    date_hierarchy = "created_at"
    fields = ("sequence", "created_at", "actor", "action", "object_type", "object_id", "before_pretty",
              "after_pretty", "prev_hash", "hash")
    readonly_fields = fields
    show_full_result_count = False

    def get_urls(self) -> list:
        reports = path("reports/", self.admin_site.admin_view(lambda request: _reports_view(self, request)),
                       name="compliance_reports")
        return [reports, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        can_export = user_has_role(request.user, roles.COMPLIANCE_OFFICER)
        return super().changelist_view(request, {**(extra_context or {}), "can_export_reports": can_export})

    @admin.display(description=_("before"))
    def before_pretty(self, event: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.before, indent=2, ensure_ascii=False))

    @admin.display(description=_("after"))
    def after_pretty(self, event: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.after, indent=2, ensure_ascii=False))


@admin.register(JurisdictionRule)
class JurisdictionRuleAdmin(admin.ModelAdmin):
    """What applies to whom. Every change is an audit event with before and after."""

    list_display = ["country", "assessment_min_risk", "pass_mark", "retake_wait_hours", "exposure_limit",
                    "shares", "professional_exempt", "cooling_off_hours", "risk_warnings", "updated_at"]
    readonly_fields = ["updated_at", "restricted_countries"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # switch a rule off instead; the trail of what applied stays readable

    @admin.display(description=_("shares of net worth"))
    def shares(self, rule: JurisdictionRule) -> str:
        return exposure_limit_text(rule.exposure_shares)

    @admin.display(description=_("restricted countries (settings)"))
    def restricted_countries(self, rule: JurisdictionRule | None = None) -> str:
        return ", ".join(sorted(restricted_countries()))

    def save_model(self, request: HttpRequest, obj: JurisdictionRule, form: forms.ModelForm, change: bool) -> None:
        before = rule_services.snapshot(JurisdictionRule.objects.get(pk=obj.pk)) if change else None
        rule_services.jurisdiction_rule_save(actor=request_user(request), rule=obj, before=before)


class CategoryRuleForm(forms.ModelForm):
    effective_from = forms.SplitDateTimeField(
        label=_("effective from"), required=False, widget=AdminSplitDateTime,
        help_text=_("Empty: as soon as you confirm. A version in force is never edited; a change is a new version."))

    class Meta:
        model = CategoryRule
        fields = ["jurisdiction", "category", "investor_class", "permitted", "max_risk_rating", "requires_assessment",
                  "effective_from", "notes"]

    def clean_jurisdiction(self) -> str:
        value = (self.cleaned_data.get("jurisdiction") or "").strip().upper()
        if value != DEFAULT_JURISDICTION and not (len(value) == 2 and value.isalpha() and value.isascii()):
            raise forms.ValidationError(_("A two-letter country code (ISO 3166-1), or * for the default."))
        return value

    def clean_effective_from(self) -> dt.datetime | None:
        value = self.cleaned_data.get("effective_from")
        if value is not None and value < timezone.now():
            raise forms.ValidationError(_("A rule cannot take effect in the past; leave the time empty for now."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # ModelForm.clean returns cleaned_data
        if not data.get("permitted") and (data.get("max_risk_rating") is not None or data.get("requires_assessment")):
            self.add_error("permitted", _("Conditions apply only to a category that may be offered."))
        return data


def _decision_text(decision: Any) -> StrOrPromise:
    if not decision.permitted:
        return _("not offered")
    rule = decision.rule or {}
    conditions = []
    if rule.get("max_risk_rating") is not None:
        conditions.append(str(_("risk rating %(n)s or lower") % {"n": rule["max_risk_rating"]}))
    if rule.get("requires_assessment"):
        conditions.append(str(_("passed assessment")))
    if decision.rule is None:
        return _("offered (no rule)")
    return _("offered") if not conditions else _("offered: %(c)s") % {"c": ", ".join(conditions)}


@admin.register(CategoryRule)
class CategoryRuleAdmin(ServiceRefusalsAsMessagesMixin, admin.ModelAdmin):
    """Who may be offered which product category. Saving shows first whom the change reaches (a confirm page);
    every change is an audit event; versions in force are read-only, a change is a new version."""

    form = CategoryRuleForm
    list_display = ["jurisdiction", "category", "investor_class", "permitted", "conditions", "effective_from",
                    "state", "created_by"]
    list_filter = ["jurisdiction", "category", "investor_class", "permitted"]
    list_select_related = ["created_by"]
    search_fields = ["=jurisdiction", "notes"]
    actions: list[Any] = []  # no bulk delete: a scheduled version is withdrawn one at a time (audited)

    def has_change_permission(self, request: HttpRequest, obj: CategoryRule | None = None) -> bool:
        in_force = obj is not None and obj.effective_from <= timezone.now()
        return not in_force and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: CategoryRule | None = None) -> bool:
        scheduled = obj is not None and obj.effective_from > timezone.now()
        return scheduled and super().has_delete_permission(request, obj)

    @admin.display(description=_("conditions"))
    def conditions(self, rule: CategoryRule) -> str:
        parts = []
        if rule.max_risk_rating is not None:
            parts.append(str(_("rating ≤ %(n)s") % {"n": rule.max_risk_rating}))
        if rule.requires_assessment:
            parts.append(str(_("assessment")))
        return ", ".join(parts) or "—"

    @admin.display(description=_("state"))
    def state(self, rule: CategoryRule) -> StrOrPromise:
        return _("scheduled") if rule.effective_from > timezone.now() else _("in force or superseded")

    def save_model(self, request: HttpRequest, obj: CategoryRule, form: forms.ModelForm, change: bool) -> None:
        rule_services.category_rule_save(actor=request_user(request), rule=obj)

    def delete_model(self, request: HttpRequest, obj: CategoryRule) -> None:
        rule_services.category_rule_withdraw(actor=request_user(request), rule=obj.pk)

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
                        extra_context: dict | None = None) -> HttpResponse:
        """A valid add or change is shown first with whom it reaches; the confirm page posts it again."""
        if request.method == "POST" and "_confirmed" not in request.POST:
            preview = self._preview(request, object_id)
            if preview is not None:
                return preview
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _preview(self, request: HttpRequest, object_id: str | None) -> HttpResponse | None:
        obj = self.get_object(request, object_id) if object_id else None
        allowed = self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
        if not allowed or (object_id and obj is None):
            return None  # the admin's own view answers (403 or 404)
        form = self.get_form(request, obj, change=obj is not None)(request.POST, instance=obj)
        if not form.is_valid():
            return None  # the admin's own view shows the errors
        data = form.cleaned_data
        figures = rule_change_preview(
            jurisdiction=data["jurisdiction"], category=data["category"], investor_class_=data["investor_class"],
            permitted=data["permitted"], max_risk_rating=data.get("max_risk_rating"),
            requires_assessment=data.get("requires_assessment", False),
            effective_from=data.get("effective_from") or timezone.now())
        fields = [(name, value) for name, values in request.POST.lists() if name != "csrfmiddlewaretoken"
                  for value in values]
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "media": self.media,
            "title": _("Confirm: %(label)s") % {"label": _("change category rule")},
            "label": _("change category rule"), "fields": fields, "figures": figures, "data": data,
            "current": _decision_text(figures["current"]), "new": _decision_text(figures["new"]),
            "when": data.get("effective_from") or _("as soon as you confirm"),
        }
        return TemplateResponse(request, "admin/compliance/categoryrule/confirm.html", context)


@admin.register(AssessmentQuestion)
class AssessmentQuestionAdmin(admin.ModelAdmin):
    list_display = ["jurisdiction", "position", "key", "topic", "kinds", "answer", "active"]
    list_filter = ["jurisdiction", "topic", "active"]
    search_fields = ["key", "text_en"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: stored answers refer to the key

    @admin.display(description=_("product kinds"))
    def kinds(self, question: AssessmentQuestion) -> StrOrPromise:
        return ", ".join(question.product_kinds) or _("all")

    def save_model(self, request: HttpRequest, obj: AssessmentQuestion, form: forms.ModelForm, change: bool) -> None:
        before = rule_services.snapshot(AssessmentQuestion.objects.get(pk=obj.pk)) if change else None
        rule_services.assessment_question_save(actor=request_user(request), question=obj, before=before)


class CustomerProfileForm(forms.ModelForm):
    class Meta:
        model = CustomerProfile
        fields = ["user", "risk_profile", "net_worth_usd", "professional_investor"]


@admin.register(CustomerProfile)
class CustomerProfileAdmin(admin.ModelAdmin):
    """Risk profile and declared net worth (HK), first view of Earn (GB); recorded through the service."""

    form = CustomerProfileForm
    list_display = ["user", "country", "risk_profile", "net_worth_usd", "professional_investor", "profiled_at",
                    "earn_first_viewed_at"]
    list_filter = ["risk_profile", "professional_investor", "user__country"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    readonly_fields = ["profiled_at", "earn_first_viewed_at"]
    raw_id_fields = ["user"]  # a select of every customer would not render

    def get_readonly_fields(self, request: HttpRequest, obj: CustomerProfile | None = None) -> list[str]:
        return [*self.readonly_fields, *(["user"] if obj else [])]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("country"), ordering="user__country")
    def country(self, profile: CustomerProfile) -> str:
        return profile.user.country

    def save_model(self, request: HttpRequest, obj: CustomerProfile, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        saved = customer_services.risk_profile_record(
            actor=request_user(request), user=data.get("user") or obj.user, risk_profile=data["risk_profile"],
            net_worth_usd=data["net_worth_usd"] if data["net_worth_usd"] is not None else 0,
            professional_investor=data["professional_investor"])
        obj.pk = saved.pk


@admin.register(AssessmentAttempt)
class AssessmentAttemptAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "user", "jurisdiction", "product_kind", "score", "total", "percent", "passed",
                    "retake_after"]
    list_filter = ["jurisdiction", "product_kind", "passed"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    date_hierarchy = "created_at"


@admin.register(Acknowledgement)
class AcknowledgementAdmin(ReadOnlyAdmin):
    list_display = ["id", "accepted_at", "user", "product", "disclosure_version", "previous_version", "language",
                    "ip_address"]
    list_filter = ["language"]
    list_select_related = ["user", "product"]
    search_fields = ["user__email", "sha256"]
    date_hierarchy = "accepted_at"
    show_full_result_count = False


@admin.register(Refusal)
class RefusalAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "user", "product", "action", "amount", "codes"]
    list_filter = ["action"]
    list_select_related = ["user", "product"]
    search_fields = ["user__email", "codes"]
    date_hierarchy = "created_at"
    show_full_result_count = False


class ComplaintForm(forms.ModelForm):
    note = forms.CharField(label=_("add a note"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    class Meta:
        model = Complaint
        fields = ["status", "owner", "final_response"]


@admin.register(Complaint)
class ComplaintAdmin(ServiceRefusalsAsMessagesMixin, admin.ModelAdmin):
    """Compliance officers handle complaints: status, owner, notes; the 8-week deadline is highlighted."""

    form = ComplaintForm
    list_display = ["id", "received_at", "user", "product", "subject", "status", "owner", "deadline"]
    list_filter = ["status", ("owner", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user", "product", "owner"]
    search_fields = ["user__email", "subject"]
    date_hierarchy = "received_at"
    readonly_fields = ["user", "product", "position", "subject", "body", "received_at", "deadline", "closed_at",
                       "notes"]
    fieldsets = [(_("Complaint"), {"fields": ["user", "product", "position", "received_at", "deadline", "subject",
                                              "body"]}),
                 (_("Handling"), {"fields": ["status", "owner", "notes", "note", "final_response", "closed_at"]})]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers file complaints (portal, API)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "owner":
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("final response due"), ordering="deadline_at")
    def deadline(self, complaint: Complaint) -> str:
        """Red when past due and still open (or answered late), amber within 2 weeks of the deadline."""
        now = timezone.now()
        due = complaint.deadline_at
        late = (complaint.closed_at or now) > due
        soon = complaint.closed_at is None and not late and due - now < dt.timedelta(weeks=2)
        colour = "#c0392b" if late else "#d68910" if soon else "inherit"
        label = _("overdue") if late and complaint.closed_at is None else _("answered late") if late else ""
        return format_html('<span style="color:{};font-weight:{}">{} {}</span>', colour,
                           "bold" if late or soon else "normal", timezone.localtime(due).strftime("%Y-%m-%d"), label)

    def save_model(self, request: HttpRequest, obj: Complaint, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        complaint_services.complaint_update(actor=request_user(request), complaint=obj.pk, status=data["status"],
                                            owner=data.get("owner"), note=data.get("note", ""),
                                            final_response=data.get("final_response"))


# --- the reports page in the admin menu (its own entry, not only a button on Audit events) -------------------

_site_app_list = admin.site.get_app_list


def _app_list_with_reports(request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
    """The admin's app list (index, app page, side menu) with "Compliance reports" under Compliance for the
    compliance officers who may export them."""
    apps = _site_app_list(request, app_label)
    if app_label not in (None, "compliance"):
        return apps
    officer = getattr(request, "_compliance_officer", None)
    if officer is None:  # one role query per request (the side menu and the index both ask)
        officer = request._compliance_officer = user_has_role(request.user, roles.COMPLIANCE_OFFICER)  # type: ignore[attr-defined]
    if not officer:
        return apps
    entry = {"model": None, "name": _("Compliance reports"), "object_name": "ComplianceReports",
             "perms": {"view": True}, "admin_url": reverse("admin:compliance_reports"), "add_url": None,
             "view_only": True}
    compliance = next((app for app in apps if app["app_label"] == "compliance"), None)
    if compliance is None:
        compliance = {"name": _("Compliance"), "app_label": "compliance", "has_module_perms": True,
                      "app_url": reverse("admin:app_list", kwargs={"app_label": "compliance"}), "models": []}
        apps.append(compliance)
        apps.sort(key=lambda app: str(app["name"]).lower())
    compliance["models"].append(entry)
    compliance["models"].sort(key=lambda model: str(model["name"]))
    return apps


admin.site.get_app_list = _app_list_with_reports  # type: ignore[method-assign]
