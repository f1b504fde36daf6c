"""The Progress object exactly as Canvas renders it (`lib/api/v1/progress.rb`)."""

from __future__ import annotations

import re

from django.urls import reverse
from rest_framework import serializers

from jobs.api import MAX_ID, StrictCharField, UtcSecondsDateTimeField
from progress.models import Progress

# Canvas renders ids as strings for clients that ask with this media type in `Accept`.
STRING_IDS_MEDIA_TYPE = "application/json+canvas-string-ids"
# Canvas' `Api.stringify_json_ids`: keys `id`, `*_id` (and `ids`, `*_ids` lists).
ID_KEY = re.compile(r"(?:^|_)id\Z")
IDS_KEY = re.compile(r"(?:^|_)ids\Z")


def wants_string_ids(request) -> bool:
    """Return True if the client asked Canvas to render ids as strings."""
    return STRING_IDS_MEDIA_TYPE in request.META.get("HTTP_ACCEPT", "")


class ProgressSerializer(serializers.ModelSerializer):
    """Canvas' Progress JSON: `results` only once the job finished, and only if it has any."""

    url_name = "progress:show"

    user_id = serializers.IntegerField(read_only=True, allow_null=True)
    completion = serializers.FloatField(read_only=True, allow_null=True)
    # Canvas renders times in UTC with whole seconds: "2013-01-15T15:00:00Z".
    created_at = UtcSecondsDateTimeField()
    updated_at = UtcSecondsDateTimeField()
    url = serializers.SerializerMethodField()
    results = serializers.JSONField(read_only=True)

    class Meta:
        model = Progress
        fields = [
            "id",
            "context_id",
            "context_type",
            "user_id",
            "tag",
            "completion",
            "workflow_state",
            "created_at",
            "updated_at",
            "message",
            "url",
            "results",
        ]
        read_only_fields = fields

    def get_url(self, progress: Progress) -> str:
        """Return the path where this job can be polled (made absolute for a request)."""
        return reverse(self.url_name, kwargs=self.url_kwargs(progress))

    def url_kwargs(self, progress: Progress) -> dict:
        return {"pk": progress.pk}

    def to_representation(self, progress: Progress) -> dict:
        data = super().to_representation(progress)
        if progress.is_pending or progress.results is None:
            del data["results"]
        request = self.context.get("request")
        return data if request is None else for_request(data, request)


def for_request(data: dict, request, url_path: str | None = None) -> dict:
    """Return a job's JSON as `request` gets it: an absolute `url`, string ids if asked for.

    Without a request the serializer gives the request-independent form (a `url` path, number
    ids), which is what poll snapshots keep.
    """
    data = dict(data)
    data["url"] = request.build_absolute_uri(url_path or data["url"])
    return stringified_ids(data) if wants_string_ids(request) else data


def stringified_ids(value):
    """Return `value` with every integer id turned into a string, at any depth.

    As Canvas' `Api.recursively_stringify_json_ids`: in every object, an integer under `id`
    or `*_id`, and each integer of a list under `ids` or `*_ids`; other values are kept.
    """
    if isinstance(value, list):
        return [stringified_ids(item) for item in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        if ID_KEY.search(key) and is_integer(item):
            result[key] = str(item)
        elif IDS_KEY.search(key) and isinstance(item, list):
            result[key] = [str(one) if is_integer(one) else stringified_ids(one) for one in item]
        else:
            result[key] = stringified_ids(item)
    return result


def is_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class LtiProgressSerializer(ProgressSerializer):
    """The same JSON, with `url` pointing at the LTI route a tool polls."""

    url_name = "progress:lti-show"

    def url_kwargs(self, progress: Progress) -> dict:
        return {"course_id": progress.course_id, "pk": progress.pk}


# The states a producer may move a job to, each through its service transition.
PRODUCER_STATES = ["running", "completed", "failed", "waiting_for_external_tool"]


class ProgressCreateSerializer(serializers.Serializer):
    """A producer's `POST /api/v1/progress` body."""

    tag = StrictCharField(max_length=255)
    context_type = StrictCharField(max_length=255)
    context_id = serializers.IntegerField(min_value=0, max_value=MAX_ID)
    course_id = serializers.IntegerField(
        min_value=0, max_value=MAX_ID, required=False, allow_null=True
    )
    message = StrictCharField(required=False, allow_null=True, allow_blank=True)


class ProgressUpdateSerializer(serializers.Serializer):
    """A producer's `PUT /api/v1/progress/:id` body: any of these fields, at least one."""

    # Text checked below, not a ChoiceField: its enum would clash with the Progress JSON's.
    workflow_state = StrictCharField(
        required=False, help_text=f"One of {', '.join(PRODUCER_STATES)}."
    )
    completion = serializers.FloatField(required=False)
    message = StrictCharField(required=False, allow_null=True, allow_blank=True)
    results = serializers.JSONField(required=False, allow_null=True)

    def validate_workflow_state(self, value: str) -> str:
        if value not in PRODUCER_STATES:
            raise serializers.ValidationError(f"Use one of {', '.join(PRODUCER_STATES)}.")
        return value

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError(
                "Give at least one of workflow_state, completion, message, results."
            )
        if "results" in attrs and attrs.get("workflow_state") not in ("completed", "failed"):
            raise serializers.ValidationError(
                {"results": "Results are given with workflow_state completed or failed."}
            )
        return attrs
