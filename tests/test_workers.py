"""Each pytest-xdist worker starts with a cache key prefix, Redis database and ports of its own."""

import os

import pytest

from tests.workers import worker_environment

ENVIRON = {
    "JOBDESK_CACHE_KEY_PREFIX": "jobdesk-ci-7",
    "REDIS_URL": "redis://127.0.0.1:6379/2",
    "JOBDESK_TEST_PORTS": "18300-18399",
    "JOBDESK_TEST_PROXY_PORT": "18400",
}


def test_each_worker_gets_a_prefix_redis_database_and_ports_of_its_own():
    first, second = (worker_environment(f"gw{i}", i, 2, ENVIRON) for i in range(2))

    assert first == {
        "JOBDESK_CACHE_KEY_PREFIX": "jobdesk-ci-7-gw0",
        "REDIS_URL": "redis://127.0.0.1:6379/2",
        "JOBDESK_TEST_PORTS": "18300-18349",
        "JOBDESK_TEST_PROXY_PORT": "18400",
        "JOBDESK_ASGI_TEST_PORTS": "18400-18449",
    }
    assert second == {
        "JOBDESK_CACHE_KEY_PREFIX": "jobdesk-ci-7-gw1",
        "REDIS_URL": "redis://127.0.0.1:6379/3",
        "JOBDESK_TEST_PORTS": "18350-18399",
        "JOBDESK_TEST_PROXY_PORT": "18402",
        "JOBDESK_ASGI_TEST_PORTS": "18450-18499",
    }


def test_without_settings_a_worker_gets_a_prefix_and_asgi_ports_of_the_suites_defaults():
    # The ASGI tests' servers take the first free port of their range: two workers starting
    # one at once in the same range would take the same port.
    assert worker_environment("gw3", 3, 4, {}) == {
        "JOBDESK_CACHE_KEY_PREFIX": "jobdesk-test-gw3",
        "JOBDESK_ASGI_TEST_PORTS": "18475-18499",
    }


def test_the_asgi_ports_given_are_cut_in_one_slice_per_worker():
    ranges = [
        worker_environment(f"gw{i}", i, 2, {"JOBDESK_ASGI_TEST_PORTS": "19000-19099"})[
            "JOBDESK_ASGI_TEST_PORTS"
        ]
        for i in range(2)
    ]

    assert ranges == ["19000-19049", "19050-19099"]


def test_a_redis_url_naming_no_database_counts_from_database_0():
    env = worker_environment("gw1", 1, 2, {"REDIS_URL": "redis://:secret@127.0.0.1:6379"})

    assert env["REDIS_URL"] == "redis://:secret@127.0.0.1:6379/1"


def test_a_port_range_smaller_than_the_workers_is_refused():
    with pytest.raises(ValueError, match="fewer ports than the 4 workers"):
        worker_environment("gw0", 0, 4, {"JOBDESK_TEST_PORTS": "18300-18302"})


def test_a_worker_of_this_run_has_its_own_cache_key_prefix(settings):
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        pytest.skip("the suite runs in one process (no pytest-xdist worker)")

    assert settings.CACHE_KEY_PREFIX.endswith(f"-{worker}")
    assert settings.CACHES["default"]["KEY_PREFIX"] == settings.CACHE_KEY_PREFIX
