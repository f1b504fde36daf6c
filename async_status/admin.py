"""Admin for async statuses: scoped to the staff user's tenants, read-only, cancellable."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import BadRequest
from django.http import Http404
from django.utils import timezone
from django.utils.text import Truncator

from async_status.models import AsyncStatus
from async_status.services import AsyncStatusNotPending, async_status_cancel
from tenancy.admin import CancelJobsAdminMixin, TenantScopeFilter
from tenancy.permissions import Perm


def format_duration(value: timedelta) -> str:
    """Render a duration as H:MM:SS, whole seconds."""
    return str(timedelta(seconds=int(value.total_seconds())))


@admin.register(AsyncStatus)
class AsyncStatusAdmin(CancelJobsAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "tenant",
        "status",
        "short_message",
        "start_time",
        "end_time",
        "duration",
    ]
    list_filter = [TenantScopeFilter, "status"]
    search_fields = ["message"]
    list_select_related = ["tenant"]
    # A full COUNT(*) on every page view is what makes big change lists slow.
    show_full_result_count = False
    ordering = ["-start_time", "-id"]
    fields = [
        "id",
        "tenant",
        "status",
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

    @admin.display(description="message")
    def short_message(self, job: AsyncStatus) -> str:
        return Truncator(job.message).chars(80)

    @admin.display(description="duration")
    def duration(self, job: AsyncStatus) -> str:
        if job.end_time is None:
            return f"{format_duration(timezone.now() - job.start_time)} (running)"
        return format_duration(job.end_time - job.start_time)

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

    def is_cancellable(self, obj: AsyncStatus) -> bool:
        return obj.is_pending

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Another tenant's job and a missing one look the same: 404, as in the API.
        raise Http404(f"No async status with id {object_id!r}.")
