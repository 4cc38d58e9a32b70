"""USER#<id>, MFA_SETUP: Cognito's MFA-enrolment session, kept between confirm and confirm-mfa."""

from datetime import timedelta

from pydantic import SecretStr

from authflow.status.table import TableStore, user_key


class MfaSessions(TableStore):
    def save(self, user_id: str, session: SecretStr, ttl: timedelta) -> None:
        self._call(
            "put_item",
            Item={**user_key(user_id, "MFA_SETUP"), "session": session.get_secret_value(), "expires_at": self._expires_at(ttl)},
        )

    def get(self, user_id: str) -> SecretStr | None:
        item = self._call("get_item", Key=user_key(user_id, "MFA_SETUP"), ConsistentRead=True).get("Item")
        if not item or self._expired(item):
            return None
        return SecretStr(item["session"])
