from io import StringIO

import pytest
from django.core.management import call_command

from async_status.models import AsyncStatus

pytestmark = pytest.mark.django_db


def run_demo() -> str:
    out = StringIO()
    call_command("demo", "--allow-without-debug", stdout=out)
    return out.getvalue()


def states() -> list[tuple[str, str]]:
    rows = AsyncStatus.objects.across_tenants().values_list("tenant__slug", "status")
    return sorted(rows)


def test_demo_makes_every_state_per_tenant_once_and_prints_curl_lines():
    first = run_demo()
    made = states()
    second = run_demo()

    assert states() == made
    for slug in ("acme", "globex"):
        assert {status for tenant, status in made if tenant == slug} == {
            "PENDING",
            "SUCCEEDED",
            "FAILED",
        }
    pending = AsyncStatus.objects.across_tenants().pending().get(tenant__slug="acme")
    for output in (first, second):
        assert (
            f'curl -H "Authorization: Bearer jd_demo_acme_ops" '
            f"http://127.0.0.1:8000/api/5.0/async_status/{pending.pk}" in output
        )
        assert 'curl -c jar -d \'{"u":"acme-ops","p":"jobdesk-demo"}\'' in output
        assert f"curl -b jar http://127.0.0.1:8000/api/5.0/async_status/{pending.pk}" in output
