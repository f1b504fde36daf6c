"""What every family's API views share: the permission a method needs, private responses,
the idempotent create, bounded ids and strict text.

A family's base view mixes in `FamilyAPIMixin` and names its `family`; the permission each
request needs comes from `permission_map` (the method's READ, CANCEL or WRITE permission of
the family, as DRF's `perms_map` and Sentry's `scope_map` do), and lists are scoped to the
tenants where the principal holds it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any, ClassVar

from django.http import HttpResponse
from rest_framework import serializers
from rest_framework.exceptions import APIException, ParseError
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request

from jobs import idempotency
from jobs.conditional import private_cache_control
from jobs.parsers import has_nul
from jobs.producers import producer_tenant
from tenancy.access import principal_for
from tenancy.models import Tenant

if TYPE_CHECKING:
    from jobs.family import JobFamily
    from jobs.models import JobQuerySet, TrackedJob

# Producers document JSON bodies: one request type per operation keeps generated clients
# simple (the form encodings are accepted too, for curl).
JSON = "application/json"
# Primary keys and other ids are PostgreSQL bigints: at most 19 digits, at most 2**63 - 1.
MAX_ID = 2**63 - 1
ID_PATTERN = re.compile(r"[0-9]{1,19}")


def parse_id(raw: str) -> int | None:
    """Return `raw` as a positive bigint id, or None for anything else (junk names nothing)."""
    if not ID_PATTERN.fullmatch(raw) or not 0 < int(raw) <= MAX_ID:
        return None
    return int(raw)


class LengthRequired(APIException):
    """A request body sent without `Content-Length` (chunked): WSGI hands Django none of it."""

    status_code = 411
    default_detail = "Send the request body with a Content-Length; chunked bodies are not read."
    default_code = "length_required"


class SoundRequestMixin:
    """Refuse requests that a view would misread, in the view's own error envelope.

    A chunked body reaches a WSGI application as an empty one, so a cancel's message or a
    producer's report would be silently dropped. NUL in the query string of a write is
    refused too (reads' filters already say which parameter is wrong).
    """

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if request.META.get("HTTP_TRANSFER_ENCODING", "identity").lower() != "identity":
            raise LengthRequired()
        if request.method not in SAFE_METHODS and has_nul(request.query_params):
            raise ParseError("NUL characters are not allowed in query parameters.")


class FamilyPermission(BasePermission):
    """Allow principals that hold the view's `required_permission` in at least one tenant."""

    def has_permission(self, request, view) -> bool:
        return principal_for(request).holds_anywhere(view.required_permission)


class PrivateResponsesMixin:
    """Give every response of an API view `Cache-Control: private, no-cache`."""

    def finalize_response(self, request, response, *args, **kwargs) -> HttpResponse:
        response = super().finalize_response(request, response, *args, **kwargs)
        return private_cache_control(response)


class FamilyAPIMixin(SoundRequestMixin, PrivateResponsesMixin):
    """A view of one family's API: the permission each method needs, scoped jobs, no sharing."""

    family: ClassVar[JobFamily]
    permission_classes = [IsAuthenticated, FamilyPermission]
    # Which of the family's permissions each method needs; others need READ.
    permission_map: ClassVar[dict[str, str]] = {"POST": "write", "PUT": "write"}

    @property
    def required_permission(self) -> str:
        method = self.request.method
        # A method the view does not serve keeps READ, so it is answered 405, not 403.
        kind = self.permission_map.get(method, "read") if hasattr(self, method.lower()) else "read"
        return getattr(self.family, f"{kind}_permission")

    def permitted_jobs(self) -> JobQuerySet:
        """Return the family's jobs in the tenants where the request's permission is held."""
        return self.family.model.objects.visible_to(
            principal_for(self.request), self.required_permission
        )

    def get_queryset(self) -> JobQuerySet:
        return self.permitted_jobs()


def create_once(
    request: Request,
    family: JobFamily,
    create: Callable[[Tenant], TrackedJob],
    *,
    fingerprint: Any,
    tenant: Tenant | None = None,
) -> TrackedJob:
    """Create a producer's job once per `Idempotency-Key`, and return it (or the first one).

    Without `tenant`, the job goes to the principal's one tenant where it may write (a
    token's own). The core's errors (`AmbiguousTenant`, `InvalidIdempotencyKey`,
    `IdempotencyKeyReused`) reach the family's exception handler, which answers them.
    """
    if tenant is None:
        tenant = producer_tenant(principal_for(request), family.write_permission)
    outcome = idempotency.create_once(
        tenant=tenant,
        family=family.name,
        key=idempotency.key_from(request.META),
        digest=idempotency.fingerprint(fingerprint),
        create=lambda: str(create(tenant).pk),
    )
    return family.model.objects.for_tenant(tenant).get(
        pk=family.model._meta.pk.to_python(outcome.job_id)
    )


class StrictCharField(serializers.CharField):
    """Text only: a number or a boolean is refused, not turned into a string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class UtcSecondsDateTimeField(serializers.DateTimeField):
    """A time in UTC with whole seconds and a `Z`, as Canvas and ROMA write them."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
