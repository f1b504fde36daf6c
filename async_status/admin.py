"""Admin for async statuses: scoped to the staff user's tenants, read-only, cancellable."""

from __future__ import annotations

from django.contrib import admin
from django.utils.text import Truncator

from async_status.models import AsyncStatus
from jobs.admin import JobAdmin, StuckFilter, TenantScopeFilter, compact_time, two_lines


@admin.register(AsyncStatus)
class AsyncStatusAdmin(JobAdmin):
    # Narrow enough for 1280 px with the admin's sidebars: the tenant under the message, and
    # the end time in the duration.
    list_display = ["id", "job", "state_badge", "started", "duration"]
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

    @admin.display(description="message")
    def job(self, job: AsyncStatus) -> str:
        return two_lines(self.short_message(job), job.tenant)

    @admin.display(description="started", ordering="start_time")
    def started(self, job: AsyncStatus) -> str:
        return compact_time(job.start_time)
