"""jobdesk's admin site: Django's, with a rate-limited login and no NUL or overflowing
number in any admin URL.

The login shares Traffic Ops' limit on wrong passwords per username and client address
(`tenancy.throttling`): the admin's cookie authenticates every API family, so an unlimited
form here would make that limit pointless. Past it the form answers 429 with `Retry-After`.

PostgreSQL text cannot hold NUL, so a search, a list filter, a date or an object id with one
would reach a query and fail as a 500 on every list, including third-party apps' (the task
results of django-tasks). A NUL is never part of a meaningful admin URL: 400.

Likewise a number beyond SQLite's 64-bit integers (`?tenant=<30 digits>`, a list filter
Django passes to the query as it is) fails as an `OverflowError` when the list is rendered:
it names no row, so 400 too. The page is rendered inside the check for that reason.
"""

from __future__ import annotations

from functools import wraps
from http import HTTPStatus

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import BadRequest, ValidationError
from django.template.response import SimpleTemplateResponse

from jobs.parsers import has_nul
from tenancy.throttling import LoginThrottled, authenticate_guarded


class ThrottledAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form, counting wrong passwords like every other login."""

    retry_after: int | None = None

    def clean(self) -> dict:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = authenticate_guarded(self.request, username, password)
            except LoginThrottled as throttled:
                self.retry_after = throttled.wait
                raise ValidationError(str(throttled), code="throttled") from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class JobdeskAdminSite(admin.AdminSite):
    """The default admin site, with a throttled login and every view refusing NUL or an
    overflowing number in its URL."""

    login_form = ThrottledAuthenticationForm

    def admin_view(self, view, cacheable=False):
        @wraps(view)
        def refuse_unreadable(request, *args, **kwargs):
            if "\x00" in request.path or has_nul(request.GET):
                raise BadRequest("NUL characters are not allowed in admin URLs.")
            try:
                response = view(request, *args, **kwargs)
                if isinstance(response, SimpleTemplateResponse):
                    response.render()
            except OverflowError:
                raise BadRequest("A number in this URL is too large.") from None
            return response

        return super().admin_view(refuse_unreadable, cacheable)

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        wait = getattr(form, "retry_after", None)
        if wait is not None:
            response.status_code = HTTPStatus.TOO_MANY_REQUESTS
            response["Retry-After"] = str(wait)
        return response
