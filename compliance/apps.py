from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"

    def ready(self) -> None:
        from compliance.refusals import REFUSALS
        from core.refusals import register

        register(REFUSALS)
        from accounts.kyc import register_investor_class
        from compliance.services.customers import investor_class_of, investor_class_set

        register_investor_class(read=investor_class_of, write=investor_class_set)
        from django.contrib.auth.signals import user_logged_in

        from compliance.services.logins import staff_login_record

        # Django's login is the only place a session login happens; the receiver only calls the service.
        user_logged_in.connect(staff_login_record, dispatch_uid="compliance_staff_login")
