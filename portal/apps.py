from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Customer portal")

    def ready(self) -> None:
        # One sign-in for everybody: the admin console's login goes through the portal's, so staff
        # get the same lockout counting and two-factor step as customers.
        from django.contrib import admin

        from portal.views.auth import admin_has_permission, admin_login_redirect

        admin.site.login = admin_login_redirect  # type: ignore[method-assign]
        # Staff two-factor authentication is mandatory: the console wants a session verified with a code.
        admin.site.has_permission = admin_has_permission  # type: ignore[method-assign]
        admin.site.site_header = admin.site.site_title = _("Earn admin console")
