from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"

    def ready(self) -> None:
        from compliance.refusals import REFUSALS
        from core.refusals import register

        register(REFUSALS)
        from django.contrib.auth.signals import user_logged_in

        from compliance.services.logins import staff_login_record

        # Django's login is the only place a session login happens; the receiver only calls the service.
        user_logged_in.connect(staff_login_record, dispatch_uid="compliance_staff_login")
