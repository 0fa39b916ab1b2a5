"""Disclosure redline as data: what changed in a product's disclosure since a given version."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.catalogue import catalogue
from compliance.redline import acknowledgement_latest, disclosure_changes, disclosure_shown
from compliance.selectors import LANGUAGES, disclosure_current
from core.errors import NotFound, ValidationFailed


class SegmentOutput(serializers.Serializer):
    op = serializers.ChoiceField(choices=["equal", "insert", "delete"],
                                 help_text="insert: text added since; delete: text removed since.")
    text = serializers.CharField(trim_whitespace=False)


class StatementChangeOutput(serializers.Serializer):
    key = serializers.CharField()
    change = serializers.ChoiceField(choices=["added", "removed", "changed", "unchanged"])
    diff = SegmentOutput(many=True)


class SectionChangeOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField(help_text="The section's title in the requested language.")
    change = serializers.ChoiceField(choices=["added", "removed", "changed", "unchanged"])
    diff = SegmentOutput(many=True)


class VersionRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    sha256 = serializers.CharField()
    approved_at = serializers.DateTimeField()


class DisclosureChangesApi(APIView):
    """Word-level changes of the text, the risk statements and the sections from version `since` to the current one.

    Concatenating the `equal` and `delete` segments gives the old text, `equal` and `insert` the new
    one. Chinese text is compared character by character.
    """

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        product = serializers.IntegerField()
        language = serializers.ChoiceField(choices=LANGUAGES)
        since = VersionRefOutput()
        current = VersionRefOutput()
        acknowledged_version = serializers.IntegerField(
            allow_null=True, help_text="The version the caller last acknowledged (null: none).")
        changed = serializers.BooleanField()
        text = SegmentOutput(many=True)
        risk_statements = StatementChangeOutput(many=True)
        sections = SectionChangeOutput(many=True, help_text="The category's sections, matched by key.")

    @extend_schema(
        parameters=[
            OpenApiParameter("since", int, required=False,
                             description="An approved earlier version; defaults to the version the caller last "
                                         "acknowledged. Unknown, unapproved or later versions answer 400."),
            OpenApiParameter("lang", str, enum=list(LANGUAGES), required=False,
                             description="Defaults to the user's language."),
        ],
        responses=OutputSerializer, tags=["products"], operation_id="product_disclosure_changes")
    def get(self, request: Request, product_id: int) -> Response:
        lang = (request.query_params.get("lang") or getattr(request.user, "language", "") or "en").lower()
        if lang not in LANGUAGES:
            raise ValidationFailed(_("lang is en or zh-hant."), field="lang")
        product = catalogue().visible_product(product_id=product_id, user=request.user)
        current = disclosure_current(product_id=product.pk) if product else None
        if current is None:
            raise NotFound(_("No current disclosure for this product."))
        ack = acknowledgement_latest(user=request.user, product_id=product.pk)
        raw = (request.query_params.get("since") or "").strip()
        if not raw:
            if ack is None:
                raise ValidationFailed(_("You have not acknowledged this disclosure yet; give since=VERSION."),
                                       field="since")
            since_version = ack.disclosure_version
        elif raw.isascii() and raw.isdigit() and len(raw) <= 9:
            since_version = int(raw)
        else:
            raise ValidationFailed(_("since is a disclosure version number."), field="since")
        since = disclosure_shown(product_id=product.pk, version=since_version)
        if since is None or since.version > current.version:
            raise ValidationFailed(_("Version %(version)s of this disclosure was never published.")
                                   % {"version": since_version}, field="since",
                                   extra={"current_version": current.version})
        body = disclosure_changes(since=since, current=current, language=lang)
        body["acknowledged_version"] = ack.disclosure_version if ack else None
        return Response(self.OutputSerializer(body).data)


urlpatterns = [
    path("products/<int:product_id>/disclosure/changes", DisclosureChangesApi.as_view(),
         name="product-disclosure-changes"),
]
