"""Progress in the admin: a tenant-scoped, read-only list and detail, with cancel."""

from __future__ import annotations

from django.contrib import admin

from jobs.admin import (
    JobAdmin,
    JobChangeList,
    StuckFilter,
    TenantScopeFilter,
    compact_time,
    progress_bar,
    two_lines,
)
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
    # Narrow enough for 1280 px with the admin's sidebars: tenant and context under the tag,
    # the duration under the creation time.
    list_display = ["id", "job", "state_badge", "completion_bar", "created"]
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

    @admin.display(description="job", ordering="tag")
    def job(self, progress: Progress) -> str:
        return two_lines(progress.tag, f"{progress.tenant} · {self.context(progress)}")

    @admin.display(description="created", ordering="created_at")
    def created(self, progress: Progress) -> str:
        return two_lines(compact_time(progress.created_at), self.duration(progress))

    @admin.display(description="completion", ordering="completion")
    def completion_bar(self, progress: Progress) -> str:
        fraction = None if progress.completion is None else progress.completion / 100
        return progress_bar(fraction, finished=not progress.is_pending)
