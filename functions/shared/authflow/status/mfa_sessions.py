"""USER#<id>, MFA_SETUP: what verifies a new TOTP seed's first code, kept until confirm-mfa.

At onboarding (and when re-enrolling with a recovery code) it is Cognito's MFA_SETUP session; when an
active user adds a device with a current code, it is the access token that code earned, which
verifies the new seed while the old one keeps working.
"""

from dataclasses import dataclass
from datetime import timedelta

from pydantic import SecretStr

from authflow.status.table import TableStore, user_key


@dataclass(frozen=True)
class PendingEnrolment:
    credential: SecretStr
    by_access_token: bool


class MfaSessions(TableStore):
    def save(self, user_id: str, credential: SecretStr, ttl: timedelta, by_access_token: bool = False) -> None:
        item = {
            **user_key(user_id, "MFA_SETUP"),
            "session": credential.get_secret_value(),
            "by_access_token": by_access_token,
            "expires_at": self._expires_at(ttl),
        }
        self._call("put_item", Item=item)

    def get(self, user_id: str) -> PendingEnrolment | None:
        item = self._call("get_item", Key=user_key(user_id, "MFA_SETUP"), ConsistentRead=True).get("Item")
        if not item or self._expired(item):
            return None
        return PendingEnrolment(SecretStr(item["session"]), bool(item.get("by_access_token", False)))

    def discard(self, user_id: str) -> None:
        self._call("delete_item", Key=user_key(user_id, "MFA_SETUP"))
