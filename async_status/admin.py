"""Admin for async statuses: scoped to the staff user's tenants, read-only, cancellable."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import BadRequest
from django.utils.text import Truncator

from async_status.models import AsyncStatus
from jobs.admin import JobAdmin, StuckFilter, TenantScopeFilter


@admin.register(AsyncStatus)
class AsyncStatusAdmin(JobAdmin):
    list_display = [
        "id",
        "tenant",
        "state_badge",
        "short_message",
        "start_time",
        "end_time",
        "duration",
    ]
    list_filter = [TenantScopeFilter, "status", StuckFilter, "start_time"]
    search_fields = ["message"]
    list_select_related = ["tenant"]
    ordering = ["-start_time", "-id"]
    fields = [
        "id",
        "tenant",
        "state_badge",
        "message",
        "start_time",
        "end_time",
        "duration",
        "user",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="message")
    def short_message(self, job: AsyncStatus) -> str:
        return Truncator(job.message).chars(80)

    def changelist_view(self, request, extra_context=None):
        # PostgreSQL text cannot hold NUL: a search or filter value with one would be a 500.
        if any("\x00" in key + value for key, value in request.GET.items()):
            raise BadRequest("NUL characters are not allowed in the query string.")
        return super().changelist_view(request, extra_context)
