"""Admin console for curators, approvers, compliance officers and operations.

Every write goes through `earn.services.product_lifecycle` and `earn.services.terms` (the same
functions as the staff API), so the lifecycle, maker ≠ checker and audit events are identical.
Actions are offered only to the roles holding their permission, and each one asks for confirmation
on a page that shows who drafted the product, so an approver sees whose work they are checking.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django import forms
from django.contrib import admin
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.requests import request_user
from compliance.models import Disclosure
from core.admin import ReadOnlyAdmin, ReadOnlyAdminMixin, ServiceRefusalsAsMessagesMixin, run_confirmed
from core.errors import ApplicationError
from earn import extensions
from earn.apy import apy_for, as_percent
from earn.models import (
    AccrualChunk,
    AccrualRun,
    ExposureLimit,
    Product,
    ProductStatus,
    ProductTerms,
    RateTier,
    Strategy,
    TermsStatus,
    TermType,
)
from earn.selectors.products import terms_pending, vetting_checklist, vetting_missing
from earn.services import exposure_limits as limit_services
from earn.services import product_lifecycle as services
from earn.services import terms as terms_services

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups
    from django_stubs_ext import StrOrPromise, WithAnnotations

PRODUCT_EDIT_FIELDS = [*services.PRODUCT_FIELDS, *services.VETTING_FIELDS, *services.LAUNCH_FIELDS]


def tier_summary(terms: ProductTerms) -> str:
    """"0 – 10000: 6 % · 10000 – ∞: 3 %" from prefetched tiers."""
    parts = []
    for tier in terms.tiers.all():
        upper = "∞" if tier.upper is None else f"{tier.upper.normalize():f}"
        parts.append(f"{tier.lower.normalize():f} – {upper}: {as_percent(tier.apr)} %")
    return " · ".join(parts) or "—"


def rates_text(terms: ProductTerms, term_type: str) -> str:
    tiers = list(terms.tiers.all())
    if not tiers:
        return "—"
    apr = tiers[0].apr
    apy = apy_for(apr, compounding=term_type == TermType.DEMAND)
    return str(_("%(apr)s %% APR / %(apy)s %% APY") % {"apr": as_percent(apr), "apy": as_percent(apy)})


def pool_rates_text(pool: dict[str, Any] | None) -> str:
    """A pool product's yield as the catalogue shows it: fee + reward APR at today's prices (its tiers are 0)."""
    if not pool or pool.get("apr") is None:
        return "—"
    apr = as_percent(Decimal(pool["apr"]))
    if pool.get("apy_compounded") is None:
        return str(_("%(apr)s %% APR (fees + rewards)") % {"apr": apr})
    return str(_("%(apr)s %% APR / %(apy)s %% APY (fees + rewards)")
               % {"apr": apr, "apy": as_percent(Decimal(pool["apy_compounded"]))})


def _transition_action(action: str, description: Any, label: Any, permission: str,
                       needs_reason: bool = False) -> Callable[..., HttpResponse | None]:
    """An admin action that runs one lifecycle transition on the selected products, after a confirmation."""

    @admin.action(description=description, permissions=[permission])
    def run(self: Any, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._transition(request, queryset, action, str(label), needs_reason=needs_reason)

    run.__name__ = f"{action}_selected"
    return run


# --- Product -------------------------------------------------------------------------------------


class ProductForm(forms.ModelForm):
    """Product and vetting fields, validated by the same rules as the service."""

    class Meta:
        model = Product
        fields = PRODUCT_EDIT_FIELDS

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # ModelForm.clean returns cleaned_data
        try:
            clean = services._clean_product({k: v for k, v in data.items() if k in PRODUCT_EDIT_FIELDS},
                                            partial=self.instance.pk is not None)
            merged = {f: getattr(self.instance, f, None) for f in services.LAUNCH_FIELDS}
            merged.update({k: v for k, v in clean.items() if k in services.LAUNCH_FIELDS})
            merged["asset_id"] = clean.get("asset_id") or self.instance.asset_id if self.instance.pk else \
                clean.get("asset_id")
            services.launch_settings_check(merged)
        except ApplicationError as exc:
            field = exc.field if exc.field in self.fields else None
            self.add_error(field, exc.message)
        return data


class TermsRatesMixin:
    """A terms version's APR tiers and headline APR / APY, as the inline and the version's page show them."""

    @admin.display(description=_("APR tiers"))
    def schedule(self, terms: ProductTerms) -> str:
        return tier_summary(terms)

    @admin.display(description=_("headline APR / APY"))
    def rates(self, terms: ProductTerms) -> str:
        return rates_text(terms, terms.product.term_type)


class ProductTermsInline(TermsRatesMixin, admin.TabularInline):
    """The rate schedule: every terms version with its tiers (edit or approve on the version's page)."""

    model = ProductTerms
    fields = ("version", "status", "effective_from", "schedule", "rates", "term_days", "min_amount",
              "total_cap", "drafted_by", "approved_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = _("terms version")
    verbose_name_plural = _("rate schedule (terms versions and APR tiers)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProductTerms]:
        return (super().get_queryset(request).select_related("drafted_by", "approved_by", "product")
                .prefetch_related(Prefetch("tiers", queryset=RateTier.objects.order_by("lower"))).order_by("-version"))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False



class DisclosureInline(admin.TabularInline):
    model = Disclosure
    fields = ("version", "status", "author", "approved_by", "approved_at", "short_hash")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("risk disclosure versions")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Disclosure]:
        return super().get_queryset(request).select_related("author", "approved_by").order_by("-version")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="sha256")
    def short_hash(self, disclosure: Disclosure) -> str:
        return disclosure.sha256[:12] + "…"


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, StrOrPromise]]:
        return list(ProductStatus.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(status=self.value()) if self.value() else queryset


@admin.register(Product)
class ProductAdmin(ServiceRefusalsAsMessagesMixin, admin.ModelAdmin):
    form = ProductForm
    change_form_template = "admin/earn/product/change_form.html"
    list_display = ["name_en", "asset", "term_type", "strategy", "status", "risk_rating", "headline",
                    "drafted_by", "updated_at"]
    list_filter = [StatusFilter, "term_type", "asset", "risk_rating", "strategy", "category"]
    list_select_related = ["asset", "drafted_by"]
    search_fields = ["name_en", "name_zh_hant", "venue"]
    inlines = [ProductTermsInline, DisclosureInline]
    actions = ["submit_selected", "approve_selected", "reject_selected", "go_live_selected", "pause_selected",
               "close_selected"]
    review_fields = ["status", "vetting_checklist", "drafted_by", "approved_by", "approved_at", "rejection_reason",
                     "total_cap", "sold_amount", "created_at", "updated_at"]
    fieldsets = [
        (_("Product"), {"fields": ["name_en", "name_zh_hant", "asset", "term_type", "strategy", "category",
                                   "risk_rating"]}),
        # The customer-facing vetting text: English and Traditional Chinese side by side, like disclosures.
        (_("Vetting"), {"fields": ["vetting_checklist", "venue", "counterparty", "chain", "contract_address",
                                   "audit_reports", "tvl_usd", "il_alert_threshold",
                                   ("yield_source", "yield_source_zh_hant"),
                                   ("risk_rationale", "risk_rationale_zh_hant"), "reviewer_notes"]}),
        (_("Launch (optional)"), {"fields": list(services.LAUNCH_FIELDS),
                                  "description": _("Set an allocation method to open the product as a launch: "
                                                   "customers commit amounts during the window, and the quota is "
                                                   "allocated (pro-rata or first come, first served) when it "
                                                   "closes.")}),
        (_("Review and counters"), {"fields": ["status", "drafted_by", "approved_by", "approved_at",
                                               "rejection_reason", "total_cap", "sold_amount", "created_at",
                                               "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        approved = ProductTerms.objects.filter(status=TermsStatus.APPROVED).prefetch_related(
            Prefetch("tiers", queryset=RateTier.objects.order_by("lower"))).order_by("-effective_from", "-version")
        return super().get_queryset(request).prefetch_related(
            Prefetch("terms_versions", queryset=approved, to_attr="approved_terms"))

    def get_fieldsets(self, request: HttpRequest, obj: Product | None = None) -> Any:
        if obj is None:  # add: no review data yet
            return [(name, {**opts, "fields": [f for f in opts["fields"]
                                               if set(f if isinstance(f, tuple) else [f]) <= set(PRODUCT_EDIT_FIELDS)]})
                    for name, opts in self.fieldsets[:3]]
        return self.fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None) -> list[str]:
        if obj is None:
            return []
        locked = obj.status != ProductStatus.DRAFT or not self.has_change_permission(request, obj)
        return self.review_fields + (PRODUCT_EDIT_FIELDS if locked else [])

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # products are closed, never deleted (positions and audit refer to them)

    def has_submit_permission(self, request: HttpRequest) -> bool:
        return services.can_transition(request.user, "submit")

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return services.can_transition(request.user, "approve")

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return services.can_transition(request.user, "go_live")

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        """Pool products earn fees and rewards, not tiers: their yields for the page, in two queries."""
        changelist = super().get_changelist_instance(request)
        for strategy, summaries_of in extensions.CATALOGUE_SUMMARIES.items():
            ids = [p.pk for p in changelist.result_list if p.strategy == strategy]
            if ids:
                summaries = summaries_of(ids)
                for product in changelist.result_list:  # the page's rows, already fetched
                    if product.pk in summaries:
                        product.pool_summary = summaries[product.pk]
        return changelist

    @admin.display(description=_("APR / APY (in force)"))
    def headline(self, product: Product) -> str:
        if product.strategy == Strategy.LIQUIDITY_MINING:
            return pool_rates_text(getattr(product, "pool_summary", None))
        today = timezone.now().date()
        in_force = next((t for t in getattr(product, "approved_terms", []) if t.effective_from <= today), None)
        return rates_text(in_force, product.term_type) if in_force else "—"

    @admin.display(description=_("vetting checklist"))
    def vetting_checklist(self, product: Product) -> str:
        rows = format_html_join(
            "", '<li style="list-style:none">{} {}{}</li>',
            (("✅" if item.done else ("❌" if item.required else "◻️"), item.label,
              "" if item.required else _(" (optional for this strategy)"))
             for item in vetting_checklist(product)))
        return format_html('<ul style="margin:0;padding:0">{}</ul>', rows)

    # Writes go through the services.
    def save_model(self, request: HttpRequest, obj: Product, form: forms.ModelForm, change: bool) -> None:
        data = {f: form.cleaned_data[f] for f in PRODUCT_EDIT_FIELDS if f in form.cleaned_data}
        if change:
            changed = {f: data[f] for f in form.changed_data if f in data}
            if changed:
                services.product_update(actor=request_user(request), product=obj.pk, **changed)
        else:
            created = services.product_create(actor=request_user(request), **data)
            obj.pk = created.pk
        obj.refresh_from_db()

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
                        extra_context: dict | None = None) -> HttpResponse:
        extra_context = extra_context or {}
        if object_id:
            product = Product.objects.filter(pk=object_id).select_related("drafted_by").first()
            if product is not None:
                extra_context["workflow_buttons"] = self._buttons(request, product)
                extra_context["drafted_by"] = product.drafted_by
                extra_context["can_propose_terms"] = (
                    request.user.has_perm("earn.add_productterms")
                    and product.status in terms_services.TERMS_VERSIONED_STATUSES | {ProductStatus.DRAFT}
                    and terms_pending(product) is None)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _buttons(self, request: HttpRequest, product: Product) -> list[dict[str, StrOrPromise]]:
        buttons: list[dict[str, StrOrPromise]] = []
        labels = {"submit": _("Submit for review"), "approve": _("Approve"), "reject": _("Reject"),
                  "go_live": _("Resume") if product.status == ProductStatus.PAUSED else _("Go live"),
                  "pause": _("Pause"), "close": _("Close")}
        for action, (sources, _target, _perm) in services.TRANSITIONS.items():
            if product.status in sources and services.can_transition(request.user, action):
                buttons.append({"action": f"{action}_selected", "label": labels[action]})
        return buttons

    # Lifecycle actions: each asks for confirmation, showing who drafted.
    def _details(self, product: Product) -> list[tuple[StrOrPromise, Any]]:
        pending = terms_pending(product)
        rows: list[tuple[StrOrPromise, Any]] = [
            (_("status"), product.get_status_display()),
            (_("drafted or last edited by"), product.drafted_by),
            (_("risk rating"), product.risk_rating),
        ]
        if pending is not None:
            rows += [(_("terms under review"), f"v{pending.version}, {_('effective from')} {pending.effective_from}"),
                     (_("APR tiers"), tier_summary(pending)),
                     (_("terms drafted by"), pending.drafted_by)]
        missing = vetting_missing(product)
        rows.append((_("vetting"), _("missing: %(items)s") % {"items": ", ".join(missing)} if missing
                     else _("complete")))
        if product.rejection_reason:
            rows.append((_("last rejection"), product.rejection_reason))
        return rows

    def _transition(self, request: HttpRequest, queryset: QuerySet, action: str, label: str,
                    needs_reason: bool = False) -> HttpResponse | None:
        return run_confirmed(
            self, request, queryset.select_related("drafted_by"), action=f"{action}_selected", label=label,
            needs_reason=needs_reason, details=self._details,
            call=lambda product, reason: services.product_transition(actor=request_user(request), product=product.pk,
                                                                     action=action, reason=reason))

    submit_selected = _transition_action("submit", _("Submit for review"), _("submit for review"), "submit")
    approve_selected = _transition_action("approve", _("Approve"), _("approve"), "approve")
    reject_selected = _transition_action("reject", _("Reject (with reason)"), _("reject"), "approve",
                                         needs_reason=True)
    go_live_selected = _transition_action("go_live", _("Go live / resume"), _("go live"), "operate")
    pause_selected = _transition_action("pause", _("Pause"), _("pause"), "operate")
    close_selected = _transition_action("close", _("Close"), _("close"), "operate")


# --- Terms versions ------------------------------------------------------------------------------


class RateTierInline(admin.TabularInline):
    model = RateTier
    fields = ["lower", "upper", "apr"]
    extra = 1
    verbose_name = _("APR tier (marginal)")
    verbose_name_plural = _("APR tiers (marginal; APR as a fraction, 0.06 = 6 %)")

    def _editable(self, obj: ProductTerms | None) -> bool:
        return obj is None or (obj.status == TermsStatus.PENDING
                               and obj.product.status not in {ProductStatus.IN_REVIEW, ProductStatus.CLOSED})

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


class ProductTermsForm(forms.ModelForm):
    class Meta:
        model = ProductTerms
        fields = ["product", *terms_services.TERMS_FIELDS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "product" in self.fields:
            cast(forms.ModelChoiceField, self.fields["product"]).queryset = Product.objects.filter(
                status__in=[*terms_services.TERMS_VERSIONED_STATUSES, ProductStatus.DRAFT])
        if "redemption_modes" in self.fields:
            self.fields["redemption_modes"].help_text = _('A JSON list: ["fast", "standard"]')


@admin.register(ProductTerms)
class ProductTermsAdmin(TermsRatesMixin, ServiceRefusalsAsMessagesMixin, admin.ModelAdmin):
    """Terms versions: propose (new version), edit while pending, approve or reject (maker ≠ checker)."""

    form = ProductTermsForm
    inlines = [RateTierInline]
    list_display = ["product", "version", "status", "effective_from", "schedule", "drafted_by", "approved_by"]
    list_filter = ["status", "product__term_type", "product__asset"]
    list_select_related = ["product", "drafted_by", "approved_by"]
    search_fields = ["product__name_en"]
    actions = ["approve_selected", "reject_selected"]
    info_fields = ["version", "status", "drafted_by", "approved_by", "approved_at", "rejection_reason", "rates"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProductTerms]:
        return super().get_queryset(request).prefetch_related(
            Prefetch("tiers", queryset=RateTier.objects.order_by("lower")))

    def get_readonly_fields(self, request: HttpRequest, obj: ProductTerms | None = None) -> list[str]:
        if obj is None:
            return []
        editable = (obj.status == TermsStatus.PENDING and self.has_change_permission(request, obj)
                    and obj.product.status not in {ProductStatus.IN_REVIEW, ProductStatus.CLOSED})
        return ["product", *self.info_fields, *([] if editable else terms_services.TERMS_FIELDS)]

    def get_fields(self, request: HttpRequest, obj: ProductTerms | None = None) -> _FieldGroups:
        return ["product", *terms_services.TERMS_FIELDS, *(self.info_fields if obj else [])]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """Propose from the latest version: its values are the starting point."""
        initial: dict[str, Any] = super().get_changeform_initial_data(request)
        product_id = request.GET.get("product")
        latest = (ProductTerms.objects.filter(product_id=product_id).order_by("-version").first()
                  if product_id and product_id.isdigit() else None)
        if latest is not None:
            initial.update({f: getattr(latest, f) for f in terms_services.TERMS_FIELDS if f != "effective_from"})
            initial["effective_from"] = timezone.now().date()
        return initial

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("earn.approve_product")


    def save_model(self, request: HttpRequest, obj: ProductTerms, form: forms.ModelForm, change: bool) -> None:
        """Nothing here: the version and its tiers are written together by the service in save_related."""

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Sequence[Any],
                     change: bool) -> None:
        tiers = [(f.cleaned_data["lower"], f.cleaned_data.get("upper"), f.cleaned_data["apr"])
                 for formset in formsets for f in formset.forms
                 if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("apr") is not None]
        data = {f: form.cleaned_data[f] for f in terms_services.TERMS_FIELDS if f in form.cleaned_data}
        if change:
            saved = terms_services.product_terms_update(actor=request_user(request), terms=form.instance.pk, data=data,
                                                        tiers=tiers)
        else:
            saved = terms_services.product_terms_propose(actor=request_user(request),
                                                         product=form.cleaned_data["product"], terms=data, tiers=tiers)
        form.instance.pk = saved.pk
        form.instance.refresh_from_db()

    def construct_change_message(self, request: HttpRequest, form: forms.Form, formsets: Any,
                                 add: bool = False) -> list[dict]:
        return [{"added": {}}] if add else [{"changed": {"fields": list(form.changed_data)}}]

    def _details(self, terms: ProductTerms) -> list[tuple[StrOrPromise, Any]]:
        return [(_("product"), terms.product), (_("effective from"), terms.effective_from),
                (_("APR tiers"), tier_summary(terms)), (_("drafted or last edited by"), terms.drafted_by),
                (_("total cap"), terms.total_cap)]

    @admin.action(description=_("Approve terms version"), permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return run_confirmed(self, request, queryset.select_related("product", "drafted_by"),
                             action="approve_selected", label=str(_("approve terms")), details=self._details,
                             call=lambda t, _r: terms_services.product_terms_approve(actor=request_user(request),
                                                                                     terms=t.pk))

    @admin.action(description=_("Reject terms version (with reason)"), permissions=["approve"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return run_confirmed(self, request, queryset.select_related("product", "drafted_by"),
                             action="reject_selected", label=str(_("reject terms")), details=self._details,
                             needs_reason=True,
                             call=lambda t, r: terms_services.product_terms_reject(actor=request_user(request),
                                                                                   terms=t.pk, reason=r))


class AccrualChunkInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AccrualChunk
    fields = ("unit", "lo", "hi", "planned", "status", "positions", "posted_total", "dispatches", "enqueued_at",
              "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False


class _ChunkCounts(TypedDict):
    done: int
    total: int


@admin.register(AccrualRun)
class AccrualRunAdmin(ReadOnlyAdmin):
    """Read-only progress of each day's accrual: its chunks, done or pending, and how often queued."""

    list_display = ("date", "status", "positions", "chunks_done", "planned_at", "finished_at")
    list_filter = ("status",)
    date_hierarchy = "date"
    inlines = [AccrualChunkInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccrualRun]:
        return super().get_queryset(request).annotate(
            done=Count("chunks", filter=Q(chunks__status=AccrualChunk.Status.DONE)), total=Count("chunks"))

    @admin.display(description=_("chunks done"))
    def chunks_done(self, run: WithAnnotations[AccrualRun, _ChunkCounts]) -> str:
        return f"{run.done} / {run.total}"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in AccrualRun._meta.fields]


# --- Exposure limits -------------------------------------------------------------------------------


class ExposureLimitForm(forms.ModelForm):
    class Meta:
        model = ExposureLimit
        fields = ["kind", "name", "limit_usd", "note"]


@admin.register(ExposureLimit)
class ExposureLimitAdmin(ServiceRefusalsAsMessagesMixin, admin.ModelAdmin):
    """Limits per venue or counterparty (compliance and operations); each save or removal is an audit event.
    Exposure against them: Operations › Venue exposure."""

    form = ExposureLimitForm
    list_display = ["name", "kind", "limit_usd", "updated_by", "updated_at"]
    list_filter = ["kind"]
    list_select_related = ["updated_by"]
    search_fields = ["name"]
    readonly_fields = ["updated_by", "updated_at"]

    def save_model(self, request: HttpRequest, obj: ExposureLimit, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        saved = limit_services.exposure_limit_save(actor=request_user(request), kind=data["kind"], name=data["name"],
                                                   limit_usd=data["limit_usd"], note=data.get("note", ""),
                                                   limit=obj.pk if change else None)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: ExposureLimit) -> None:
        limit_services.exposure_limit_delete(actor=request_user(request), limit=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ExposureLimit]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            limit_services.exposure_limit_delete(actor=request_user(request), limit=pk)
