"""Request body parsers that refuse bodies over the configured limit with a 413."""

from __future__ import annotations

import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import parsers
from rest_framework.exceptions import APIException


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


class BoundedJSONParser(parsers.JSONParser):
    """JSON bodies, up to `DATA_UPLOAD_MAX_MEMORY_SIZE` bytes."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_bounded(stream, parser_context)
        return super().parse(io.BytesIO(body), media_type, parser_context)


class BoundedFormParser(parsers.FormParser):
    """URL-encoded form bodies, up to `DATA_UPLOAD_MAX_MEMORY_SIZE` bytes."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_bounded(stream, parser_context)
        return super().parse(io.BytesIO(body), media_type, parser_context)


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
