"""Statements in the admin console: read only (written by the monthly run, never edited)."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from statements.models import Statement, StatementRun


@admin.register(StatementRun)
class StatementRunAdmin(ReadOnlyAdmin):
    list_display = ["month", "status", "customers", "statements", "last_user_id", "started_at", "finished_at"]


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = ["id", "month", "user", "created_at"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    date_hierarchy = "month"
    show_full_result_count = False
    exclude = ["figures"]
    readonly_fields = ["user", "month", "created_at"]
