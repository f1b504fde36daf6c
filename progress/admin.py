"""Progress in the admin: a tenant-scoped, read-only list and detail, with cancel."""

from __future__ import annotations

from django.contrib import admin

from jobs.admin import JobAdmin, JobChangeList, StuckFilter, TenantScopeFilter, progress_bar
from progress.models import Progress


class SearchSkipsDateHierarchyChangeList(JobChangeList):
    """Leave out the date hierarchy's links while a search is on.

    The links take the distinct years (months, days) of the rows shown; over a free-text search
    at a million jobs that is a second full scan for a navigation aid nobody needs then.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.query:
            self.date_hierarchy = None


@admin.register(Progress)
class ProgressAdmin(JobAdmin):
    list_display = [
        "id",
        "tenant",
        "tag",
        "context",
        "state_badge",
        "completion_bar",
        "created_at",
        "duration",
    ]
    # No filters listing the distinct tags or context types: each would scan the whole table
    # on every page view. Search finds a tag; `?tag=...` still filters by URL.
    list_filter = [TenantScopeFilter, "workflow_state", StuckFilter, "created_at"]
    date_hierarchy = "created_at"
    list_select_related = ["tenant", "user"]
    # `context_id__exact` compares the id as text, so a search word that is not a number is safe.
    search_fields = ["tag", "message", "context_id__exact"]
    ordering = ["-created_at", "-id"]

    def get_changelist(self, request, **kwargs):
        return SearchSkipsDateHierarchyChangeList

    fields = [
        "tenant",
        "tag",
        ("context_type", "context_id"),
        "course_id",
        "user",
        "state_badge",
        "completion_bar",
        "message",
        "results",
        ("created_at", "updated_at", "duration"),
    ]
    readonly_fields = [
        "tenant",
        "tag",
        "context_type",
        "context_id",
        "course_id",
        "user",
        "state_badge",
        "completion_bar",
        "message",
        "results",
        "created_at",
        "updated_at",
        "duration",
    ]

    @admin.display(description="context")
    def context(self, progress: Progress) -> str:
        return f"{progress.context_type} {progress.context_id}"

    @admin.display(description="completion", ordering="completion")
    def completion_bar(self, progress: Progress) -> str:
        fraction = None if progress.completion is None else progress.completion / 100
        return progress_bar(fraction, finished=not progress.is_pending)
