from collections.abc import Callable

import boto3
import pytest

from infra.views import LocalViews
from tests.support.event_schemas import schema_problems
from tests.support.flows import wait_for

QUEUED = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")


@pytest.fixture(scope="session", autouse=True)
def every_event_of_the_run_matches_its_schema(local_stack):
    """After the last end-to-end test: every event the run put on the bus matches its JSON Schema
    in events/ (a failure here is reported as an error at teardown of the last test)."""
    yield
    problems = schema_problems(LocalViews(local_stack.stack).events())
    if problems:
        pytest.fail("events of this run that do not match their schema in events/:\n  " + "\n  ".join(problems[:50]))


@pytest.fixture
def mail_requests_handled(local_stack) -> Callable[[], None]:
    """Waits until MailRequestFunction has taken every queued request: the mail routes answer before
    their work is done, so "no mail came" means something only after this."""
    sqs, queue_url = boto3.client("sqs"), local_stack.stack.refs["MailRequestQueue"]

    def handled() -> None:
        def drained() -> bool:
            counts = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(QUEUED))["Attributes"]
            return all(counts[name] == "0" for name in QUEUED)

        wait_for(drained, 30, "the mail request queue drained")

    return handled
