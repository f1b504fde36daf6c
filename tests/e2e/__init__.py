"""End-to-end tests: jobdesk on a live HTTP server, seen by a browser and by generated clients."""

import pytest

# A live server commits to the database, which is flushed after each test; the serialized
# rollback restores what migrations seed (the roles) before the next one.
LIVE_DB = pytest.mark.django_db(transaction=True, serialized_rollback=True)
