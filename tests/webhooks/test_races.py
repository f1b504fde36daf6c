"""Two workers racing for one attempt: exactly one sends it (PostgreSQL, real connections)."""

from __future__ import annotations

import pytest

from tests.helpers import errors_of, run_together
from tests.jobs.drivers import drivers
from webhooks import services
from webhooks.models import Delivery

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_workers_attempting_one_delivery_send_it_once(tenant, make_endpoint, receiver):
    make_endpoint(tenant, receiver.url)
    family = drivers()[1]
    job = family.make(tenant)
    family.finish(job)  # autocommit: the delivery is recorded after the commit
    (delivery,) = Delivery.objects.for_tenant(tenant)

    results = run_together(*[lambda: services.delivery_attempt(delivery.pk)] * 4)

    assert errors_of(results) == []
    assert sum(result is not None for result in results) == 1
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DELIVERED, 1)
