import pytest

from tests.support.client import ApiClient
from infra.stack import LocalStack


@pytest.fixture(scope="session")
def local_stack():
    """The whole local stack, once per test session, on free ports of 127.0.0.1."""
    stack = LocalStack(api_port=0).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def api(local_stack) -> ApiClient:
    return ApiClient(local_stack.api_url, local_stack.local_url, local_stack.api_key)
