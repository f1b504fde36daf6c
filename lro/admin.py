"""Admin for long-running operations: scoped to the staff user's tenants, read-only,
cancellable."""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.exceptions import BadRequest
from django.utils.html import format_html

from jobs.admin import JobAdmin, StuckFilter, TenantScopeFilter
from lro.models import Operation


@admin.register(Operation)
class OperationAdmin(JobAdmin):
    list_display = [
        "id",
        "tenant",
        "state_badge",
        "error_code",
        "created_at",
        "ended_at",
        "duration",
    ]
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

    @admin.display(description="metadata")
    def shown_metadata(self, op: Operation) -> str:
        return pretty(op.metadata)

    @admin.display(description="response")
    def shown_response(self, op: Operation) -> str:
        return "-" if op.response is None else pretty(op.response)

    def changelist_view(self, request, extra_context=None):
        # PostgreSQL text cannot hold NUL: a search or filter value with one would be a 500.
        if any("\x00" in key + value for key, value in request.GET.items()):
            raise BadRequest("NUL characters are not allowed in the query string.")
        return super().changelist_view(request, extra_context)


def pretty(value: object) -> str:
    """Render a JSON value readably in the admin."""
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))
