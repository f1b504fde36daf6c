"""Admin for async statuses: scoped to the staff user's tenants, read-only, cancellable."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import BadRequest
from django.utils.text import Truncator

from async_status.models import AsyncStatus
from async_status.services import AsyncStatusNotPending, async_status_cancel
from tenancy import dashboard
from tenancy.admin import CancelJobsAdminMixin, StuckFilter, TenantScopeFilter
from tenancy.permissions import Perm


@admin.register(AsyncStatus)
class AsyncStatusAdmin(CancelJobsAdminMixin, admin.ModelAdmin):
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

    tenant_read_permission = Perm.ASYNC_STATUS_READ
    # The catalogue has no ASYNC-STATUS:CANCEL; cancelling rewrites the job, which is WRITE.
    tenant_cancel_permission = Perm.ASYNC_STATUS_WRITE
    state_field = "status"
    started_field = "start_time"
    ended_field = "end_time"
    pending_states = (AsyncStatus.State.PENDING,)
    succeeded_states = (AsyncStatus.State.SUCCEEDED,)
    failed_states = (AsyncStatus.State.FAILED,)

    @admin.display(description="message")
    def short_message(self, job: AsyncStatus) -> str:
        return Truncator(job.message).chars(80)

    def changelist_view(self, request, extra_context=None):
        # PostgreSQL text cannot hold NUL: a search or filter value with one would be a 500.
        if any("\x00" in key + value for key, value in request.GET.items()):
            raise BadRequest("NUL characters are not allowed in the query string.")
        return super().changelist_view(request, extra_context)

    def cancel_job(self, request, obj: AsyncStatus) -> bool:
        try:
            async_status_cancel(obj, actor=request.user)
        except AsyncStatusNotPending:
            return False
        return True


dashboard.register(AsyncStatus)
