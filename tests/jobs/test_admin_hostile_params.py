"""Hostile list parameters and object ids on every change list of the admin: never a 500.

Django answers an invalid lookup with a redirect to `?e=1`; jobdesk's own filters, dates and
ids answer a 400 or an empty list, as Django does for its own.
"""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ANSWERS = {200, 302, 400, 403, 404}
# Object pages with a NUL, a digit that is not a decimal one and an id beyond any bigint.
OBJECT_PAGES = [("%00", "change"), ("a%00", "history"), ("\u00b2", "change"), ("9" * 30, "history")]


def registered() -> list:
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def hostile_params(model_admin) -> list[dict]:
    """Return hostile query strings for `model_admin`'s change list."""
    params = [
        {"tenant": "\u00b2"},
        {"tenant": "\u0663"},
        {"tenant": "9" * 30},
        {"id__exact": "9" * 30},
        {"q": "a\x00b"},
        {"o": "\x00"},
        {"p": "\x00"},
        {"id__gt": "\x00"},
        {"pk__exact": "\x00"},
    ]
    hierarchy = model_admin.date_hierarchy
    if hierarchy:
        params += [
            {f"{hierarchy}__year": "99999"},
            {f"{hierarchy}__year": "2024", f"{hierarchy}__month": "13"},
            {f"{hierarchy}__year": "2024", f"{hierarchy}__month": "2", f"{hierarchy}__day": "40"},
            {f"{hierarchy}__year": "\x00"},
        ]
    for list_filter in model_admin.list_filter:
        if isinstance(list_filter, str):
            params += [{f"{list_filter}__exact": "\x00"}, {list_filter: "\x00"}]
        elif isinstance(list_filter, type):
            params.append({list_filter.parameter_name: "\x00"})
    return params


@pytest.fixture
def superuser() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    ("model", "model_admin"), registered(), ids=lambda item: getattr(item, "__name__", "")
)
def test_hostile_list_parameters_and_ids_are_never_a_server_error(superuser, model, model_admin):
    changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    requests = [(changelist, params) for params in hostile_params(model_admin)]
    requests += [(f"{changelist}{object_id}/{view}/", {}) for object_id, view in OBJECT_PAGES]

    answers = {str(request): superuser.get(*request).status_code for request in requests}

    assert {request: status for request, status in answers.items() if status not in ANSWERS} == {}
