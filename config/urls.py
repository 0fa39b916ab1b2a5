from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import views as core_views
from monitoring import views as monitoring_views
from portal.operations import exposure_console, operations_console

urlpatterns = [
    path("", include("portal.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("metrics", monitoring_views.metrics, name="metrics"),
    # Browsers ask for /favicon.ico on every page that names none (the admin, the API docs).
    path("favicon.ico", require_safe(lambda request: HttpResponsePermanentRedirect(static("portal/favicon.svg"))),
         name="favicon"),
    path("admin/operations/", admin.site.admin_view(operations_console), name="operations-console"),
    path("admin/operations/exposure/", admin.site.admin_view(exposure_console), name="operations-exposure"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("ledger.urls")),
    path("api/v1/", include("earn.urls")),
    path("api/v1/", include("compliance.urls")),
    path("api/v1/", include("pools.urls")),
    path("api/v1/", include("liabilities.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("about", core_views.landing, name="landing"),
]

# API paths answer 404 and 500 in the API's JSON error body (with DEBUG on, core.middleware.ApiErrorBodyMiddleware).
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
