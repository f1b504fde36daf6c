"""jobdesk's own JSON for any family's job: its timeline (not a vendor's wire format)."""

from __future__ import annotations

from rest_framework import serializers

from jobs.models import JobEvent


class BlankAsNullCharField(serializers.CharField):
    """Text that is null where the row holds none (e.g. the state before a job's creation)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_null=True, read_only=True, **kwargs)

    def to_representation(self, value) -> str | None:
        return value or None


class TimelineEventSerializer(serializers.ModelSerializer):
    """One step of a job: when, what, from which state to which, how far, who, the message."""

    at = serializers.DateTimeField(read_only=True, help_text="When it happened (UTC).")
    kind = serializers.ChoiceField(choices=JobEvent.Kind.choices, read_only=True)
    from_state = BlankAsNullCharField(help_text="The state before; null for the creation.")
    to_state = serializers.CharField(read_only=True, help_text="The state after, on the wire.")
    progress = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Percent done (0 to 100) where reported."
    )
    message = BlankAsNullCharField(help_text="The message the change set, if it set one.")
    actor = BlankAsNullCharField(
        source="actor_name",
        help_text="Who made the change: a username, `worker <id> (task <id>)` or "
        "`reap_stuck_jobs`; null when unknown.",
    )

    class Meta:
        model = JobEvent
        fields = ["at", "kind", "from_state", "to_state", "progress", "message", "actor"]


class TimelineSerializer(serializers.Serializer):
    """A job's timeline, oldest event first."""

    family = serializers.CharField(read_only=True, help_text="The job's family.")
    job_id = serializers.CharField(read_only=True, help_text="The job's id, as text.")
    events = TimelineEventSerializer(many=True, read_only=True)


class JobdeskErrorSerializer(serializers.Serializer):
    """jobdesk's own error body."""

    detail = serializers.CharField(help_text="What was wrong.")
