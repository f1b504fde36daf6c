from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from async_status.family import ASYNC_STATUS_READ
from progress.family import PROGRESS_READ
from tenancy.authentication import resolve_token
from tenancy.models import ApiToken, Membership, Tenant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def test_create_tenant_makes_a_tenant_with_a_project_id():
    output = run("create_tenant", "initech", "--name", "Initech", "--project-id", "proj-1")

    tenant = Tenant.objects.get(slug="initech")
    assert (tenant.name, tenant.project_id) == ("Initech", "proj-1")
    assert "proj-1" in output


def test_create_tenant_refuses_a_duplicate_slug(tenant):
    with pytest.raises(CommandError, match="Slug already exists"):
        run("create_tenant", tenant.slug)


def test_create_token_prints_a_working_key_once(tenant, make_member):
    user = make_member(tenant, "operations")

    output = run("create_token", user.username, tenant.slug, "--scope", "PROGRESS:READ")

    raw_key = output.strip()
    token = resolve_token(raw_key)
    assert token.user == user
    assert token.effective_permissions == {PROGRESS_READ}
    assert ApiToken.objects.get().digest != raw_key


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "acme"], "No user named"),
        (["{user}", "nowhere"], "No tenant"),
        (["{user}", "acme", "--scope", "EVERYTHING"], "Unknown scopes"),
        (["{user}", "acme", "--expires-in-days", "0"], "positive"),
    ],
)
def test_create_token_refuses_bad_input_and_issues_nothing(tenant, make_member, args, message):
    user = make_member(tenant)
    args = [arg.format(user=user.username) for arg in args]

    with pytest.raises(CommandError, match=message):
        run("create_token", *args)
    assert not ApiToken.objects.exists()


def test_create_token_refuses_a_user_without_membership(tenant):
    outsider = UserFactory()

    with pytest.raises(CommandError, match="no membership"):
        run("create_token", outsider.username, tenant.slug)


def test_demo_refuses_to_run_without_debug():
    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        run("demo")


def test_demo_is_idempotent_and_its_keys_work():
    first = run("demo", allow_without_debug=True)
    counts = (Tenant.objects.count(), get_user_model().objects.count(), ApiToken.objects.count())
    second = run("demo", allow_without_debug=True)

    assert counts == (
        Tenant.objects.count(),
        get_user_model().objects.count(),
        ApiToken.objects.count(),
    )
    assert counts == (2, 7, 6)
    assert Membership.objects.count() == 6
    assert first == second
    ops_key = next(word for word in first.split() if word == "jd_demo_acme_ops")
    assert ASYNC_STATUS_READ in resolve_token(ops_key).effective_permissions
