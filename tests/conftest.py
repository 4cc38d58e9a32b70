import os
from collections.abc import Callable

import pytest

from infra.views import LocalViews
from tests.security import _summary
from tests.support.client import Admin, ApiClient, make_admin
from tests.support.flows import wait_for
from tests.support.stack import running_stack
from tests.support.workflow import stack_client

QUEUED = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")

# pytest-xdist's workers start with COLUMNS=80, which the CLI's module-level rich consoles would keep
# from their import on; the CLI tests give each run its own COLUMNS.
os.environ.pop("COLUMNS", None)


def _uses_in_process_aws(item) -> bool:
    return "in_process_aws" in getattr(item, "fixturenames", ()) or item.get_closest_marker("in_process_aws") is not None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Unit tests on moto's in-process mock run first, before the local stack starts: the mock changes
    process-wide AWS settings (endpoint, region) that the stack's threads would otherwise pick up and
    keep in their cached clients.

    Under pytest-xdist (`make test` runs two workers, `--dist loadgroup`), those tests form one group,
    the first scheduled, so the worker that takes them runs them before it starts its local stack;
    every other module is a group of its own, so its module-scoped fixtures are made once."""
    items.sort(key=lambda item: not _uses_in_process_aws(item))
    for item in items:
        group = "in_process_aws" if _uses_in_process_aws(item) else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):
        _summary.discard_parts()  # left by an interrupted run


def pytest_sessionfinish(session):
    """Each xdist worker leaves the security figures it collected for the controller to print."""
    worker = getattr(session.config, "workerinput", {}).get("workerid")
    if worker:
        _summary.save_part(worker)


def pytest_terminal_summary(terminalreporter, config):
    """The security tests' figures (tests/security/_summary.py), merged from every worker by the
    controller (xdist's workers run this hook too, into output nobody sees)."""
    if hasattr(config, "workerinput"):
        return
    _summary.merge_parts()
    summary = _summary.lines()
    if summary:
        terminalreporter.section("security tests")
        for line in summary:
            terminalreporter.write_line(line)
    _summary.write_artifact()


@pytest.fixture(scope="session")
def local_stack():
    """The whole local stack, once per test session, on free ports of 127.0.0.1.

    Every function is cold-started here, on this thread, before any test: a cold start swaps the
    shared package's modules in sys.modules for the function's own copy while it imports (infra's
    LocalLambdaRuntime), and one begun later by a background thread (an SQS poller, an execution)
    would hand a test that imports meanwhile a copy of the package whose classes are not its own."""
    with running_stack() as stack:
        stack.runtime.load_all()
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


@pytest.fixture
def mail_requests_handled(local_stack) -> Callable[[], None]:
    """Waits until MailRequestFunction has taken every queued request: the mail routes answer before
    their work is done, so "no mail came" means something only after this."""
    sqs, queue_url = stack_client(local_stack, "sqs"), local_stack.stack.refs["MailRequestQueue"]

    def handled() -> None:
        def drained() -> bool:
            counts = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(QUEUED))["Attributes"]
            return all(counts[name] == "0" for name in QUEUED)

        wait_for(drained, 30, "the mail request queue drained")

    return handled
