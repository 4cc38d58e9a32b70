import pytest

from tests.support.client import Admin, ApiClient, make_admin
from tests.support.stack import running_stack


def pytest_collection_modifyitems(items):
    """Unit tests on moto's in-process mock run first, before the local stack starts: the mock changes
    process-wide AWS settings (endpoint, region) that the stack's threads would otherwise pick up and
    keep in their cached clients."""
    items.sort(key=lambda item: not ("in_process_aws" in getattr(item, "fixturenames", ()) or item.get_closest_marker("in_process_aws")))


@pytest.fixture(scope="session")
def local_stack():
    """The whole local stack, once per test session, on free ports of 127.0.0.1."""
    with running_stack() as stack:
        yield stack


@pytest.fixture(scope="session")
def api(local_stack) -> ApiClient:
    return ApiClient(local_stack.api_url, local_stack.local_url, local_stack.api_key)


@pytest.fixture(scope="session")
def admin(api) -> Admin:
    """A member of the admins group, signed in: its access token opens the admin routes."""
    return make_admin(api)
