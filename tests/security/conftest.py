"""Security tests: a session summary of what they ran (schemathesis cases, checkov results, timings)."""

from tests.security import _summary


def pytest_terminal_summary(terminalreporter):
    summary = _summary.lines()
    if summary:
        terminalreporter.section("security tests")
        for line in summary:
            terminalreporter.write_line(line)
    _summary.write_artifact()
