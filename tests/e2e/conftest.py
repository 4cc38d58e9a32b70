import pytest

from infra.views import LocalViews
from tests.support.event_schemas import schema_problems


@pytest.fixture(scope="session", autouse=True)
def every_event_of_the_run_matches_its_schema(local_stack):
    """After the last end-to-end test: every event the run put on the bus matches its JSON Schema
    in events/ (a failure here is reported as an error at teardown of the last test)."""
    yield
    problems = schema_problems(LocalViews(local_stack.stack).events())
    if problems:
        pytest.fail("events of this run that do not match their schema in events/:\n  " + "\n  ".join(problems[:50]))
