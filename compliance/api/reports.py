"""Staff API: compliance reports for any date range, CSV streamed or a PDF summary (compliance officers)."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts.permissions import role_required
from compliance.reports import KINDS, chunked
from compliance.services.reports import export_csv_lines, export_pdf, report_export
from core.api import CSVRenderer, DateBoundField


class PDFRenderer(CSVRenderer):
    """Lets `?format=pdf` reach the view, which answers with the PDF itself."""

    media_type = "application/pdf"
    format = "pdf"


class StaffReportApi(APIView):
    """`?from=&to=` (inclusive days or instants, UTC), `?format=csv` (default, streamed) or `pdf` (summary)."""

    permission_classes = [IsAuthenticated, role_required(roles.COMPLIANCE_OFFICER)]
    renderer_classes = [renderers.JSONRenderer, CSVRenderer, PDFRenderer]

    class FilterSerializer(serializers.Serializer):
        from_ = DateBoundField(help_text="First day (ISO date, UTC) or instant, inclusive.")
        to = DateBoundField(end=True, help_text="Last day (ISO date, UTC) or instant, inclusive.")
        fmt = serializers.ChoiceField(choices=["csv", "pdf"], default="csv")

        def get_fields(self) -> dict[str, serializers.Field]:
            fields = super().get_fields()
            fields["from"] = fields.pop("from_")  # `from` is a Python keyword
            return fields

    @extend_schema(
        parameters=[OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=sorted(KINDS)),
                    OpenApiParameter("from", str, required=True, description="First day (YYYY-MM-DD) or instant."),
                    OpenApiParameter("to", str, required=True, description="Last day (YYYY-MM-DD) or instant."),
                    OpenApiParameter("format", str, enum=["csv", "pdf"])],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/pdf"): OpenApiTypes.BINARY},
        tags=["staff"], operation_id="staff_report")
    def get(self, request: Request, kind: str) -> HttpResponse | StreamingHttpResponse:
        params = {k: request.query_params[k] for k in ("from", "to") if k in request.query_params}
        params["fmt"] = request.query_params.get("format", "csv")
        data = self.FilterSerializer(data=params)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        export = report_export(actor=request.user, kind=kind, start=v["from"], end=v["to"], fmt=v["fmt"])
        if export.format == "pdf":
            response: HttpResponse | StreamingHttpResponse = HttpResponse(export_pdf(export),
                                                                          content_type="application/pdf")
        else:
            response = StreamingHttpResponse(chunked(export_csv_lines(export)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        response["Cache-Control"] = "no-store"
        response["X-Audit-Event"] = str(export.event.sequence)
        return response

    def handle_exception(self, exc: Exception) -> Response:
        # Errors are JSON even when CSV or PDF was asked for.
        self.request.accepted_renderer = renderers.JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return super().handle_exception(exc)


urlpatterns = [path("staff/reports/<slug:kind>", StaffReportApi.as_view(), name="staff-report")]
