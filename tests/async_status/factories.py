"""Factories for async statuses; finished ones go through the services, as in production."""

import factory

from async_status.models import AsyncStatus
from tests.factories import TenantFactory


class AsyncStatusFactory(factory.django.DjangoModelFactory):
    """A PENDING async status (use `make_job` for other states)."""

    class Meta:
        model = AsyncStatus

    tenant = factory.SubFactory(TenantFactory)
    message = "Async job has started."

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        job = model_class(*args, **kwargs)
        job.save(force_insert=True)
        return job
