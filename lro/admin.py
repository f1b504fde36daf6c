"""Admin for long-running operations: scoped to the staff user's tenants, read-only,
cancellable."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.text import Truncator

from jobs.admin import JobAdmin, StuckFilter, TenantScopeFilter, compact_time, two_lines
from lro.models import Operation


@admin.register(Operation)
class OperationAdmin(JobAdmin):
    # Narrow enough for 1280 px with the admin's sidebars: the tenant under the error, and
    # the end time in the duration.
    list_display = ["id", "operation", "state_badge", "started", "duration"]
    list_filter = [TenantScopeFilter, "state", StuckFilter, "created_at"]
    search_fields = ["error_message"]
    list_select_related = ["tenant"]
    ordering = ["-created_at", "-id"]
    fields = [
        "id",
        "resource_name",
        "tenant",
        "state_badge",
        "shown_metadata",
        "shown_response",
        "error_code",
        "error_message",
        "created_at",
        "ended_at",
        "duration",
        "user",
        "heartbeat_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="name")
    def resource_name(self, op: Operation) -> str:
        return op.name

    @admin.display(description="error")
    def operation(self, op: Operation) -> str:
        error = (
            f"{op.error_code}: {Truncator(op.error_message).chars(60)}" if op.error_code else "-"
        )
        return two_lines(error, op.tenant)

    @admin.display(description="started", ordering="created_at")
    def started(self, op: Operation) -> str:
        return compact_time(op.created_at)

    @admin.display(description="metadata")
    def shown_metadata(self, op: Operation) -> str:
        return pretty(op.metadata)

    @admin.display(description="response")
    def shown_response(self, op: Operation) -> str:
        return "-" if op.response is None else pretty(op.response)


def pretty(value: object) -> str:
    """Render a JSON value readably in the admin."""
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))
