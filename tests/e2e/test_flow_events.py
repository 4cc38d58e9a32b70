"""Each sign-in and password flow emits exactly the events the catalogue's flow table promises, in order."""

import time

import pytest

from infra import catalogue
from tests.support.client import onboard
from tests.support.flows import reset_password, sign_in, wait_for

pytestmark = pytest.mark.e2e


def types_after(api, user_id: str, seen: int, expected: list[str]) -> list[str]:
    """The event types of the user after the first `seen`, once as many as expected have arrived."""

    def arrived():
        types = [e["detail-type"] for e in api.local(f"events?user_id={user_id}")][seen:]
        return types if len(types) >= len(expected) else None

    wait_for(arrived, 10, f"{len(expected)} events of {user_id}")
    time.sleep(0.2)
    return [e["detail-type"] for e in api.local(f"events?user_id={user_id}")][seen:]


def count(api, user_id: str) -> int:
    return len(api.local(f"events?user_id={user_id}"))


def onboarded(api, prefix: str):
    """An ACTIVE user whose onboarding events have all arrived: the status turns ACTIVE before the last
    task publishes OnboardingCompleted, which would otherwise count as the next flow's first event."""
    user = onboard(api, prefix)
    last = flow("Onboarding")[-1]
    wait_for(lambda: last in [e["detail-type"] for e in api.local(f"events?user_id={user.user_id}")], 10, f"{last} of {user.user_id}")
    return user


def flow(name: str) -> list[str]:
    return catalogue.FLOWS[name]["events"]


def test_sign_in_flows_emit_their_events_in_order(api):
    user = onboarded(api, "flows")
    seen = count(api, user.user_id)
    tokens = sign_in(api, user).tokens
    assert types_after(api, user.user_id, seen, flow("Login")) == flow("Login")

    seen = count(api, user.user_id)
    assert api.post("/login", {"email": user.email, "password": "Wrong-Password-77"}).status == 401
    assert types_after(api, user.user_id, seen, flow("Login refused")) == flow("Login refused")

    seen = count(api, user.user_id)
    assert api.post("/refresh-token", {"email": user.email, "refresh_token": tokens["refresh_token"]}).status == 200
    assert types_after(api, user.user_id, seen, flow("Token refresh")) == flow("Token refresh")

    seen = count(api, user.user_id)
    changed = api.post(
        "/change-password",
        {"access_token": tokens["access_token"], "previous_password": user.password, "proposed_password": "Changed-Horse-3-Battery"},
    )
    assert changed.status == 200
    assert types_after(api, user.user_id, seen, flow("Password change")) == flow("Password change")

    seen = count(api, user.user_id)
    assert api.post("/logout", {"email": user.email, "access_token": tokens["access_token"]}).status == 200
    assert types_after(api, user.user_id, seen, flow("Logout")) == flow("Logout")


def test_password_flows_emit_their_events_in_order(api):
    user = onboarded(api, "pwflows")
    seen = count(api, user.user_id)
    reset_password(api, api, user, "Reset-Flow-Horse-8")
    assert types_after(api, user.user_id, seen, flow("Password reset")) == flow("Password reset")

    seen = count(api, user.user_id)
    assert api.post("/resend-mfa", {"email": user.email, "password": user.password}).status == 200
    assert types_after(api, user.user_id, seen, flow("MFA QR code resent")) == flow("MFA QR code resent")

    tokens = sign_in(api, user).tokens
    seen = count(api, user.user_id)
    deleted = api.request("DELETE", f"/users/{user.user_id}", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert deleted.status == 200
    assert types_after(api, user.user_id, seen, flow("User deleted")) == flow("User deleted")
