"""The committed OpenAPI document, as the end-to-end tests read it."""

from functools import cache
from pathlib import Path

import yaml
from django.conf import settings

SCHEMA_PATH = Path(settings.BASE_DIR) / "schema.yml"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@cache
def committed_schema() -> dict:
    """Return schema.yml, parsed."""
    return yaml.safe_load(SCHEMA_PATH.read_text())


def committed_operations() -> list[dict]:
    """Return every operation of schema.yml, in document order."""
    return [
        operation
        for item in committed_schema()["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def committed_tags() -> set[str]:
    """Return the tags that at least one operation of schema.yml carries."""
    return {tag for operation in committed_operations() for tag in operation.get("tags", [])}
