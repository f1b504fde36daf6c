"""jobdesk's admin site: Django's, refusing NUL characters in any admin URL with a 400.

PostgreSQL text cannot hold NUL, so a search, a list filter, a date or an object id with one
would reach a query and fail as a 500 on every list, including third-party apps' (the task
results of django-tasks). A NUL is never part of a meaningful admin URL.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import BadRequest

from jobs.parsers import has_nul


class JobdeskAdminSite(admin.AdminSite):
    """The default admin site, with every admin view refusing NUL in its URL."""

    def admin_view(self, view, cacheable=False):
        @wraps(view)
        def refuse_nul(request, *args, **kwargs):
            if "\x00" in request.path or has_nul(request.GET):
                raise BadRequest("NUL characters are not allowed in admin URLs.")
            return view(request, *args, **kwargs)

        return super().admin_view(refuse_nul, cacheable)


class JobdeskAdminConfig(AdminConfig):
    default_site = "jobs.admin_site.JobdeskAdminSite"
