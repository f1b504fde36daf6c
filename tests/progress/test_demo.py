from io import StringIO

import pytest
from django.core.management import call_command

from progress.models import Progress

pytestmark = pytest.mark.django_db


def run_demo() -> str:
    out = StringIO()
    call_command("demo", allow_without_debug=True, base_url="http://demo.test", stdout=out)
    return out.getvalue()


def test_demo_makes_a_job_in_every_state_per_tenant_once_and_prints_curl():
    first = run_demo()
    second = run_demo()

    rows = Progress.objects.across_tenants().values_list("tenant__slug", "workflow_state")
    assert sorted(rows) == sorted(
        (slug, state) for slug in ("acme", "globex") for state in Progress.State.values
    )
    running = Progress.objects.across_tenants().get(tenant__slug="acme", workflow_state="running")
    curl = (
        f'curl -H "Authorization: Bearer jd_demo_acme_ops" '
        f"http://demo.test/api/v1/progress/{running.pk}"
    )
    assert curl in first
    assert curl in second


def test_demo_curl_line_works_against_the_api(api_client):
    run_demo()
    running = Progress.objects.across_tenants().get(tenant__slug="acme", workflow_state="running")

    response = api_client.get(
        f"/api/v1/progress/{running.pk}", HTTP_AUTHORIZATION="Bearer jd_demo_acme_ops"
    )

    assert response.json()["workflow_state"] == "running"
    assert response.json()["completion"] == 42.5
