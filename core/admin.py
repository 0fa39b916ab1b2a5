"""Admin building blocks shared by the apps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError


class ReadOnlyAdminMixin:
    """View only: no add, change or delete, whatever the user's permissions (records that are evidence,
    or that only services write). Works for model admins and inlines alike."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class ServiceRefusalsAsMessagesMixin:
    """A service's refusal (an ApplicationError) on save shows as an error message on the form's page."""

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
                        extra_context: dict | None = None) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        except ApplicationError as exc:
            self.message_user(request, f"{exc.message} ({exc.code})", messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(request.get_full_path())


def run_confirmed(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, *, action: str,
                  label: str, call: Callable[[Any, str], Any], needs_reason: bool = False,
                  details: Callable[[Any], Sequence[tuple[str, Any]]] | None = None,
                  reason_label: str = "") -> HttpResponse | None:
    """Show a confirmation page (with a reason box where needed); on confirm, run `call` per object.

    `reason_label` says who reads the reason or note (default: the drafter, for a reason; nobody said for a note).

    Domain refusals become error messages; nothing half-done is left because each call is atomic.
    """
    objects = list(queryset)
    back_to_change = request.POST.get("_return") == "change" and len(objects) == 1
    if request.POST.get("confirm") == "yes":
        reason = request.POST.get("reason", "").strip()
        if needs_reason and not reason:
            model_admin.message_user(request, _("Give a reason."), messages.ERROR)
        else:
            for obj in objects:
                try:
                    call(obj, reason)
                except ApplicationError as exc:
                    model_admin.message_user(request, f"{obj}: {exc.message} ({exc.code})", messages.ERROR)
                else:
                    model_admin.message_user(request, _("%(obj)s: %(label)s done.") % {"obj": obj, "label": label},
                                             messages.SUCCESS)
            if back_to_change:
                opts = model_admin.model._meta
                return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                                    args=[objects[0].pk]))
            return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Confirm: %(label)s") % {"label": label},
        "opts": model_admin.model._meta,
        "objects": [{"obj": obj, "details": details(obj) if details else []} for obj in objects],
        "action": action,
        "label": label,
        "needs_reason": needs_reason,
        "reason_label": reason_label,
        "return_to": "change" if back_to_change else "",
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media,
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)
