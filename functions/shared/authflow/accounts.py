"""Deleting a user: the Cognito user, the QR object and every status record, and a UserDeleted event."""

from pydantic import SecretStr

from authflow import errors, events
from authflow.adapters import Adapters
from authflow.admins import Callers
from authflow.models import DeleteUserResponse, OnboardingStatus
from authflow.tokens import TokenUse

_FINISHED = (OnboardingStatus.ACTIVE, OnboardingStatus.EXPIRED, OnboardingStatus.FAILED)


class Accounts:
    def __init__(self, adapters: Adapters, callers: Callers):
        self.callers = callers
        self.users = adapters.users
        self.status = adapters.status
        self.claims = adapters.claims
        self.events = adapters.events
        self.qr_codes = adapters.qr_codes
        self.workflows = adapters.workflows

    def delete(self, user_id: str, token: SecretStr, request_id: str) -> DeleteUserResponse:
        """Users may delete themselves (access or id token, as CognitoApi's clients send); admins may delete anyone (checked live)."""
        caller = self.callers.identify(token, accept=(TokenUse.ACCESS, TokenUse.ID))
        if caller.user_id != user_id and not caller.is_admin:
            raise errors.Forbidden("Only the user or an administrator may delete this user.")
        record = self.status.get(user_id)
        if record is None:
            raise errors.UserNotFound()
        if record.status not in _FINISHED:
            self.workflows.stop(record.execution_arn, "UserDeleted", "The user was deleted during onboarding.")
        self.users.delete_user(user_id)
        self.qr_codes.delete(user_id)
        self.claims.release(record.email, user_id)
        self.status.delete_user_items(user_id, keep_status=False)
        self.events.publish(events.UserDeleted(user_id=user_id, request_id=request_id))
        return DeleteUserResponse(user_id=user_id)
