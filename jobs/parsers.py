"""Request body parsers that refuse bodies over the configured limit with a 413, and JSON or
form values that no field could store with a 400."""

from __future__ import annotations

import io
import math
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import APIException, ParseError

# Deeper JSON is refused before it reaches a serializer: Python's decoder and encoder recurse,
# and ~1,000 levels raise RecursionError (as a 500) wherever the value travels next.
MAX_JSON_DEPTH = 256


class BodyTooLarge(APIException):
    """The request body is larger than `DATA_UPLOAD_MAX_MEMORY_SIZE`."""

    status_code = 413
    default_detail = "The request body is too large."
    default_code = "body_too_large"


def read_bounded(stream, parser_context: dict | None) -> bytes:
    """Read the whole body, refusing more than the configured maximum."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    request = (parser_context or {}).get("request")
    if request is not None and limit is not None:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise BodyTooLarge()
    body = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(body) > limit:
        raise BodyTooLarge()
    return body


def text_problem(text: str) -> str | None:
    """Return why `text` cannot be stored (PostgreSQL refuses NUL and lone surrogates)."""
    if "\x00" in text:
        return "NUL characters are not allowed in text."
    try:
        text.encode()
    except UnicodeEncodeError:
        return "Text must be valid Unicode: a lone surrogate is not."
    return None


def has_nul(params: QueryDict) -> bool:
    """Return whether any name or value of the query `params` holds a NUL character."""
    return any("\x00" in name or "\x00" in "".join(values) for name, values in params.lists())


def number_problem(number: int | float) -> str | None:
    """Return why `number` cannot be stored: JSON numbers are IEEE doubles (RFC 8259, 6)."""
    try:
        finite = math.isfinite(number)
    except OverflowError:  # an integer beyond any double, e.g. 400 digits
        finite = False
    return None if finite else "Numbers must be finite and within a double's range."


def value_problem(value: Any, depth: int) -> str | None:
    """Return why the scalar `value` at `depth` cannot be stored, or None."""
    if depth > MAX_JSON_DEPTH:
        return f"JSON may nest at most {MAX_JSON_DEPTH} levels deep."
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_problem(value)
    return None


def refuse_unstorable(data: Any) -> Any:
    """Return parsed JSON `data`, or raise a 400 for a value no field could store.

    Walks without recursion, so the check itself cannot overflow the stack.
    """
    pending = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        problem = value_problem(value, depth)
        if isinstance(value, dict):
            problem = problem or next(filter(None, map(text_problem, value)), None)
            pending.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            pending.extend((child, depth + 1) for child in value)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
    return data


class BoundedJSONParser(parsers.JSONParser):
    """JSON bodies, up to `DATA_UPLOAD_MAX_MEMORY_SIZE` bytes, holding only storable values."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_bounded(stream, parser_context)
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested over {MAX_JSON_DEPTH} levels.") from None
        return refuse_unstorable(data)


class BoundedFormParser(parsers.FormParser):
    """URL-encoded form bodies, up to `DATA_UPLOAD_MAX_MEMORY_SIZE` bytes, without NUL."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_bounded(stream, parser_context)
        data = super().parse(io.BytesIO(body), media_type, parser_context)
        refuse_unstorable(dict(data.lists()))
        return data


class BoundedMultiPartParser(parsers.MultiPartParser):
    """Multipart form bodies, refused with 413 past `DATA_UPLOAD_MAX_MEMORY_SIZE`."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        declared = getattr(request, "META", {}).get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise BodyTooLarge()
        try:
            return super().parse(stream, media_type, parser_context)
        except RequestDataTooBig:
            raise BodyTooLarge() from None
