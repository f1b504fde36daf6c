"""The demo command's operations: one in each state per demo tenant, made once."""

from io import StringIO

import pytest
from django.core.management import call_command

from lro.models import Operation

pytestmark = pytest.mark.django_db


def run_demo() -> str:
    out = StringIO()
    call_command("demo", "--allow-without-debug", stdout=out)
    return out.getvalue()


def states() -> list[tuple[str, str]]:
    return sorted(Operation.objects.across_tenants().values_list("tenant__slug", "state"))


def test_demo_makes_every_state_per_tenant_once_and_prints_curl_lines():
    first = run_demo()
    made = states()
    second = run_demo()

    assert states() == made
    for slug in ("acme", "globex"):
        assert [state for tenant, state in made if tenant == slug] == sorted(Operation.State)
    running = Operation.objects.across_tenants().select_related("tenant")
    running = running.get(tenant__slug="acme", state=Operation.State.RUNNING)
    for output in (first, second):
        assert (
            f'curl -H "Authorization: Bearer jd_demo_acme_ops" '
            f"http://127.0.0.1:8000/v1/{running.name}" in output
        )
