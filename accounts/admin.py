"""Admin for accounts: API tokens by prefix and expiry only; no page shows a key, TOTP secret or recovery code."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

# Imported first so that their admin registrations exist and can be taken back below; autodiscover
# imports these modules after this one (INSTALLED_APPS order) and finds them already loaded.
from django_otp.plugins.otp_static import admin as _otp_static_admin  # noqa: F401
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp import admin as _otp_totp_admin  # noqa: F401
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken
from accounts.tokens import api_token_revoke

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
