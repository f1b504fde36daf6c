"""Canvas-style pagination: a JSON array body and a `Link` header, without any COUNT query."""

from __future__ import annotations

import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
# Deep offsets are a full scan; nobody pages a million times through ten-row pages.
MAX_PAGE = 1_000_000
DIGITS = re.compile(r"[0-9]{1,9}")


def per_page_from(raw: str | None) -> int:
    """Return the page size as Canvas does: missing, junk or < 1 is the default; capped at 100."""
    if raw is None or not DIGITS.fullmatch(raw.strip()):
        return DEFAULT_PER_PAGE
    return min(int(raw) or DEFAULT_PER_PAGE, MAX_PER_PAGE)


def page_from(raw: str | None) -> int:
    """Return the 1-based page number; anything but 1..MAX_PAGE is the client's error."""
    if raw is None:
        return 1
    if DIGITS.fullmatch(raw.strip()) and 1 <= int(raw) <= MAX_PAGE:
        return int(raw)
    raise ValidationError({"page": f"Must be an integer from 1 to {MAX_PAGE}."})


class CanvasPagination(BasePagination):
    """`page` and `per_page` parameters; `Link` with current, next, prev and first.

    One row more than the page is fetched to learn whether a next page exists, so a page costs
    one query whatever its size; `last` is left out because it would need a COUNT.
    """

    def paginate_queryset(self, queryset, request: Request, view=None) -> list:
        self.request = request
        self.page = page_from(request.query_params.get("page"))
        self.per_page = per_page_from(request.query_params.get("per_page"))
        offset = (self.page - 1) * self.per_page
        rows = list(queryset[offset : offset + self.per_page + 1])
        self.has_next = len(rows) > self.per_page
        return rows[: self.per_page]

    def page_url(self, page: int) -> str:
        # A key sent as `access_token` never goes into a link (Canvas drops it too).
        url = remove_query_param(self.request.build_absolute_uri(), "access_token")
        url = replace_query_param(url, "page", page)
        return replace_query_param(url, "per_page", self.per_page)

    def links(self) -> str:
        """Return the `Link` header value, in Canvas' order of relations."""
        relations = [("current", self.page)]
        if self.has_next:
            relations.append(("next", self.page + 1))
        if self.page > 1:
            relations.append(("prev", self.page - 1))
        relations.append(("first", 1))
        return ",".join(f'<{self.page_url(page)}>; rel="{rel}"' for rel, page in relations)

    def get_paginated_response(self, data) -> Response:
        return Response(data, headers={"Link": self.links()})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return schema
