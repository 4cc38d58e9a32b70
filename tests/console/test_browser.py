"""The local console in a real browser: headless Chromium (Debian's package) driven by Playwright.

After an onboarding and a failed login, an operator opens the console, finds each execution in the
list, opens its graph and sees the path it took; screenshots are saved in test-artifacts/.
Skipped, with the reason, where Chromium or Playwright is missing (`make test` installs Chromium
where it can)."""

import os
import shutil
from pathlib import Path

import pytest

from tests.console.scenario import failed_login, invite, onboard
from tests.support.flows import PASSWORD
from tests.support.workflow import HAPPY_PATH

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("AUTHFLOW_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        found = shutil.which("chromium")
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM}"
            + (f" (there is one at {found}: set AUTHFLOW_CHROMIUM={found})" if found and Path(found) != CHROMIUM else "")
            + ": install Debian's `chromium` package (`make test` does so as root) to run the browser test"
        )
    playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -r requirements-dev.txt)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1100})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}") if response.status >= 400 and "/_local/" in response.url else None
        ),
    )
    page.problems = problems
    yield page
    context.close()


def screenshot(page, name: str, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 10_000
    return path


def statuses(page) -> dict[str, str]:
    return page.eval_on_selector_all(
        "#graph svg g.state", "nodes => Object.fromEntries(nodes.map(n => [n.dataset.state, n.dataset.status]))"
    )


@pytest.fixture(scope="module")
def operator_user(api):
    return onboard(api, tag="browser")


def test_an_operator_finds_the_onboarding_and_the_failed_login_and_sees_their_paths(page, api, operator_user):
    user_id, email = operator_user
    waiting_id, _ = invite(api, tag="browser-waiting")

    # The list, filtered to the onboarding state machine, then the execution and its graph.
    page.goto(f"{api.local_url}/executions")
    assert page.title().startswith("Executions")
    page.select_option("#filter-state-machine", "OnboardingStateMachine")
    page.select_option("#filter-status", "SUCCEEDED")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/executions?state_machine=OnboardingStateMachine&status=SUCCEEDED")
    row = page.locator(f'tr[data-execution="{user_id}"]')
    assert row.count() == 1 and row.get_attribute("data-status") == "SUCCEEDED"
    assert page.locator(f'tr[data-execution="{waiting_id}"]').count() == 0
    screenshot(page, "console-executions.png", full_page=False)
    row.locator("a").click()
    page.wait_for_selector("#graph svg")
    assert page.inner_text("#execution-status") == "SUCCEEDED"
    graph = statuses(page)
    for state in ("Start", *HAPPY_PATH, "End"):
        assert graph[state] == "succeeded", (state, graph)
    assert graph["CompensateFailedOnboarding"] == "not-run" and graph["ExpireOnboarding"] == "not-run"
    box = page.locator("#graph svg").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 500
    assert page.locator("table.history tbody tr").count() > 20
    screenshot(page, "console-onboarding-execution.png")

    # A waiting onboarding shows where it waits.
    page.goto(f"{api.local_url}/executions/{waiting_id}")
    assert statuses(page)["WaitForConfirmation"] == "waiting"
    assert "WaitForConfirmation" in page.inner_text(".details-card dd.waiting")
    screenshot(page, "console-waiting-execution.png", full_page=False)

    # The failed login: found from its LoginFailed event, then its graph.
    login = failed_login(api, user_id, email)
    page.goto(f"{api.local_url}/events")
    page.fill("#filter-user", user_id)
    page.select_option("#filter-type", "LoginFailed")
    page.click("form.filters button[type=submit]")
    event = page.locator('tr[data-type="LoginFailed"]')
    assert event.count() == 1
    event.locator(f'a[href="/_local/executions/{login}"]').click()
    page.wait_for_selector("#graph svg")
    graph = statuses(page)
    assert graph["VerifyPassword"] == "caught" and graph["PasswordRefused"] == "succeeded"
    assert graph["VerifyMfaCode"] == "not-run" and graph["MfaCodeRefused"] == "not-run"
    assert "NotAuthorizedException" in page.inner_text(".io")
    screenshot(page, "console-login-execution.png")

    # ...and the login execution is in the list too.
    page.goto(f"{api.local_url}/executions?state_machine=LoginStateMachine")
    assert page.locator(f'tr[data-execution="{login}"]').count() == 1
    assert page.problems == []


def test_the_mail_page_shows_mail_as_the_user_sees_it_with_the_qr_code(page, api, operator_user):
    _, email = operator_user
    resent = api.post("/resend-mfa", {"email": email, "password": PASSWORD})
    page.goto(f"{api.local_url}/mail")
    page.fill("#filter-to", email)
    page.click("form.filters button[type=submit]")
    invitation = page.locator("article.mail", has_text="Your authflow account")
    assert invitation.count() == 1
    body = invitation.frame_locator("iframe.mail-body").locator("body")
    assert "Your temporary password" in body.inner_text()
    if resent.status == 200:  # the QR link mail: its picture is shown beside it, and loads
        qr_mail = page.locator("article.mail", has_text="QR")
        assert qr_mail.count() == 1
        image = qr_mail.locator(".mail-images img")
        assert image.count() == 1
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    screenshot(page, "console-mail.png", full_page=False)
    assert page.problems == []
