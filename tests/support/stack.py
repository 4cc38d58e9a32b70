"""The local stack as the tests and the measures run it: on free ports of 127.0.0.1, stopped on the way out."""

from collections.abc import Iterator
from contextlib import contextmanager

from infra.stack import LocalStack


@contextmanager
def running_stack() -> Iterator[LocalStack]:
    stack = LocalStack(api_port=0).start()
    try:
        yield stack
    finally:
        stack.stop()
