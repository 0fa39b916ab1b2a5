"""Portal routes (namespace "portal")."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from portal.views import account, auth, compliance, dashboard, earn, pools, transparency

app_name = "portal"

urlpatterns = [
    path("", earn.home, name="home"),
    path("products/<int:product_id>", earn.product_detail, name="product"),
    path("products/<int:product_id>/subscribe", earn.subscribe, name="subscribe"),
    path("products/<int:product_id>/commit", earn.commit, name="commit"),
    path("products/<int:product_id>/assessment", compliance.assessment, name="assessment"),
    path("products/<int:product_id>/disclosure/changes", transparency.disclosure_changes_page,
         name="disclosure_changes"),
    path("risk-summary/", compliance.risk_summary, name="risk_summary"),
    path("liabilities", transparency.liabilities, name="liabilities"),
    path("verify/earn_verify.py", transparency.earn_verify_script, name="earn_verify_script"),
    path("complaints", compliance.complaints, name="complaints"),
    path("account/risk-profile", compliance.risk_profile, name="risk_profile"),
    path("dashboard", dashboard.dashboard, name="dashboard"),
    path("positions/<int:position_id>", dashboard.position_detail, name="position"),
    path("positions/<int:position_id>/auto-renew", dashboard.position_switch, {"switch": "auto_renew"},
         name="position_auto_renew"),
    path("positions/<int:position_id>/auto-compound", dashboard.position_switch, {"switch": "auto_compound"},
         name="position_auto_compound"),
    path("positions/<int:position_id>/redeem", dashboard.redeem, name="redeem"),
    path("pool-positions/<int:position_id>/redeem", pools.pool_redeem, name="pool_redeem"),
    path("history", dashboard.history, name="history"),
    path("statements", transparency.statements, name="statements"),
    path("statements/<int:statement_id>.pdf", transparency.statement_download, {"fmt": "pdf"},
         name="statement_pdf"),
    path("statements/<int:statement_id>.csv", transparency.statement_download, {"fmt": "csv"},
         name="statement_csv"),
    path("statements/income/<int:year>.csv", transparency.income_export, name="income_export"),
    path("inbox", dashboard.inbox, name="inbox"),
    path("inbox/<int:notification_id>", dashboard.inbox_read, name="inbox_read"),
    path("account/sign-in", auth.sign_in, name="sign_in"),
    path("account/sign-in/code", auth.sign_in_verify, name="sign_in_verify"),
    path("account/sign-out", auth.sign_out, name="sign_out"),
    path("account/sign-up", auth.sign_up, name="sign_up"),
    path("account/language", auth.language_set, name="language"),
    path("account/profile", account.profile, name="profile"),
    path("account/residence-request", account.residence_request, name="residence_request"),
    path("account/security", account.security, name="security"),
    path("account/tokens", account.tokens, name="tokens"),
    path("account/password", auth_views.PasswordChangeView.as_view(
        template_name="portal/password_change.html", success_url=reverse_lazy("portal:profile")),
        name="password_change"),
    path("account/password-reset", auth_views.PasswordResetView.as_view(
        template_name="portal/password_reset.html", email_template_name="portal/email/password_reset.txt",
        subject_template_name="portal/email/password_reset_subject.txt",
        success_url=reverse_lazy("portal:password_reset_done")), name="password_reset"),
    path("account/password-reset/sent", auth_views.PasswordResetDoneView.as_view(
        template_name="portal/password_reset_done.html"), name="password_reset_done"),
    path("account/password-reset/<uidb64>/<token>", auth_views.PasswordResetConfirmView.as_view(
        template_name="portal/password_reset_confirm.html", success_url=reverse_lazy("portal:password_reset_complete")),
        name="password_reset_confirm"),
    path("account/password-reset/complete", auth_views.PasswordResetCompleteView.as_view(
        template_name="portal/password_reset_complete.html"), name="password_reset_complete"),
]
