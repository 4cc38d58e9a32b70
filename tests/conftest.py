import pytest

from infra.views import LocalViews
from tests.support.client import Admin, ApiClient, make_admin
from tests.support.stack import running_stack
from tests.support.workflow import stack_client


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


@pytest.fixture(scope="session")
def views(local_stack) -> LocalViews:
    return LocalViews(local_stack.stack)


# boto3 clients of the local stack's moto server, bound to it explicitly (see stack_client).


@pytest.fixture(scope="session")
def sfn(local_stack):
    return stack_client(local_stack, "stepfunctions")


@pytest.fixture(scope="session")
def cognito(local_stack):
    return stack_client(local_stack, "cognito-idp")


@pytest.fixture(scope="session")
def s3(local_stack):
    return stack_client(local_stack, "s3")
