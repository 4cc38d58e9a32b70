"""Ending every session of a user: at logout, a password change or reset, an MFA change, or by an operator.

Cognito's AdminUserGlobalSignOut (GlobalSignOut at logout) revokes the user's refresh and access tokens; their id tokens, which
Cognito never checks, stay valid until they expire. The time of the sign-out is recorded after
Cognito's (status.sign_outs), so TokenVerifier refuses every token issued before it, id tokens too.
"""

from pydantic import SecretStr

from authflow.adapters import Adapters


class SignOut:
    def __init__(self, adapters: Adapters):
        self.users = adapters.users
        self.sign_outs = adapters.sign_outs

    def everywhere(self, user_id: str) -> None:
        self.users.sign_out_user(user_id)
        self.sign_outs.record(user_id)

    def everywhere_by_the_user(self, user_id: str, access_token: SecretStr) -> None:
        """Logout: the user's own access token ends all their sessions (GlobalSignOut)."""
        self.users.sign_out_everywhere(access_token)
        self.sign_outs.record(user_id)
