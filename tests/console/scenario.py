"""What the console and CLI tests do to the local stack first: onboardings and a failed login, over
HTTP, with the flow driver (tests/support/flows.py)."""

from tests.support import client, flows
from tests.support.client import ApiClient

WRONG_PASSWORD = "Not-The-Password-42!"


def invite(api: ApiClient, full_name: str = "Grace Hopper", tag: str = "waiting") -> tuple[str, str]:
    """A user whose onboarding waits at WaitForConfirmation: (user_id, email)."""
    invitation = flows.invite(api, api, tag, full_name)
    return invitation.user_id, invitation.email


def onboard(api: ApiClient, full_name: str = "Ada Lovelace", tag: str = "operator") -> tuple[str, str]:
    """A user onboarded to ACTIVE: (user_id, email)."""
    user = client.onboard(api, tag, full_name)
    return user.user_id, user.email


def failed_login(api: ApiClient, user_id: str, email: str) -> str:
    """Signs in with a wrong password; the name of the login execution that refused it."""
    refused = api.post("/login", {"email": email, "password": WRONG_PASSWORD})
    assert refused.status == 401, refused.body

    def refusing_execution() -> str | None:
        arns = (event["detail"].get("execution_arn") for event in api.local(f"events?user_id={user_id}&type=LoginFailed"))
        return next((arn for arn in arns if arn), None)

    return flows.wait_for(refusing_execution, 10, f"a LoginFailed event with an execution for {user_id}").rsplit(":", 1)[1]
