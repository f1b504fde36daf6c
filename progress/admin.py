"""Progress in the admin: a tenant-scoped, read-only list and detail, with cancel."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.paginator import Paginator
from django.http import Http404
from django.utils.functional import cached_property

from progress.models import Progress
from progress.services import progress_cancel
from tenancy.admin import CancelJobsAdminMixin, TenantScopeFilter, progress_bar
from tenancy.permissions import Perm

ADMIN_CANCEL_MESSAGE = "Canceled by an operator."


class CappedCountPaginator(Paginator):
    """Count at most `max_count` rows, so a page view never counts a million-row table.

    Past the cap the list shows `max_count` + 1 rows' worth of pages; filters narrow it.
    """

    max_count = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.max_count + 1].count()


@admin.register(Progress)
class ProgressAdmin(CancelJobsAdminMixin, admin.ModelAdmin):
    tenant_read_permission = Perm.PROGRESS_READ
    tenant_cancel_permission = Perm.PROGRESS_CANCEL

    list_display = [
        "id",
        "tenant",
        "tag",
        "context",
        "workflow_state",
        "completion_bar",
        "created_at",
        "updated_at",
    ]
    list_filter = [TenantScopeFilter, "workflow_state", "tag", "context_type"]
    list_select_related = ["tenant", "user"]
    # `context_id__exact` compares the id as text, so a search word that is not a number is safe.
    search_fields = ["tag", "message", "context_id__exact"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    # A full COUNT(*) on every page view is too slow at a million rows.
    show_full_result_count = False
    paginator = CappedCountPaginator
    fields = [
        "tenant",
        "tag",
        ("context_type", "context_id"),
        "course_id",
        "user",
        "workflow_state",
        "completion_bar",
        "message",
        "results",
        ("created_at", "updated_at"),
    ]
    readonly_fields = [
        "tenant",
        "tag",
        "context_type",
        "context_id",
        "course_id",
        "user",
        "workflow_state",
        "completion_bar",
        "message",
        "results",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="context")
    def context(self, progress: Progress) -> str:
        return f"{progress.context_type} {progress.context_id}"

    @admin.display(description="completion", ordering="completion")
    def completion_bar(self, progress: Progress) -> str:
        fraction = None if progress.completion is None else progress.completion / 100
        return progress_bar(fraction)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Another tenant's job answers like a missing one: a plain 404, as in the API.
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404(f"No progress with id {object_id!r}.")
        return super().change_view(request, object_id, form_url, extra_context)

    def is_cancellable(self, progress: Progress) -> bool:
        return progress.is_pending

    def cancel_job(self, request, progress: Progress) -> bool:
        return progress_cancel(progress, actor=request.user, message=ADMIN_CANCEL_MESSAGE)
