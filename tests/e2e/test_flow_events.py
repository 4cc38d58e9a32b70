"""Each sign-in and password flow emits exactly the events the catalogue's flow table promises, in order."""

import time

import pyotp
import pytest

from infra import catalogue
from tests.e2e.test_mfa import pending_seed
from tests.support.client import onboard
from tests.support.flows import current_otp, reset_password, sign_in, wait_for

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


def test_sign_in_flows_emit_their_events_in_order(api, local_stack):
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

    # The change revoked every session: a new sign-in's tokens log out.
    user.password = "Changed-Horse-3-Battery"
    tokens = sign_in(api, user).tokens
    seen = count(api, user.user_id)
    assert api.post("/logout", {"email": user.email, "access_token": tokens["access_token"]}).status == 200
    assert types_after(api, user.user_id, seen, flow("Logout")) == flow("Logout")

    seen = count(api, user.user_id)
    enrol = {"email": user.email, "password": "Changed-Horse-3-Battery", "otp_code": user.next_code()}
    assert api.post("/resend-mfa", enrol).status == 200
    new_seed = pending_seed(local_stack, user.user_id)
    assert api.post(f"/users/{user.user_id}/confirm-mfa", {"email": user.email, "otp": current_otp(new_seed)}).status == 200
    assert types_after(api, user.user_id, seen, flow("New authenticator added")) == flow("New authenticator added")


def test_password_flows_emit_their_events_in_order(api, local_stack):
    user = onboarded(api, "pwflows")
    seen = count(api, user.user_id)
    reset_password(api, api, user, "Reset-Flow-Horse-8")
    assert types_after(api, user.user_id, seen, flow("Password reset")) == flow("Password reset")

    seen = count(api, user.user_id)
    regenerate = {"email": user.email, "password": "Reset-Flow-Horse-8", "otp_code": user.otp(step_offset=1)}
    regenerated = api.post("/recovery-codes", regenerate)
    assert regenerated.status == 200
    assert types_after(api, user.user_id, seen, flow("Recovery codes regenerated")) == flow("Recovery codes regenerated")

    seen = count(api, user.user_id)
    enrol = {"email": user.email, "password": "Reset-Flow-Horse-8", "recovery_code": regenerated.json()["recovery_codes"][0]}
    assert api.post("/resend-mfa", enrol).status == 200
    new_seed = pending_seed(local_stack, user.user_id)
    assert api.post(f"/users/{user.user_id}/confirm-mfa", {"email": user.email, "otp": current_otp(new_seed)}).status == 200
    assert types_after(api, user.user_id, seen, flow("Lost authenticator replaced")) == flow("Lost authenticator replaced")

    tokens = sign_in(
        api, type(user)(user.email, user.user_id, "Reset-Flow-Horse-8", new_seed), otp=pyotp.TOTP(new_seed).at(time.time() + 30)
    ).tokens
    seen = count(api, user.user_id)
    deleted = api.request("DELETE", f"/users/{user.user_id}", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert deleted.status == 200
    assert types_after(api, user.user_id, seen, flow("User deleted")) == flow("User deleted")
