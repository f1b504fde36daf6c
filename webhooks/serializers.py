"""The JSON of a webhook endpoint (jobdesk's own, not a vendor's)."""

from __future__ import annotations

from rest_framework import serializers

from jobs.api import StrictCharField
from jobs.registry import families
from webhooks.addresses import AddressRefused, check_url
from webhooks.models import EVENTS, Endpoint


class DistinctChoicesField(serializers.ListField):
    """A non-empty list of choices, each once, in the order given."""

    def __init__(self, *, choices, **kwargs) -> None:
        super().__init__(
            child=serializers.ChoiceField(choices=choices), allow_empty=False, **kwargs
        )

    def to_internal_value(self, data) -> list[str]:
        return list(dict.fromkeys(super().to_internal_value(data)))


class EndpointSerializer(serializers.ModelSerializer):
    """A webhook endpoint: where to send which changes of which families' jobs."""

    url = serializers.URLField(
        max_length=2000,
        help_text="Where jobdesk POSTs: https, on a public address.",
    )
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    families = DistinctChoicesField(
        choices=families.names(), help_text="The job families whose changes it receives."
    )
    events = DistinctChoicesField(
        choices=EVENTS,
        help_text="The kinds of change it receives: `progress` (a pending job changed), "
        "`finished`, `failed`, `cancelled`.",
    )
    is_active = serializers.BooleanField(required=False, help_text="Off: nothing is sent.")

    class Meta:
        model = Endpoint
        read_only_fields = [
            "secret_prefix",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "created_at",
            "updated_at",
        ]
        fields = ["id", "url", "description", "families", "events", "is_active", *read_only_fields]

    def validate_url(self, url: str) -> str:
        try:
            check_url(url)
        except AddressRefused as refused:
            raise serializers.ValidationError(str(refused)) from None
        return url


class CreatedEndpointSerializer(EndpointSerializer):
    """A new endpoint, with its signing secret: shown this once, never again."""

    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (see Jobdesk-Signature). Keep it now."
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]


class WebhookErrorSerializer(serializers.Serializer):
    """The webhooks API's error body."""

    detail = serializers.CharField(help_text="What was wrong.")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="For a body that does not validate: the messages of each field.",
    )
