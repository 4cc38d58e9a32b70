"""What moto's Cognito lacks and AWS's does, added for the local stack.

- AdminCreateUser without TemporaryPassword: Cognito generates one that meets the pool's policy.
- MessageAction RESEND: Cognito keeps the user, sets a new temporary password and mails it again
  (moto re-creates the user, dropping its attributes, and sends nothing); only for users who have
  not confirmed yet (UnsupportedUserStateException otherwise).
- Invitation mail: Cognito calls the pool's CustomMessage trigger with codeParameter/usernameParameter
  placeholders, replaces them in the message it returns and sends the mail; here the mail goes to
  moto's SES outbox, which /_local/mail shows.
- ForgotPassword: Cognito mails a 6-digit code through the CustomMessage trigger
  (CustomMessage_ForgotPassword) and ConfirmForgotPassword checks it (CodeMismatchException), its
  one-hour validity (ExpiredCodeException) and the password policy; moto accepts any code not
  prefixed "moto-confirmation-code:" and mails nothing.
- Lockout: after 5 consecutive wrong passwords Cognito answers NotAuthorizedException "Password
  attempts exceeded" for a while (here 15 minutes); moto never locks.
- Post authentication and pre token generation triggers: Cognito calls them when a sign-in
  completes (and pre token generation again for each refresh); moto calls none.
- Client metadata: Cognito hands AdminRespondToAuthChallenge's (and RespondToAuthChallenge's)
  ClientMetadata to the post authentication and pre token generation triggers it calls, as the
  event's request.clientMetadata; moto drops it.
- An unknown refresh token: Cognito answers NotAuthorizedException; moto fails with a KeyError.
- AdminResetUserPassword: Cognito mails a reset code through the CustomMessage trigger
  (CustomMessage_ForgotPassword) and, until the user sets a new password with it, refuses the password
  step with PasswordResetRequiredException; moto mails nothing and answers NEW_PASSWORD_REQUIRED.
- TOTP reuse: Cognito refuses a code already used to sign in (ExpiredCodeException); moto accepts it.
- TOTP: moto gives every user one fixed 60-bit secret ("asdfasdfasdf", which authenticator apps and
  pyotp refuse) and checks codes against it. Cognito draws a 160-bit secret per AssociateSoftwareToken,
  verifies VerifySoftwareToken against it, then signs that user in with it (the previous secret keeps
  working until the new one is verified); codes of the adjacent 30-second step are accepted (moto:
  current step only). Here moto's own TOTP check is off and these wrappers check the user's secret.
- Password length: Cognito accepts passwords of up to 256 characters; moto refuses 99 and more.
- Challenge sessions: moto answers a challenge for whatever USERNAME the answer names (looked up by
  username only); Cognito binds the session to the user it was issued for and refuses another
  (NotAuthorizedException), and takes an alias (the email here) as well as the username.
- A user without TOTP (disabled with AdminSetUserMFAPreference) in a pool that requires MFA:
  Cognito's next sign-in asks for a new enrolment (MFA_SETUP); moto keeps the verified token, and its
  password sign-in of a user without MFA hands out tokens.
- The app client's secret: Cognito refuses every call a client with a secret authorises
  (AdminInitiateAuth and InitiateAuth of every flow, refresh included; their challenge answers;
  ForgotPassword and ConfirmForgotPassword) without the SECRET_HASH of the user it names
  (NotAuthorizedException); moto checks it only on SRP and public refresh sign-ins and on the TOTP answer.
"""

import base64
import functools
import secrets
import string
import threading
import time
import uuid

from cryptography.hazmat.primitives.twofactor import InvalidToken
from moto.cognitoidp import models as cognito_models
from moto.cognitoidp.exceptions import CodeMismatchException, ExpiredCodeException, InvalidPasswordException, NotAuthorizedError
from moto.cognitoidp.models import CognitoIdpBackend, UserStatus, cognitoidp_backends, find_account_region_by_value
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.cognitoidp.utils import check_secret_hash, verify_totp
from moto.core.exceptions import JsonRESTError
from moto.ses.models import ses_backends

from authflow.users import secret_hash
from infra.lambda_runtime import InvocationError, LocalLambdaRuntime

COGNITO_DEFAULT_SENDER = "no-reply@verificationemail.com"
CODE_PARAMETER = "{####}"
USERNAME_PARAMETER = "{username}"
COGNITO_DEFAULT_MESSAGES = {
    "CustomMessage_AdminCreateUser": (
        "Your temporary password",
        f"Your username is {USERNAME_PARAMETER} and temporary password is {CODE_PARAMETER}.",
    ),
    "CustomMessage_ForgotPassword": ("Your verification code", f"Your verification code is {CODE_PARAMETER}."),
}
RESET_CODE_VALIDITY_SECONDS = 3600
LOCKOUT_AFTER_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
TOTP_REUSE_SECONDS = 90
COGNITO_MAXIMUM_PASSWORD_LENGTH = 256
_SYMBOLS = "^$*.[]{}()?-\"!@#%&/\\,><':;|_~`+="


class UnsupportedUserStateException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__("UnsupportedUserStateException", message)


class PasswordResetRequiredException(JsonRESTError):
    def __init__(self) -> None:
        super().__init__("PasswordResetRequiredException", "Password reset required for the user")


class UserLambdaValidationException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__("UserLambdaValidationException", message)


def temporary_password(policy: dict) -> str:
    """A random password meeting the pool's policy, as Cognito generates for invitations."""
    length = max(int(policy.get("MinimumLength", 8)), 12)
    alphabet = string.ascii_letters + string.digits + _SYMBOLS
    required = [
        secrets.choice(string.ascii_lowercase),
        secrets.choice(string.ascii_uppercase),
        secrets.choice(string.digits),
        secrets.choice(_SYMBOLS),
    ]
    chars = required + [secrets.choice(alphabet) for _ in range(length - len(required))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _groups(user) -> dict:
    return {
        "groupConfiguration": {
            "groupsToOverride": sorted(g.group_name for g in user.groups),
            "iamRolesToOverride": [],
            "preferredRole": None,
        }
    }


def _flatten(attributes: list[dict]) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in attributes}


def _totp_secret() -> str:
    """A 160-bit base32 secret, as Cognito's AssociateSoftwareToken returns."""
    return base64.b32encode(secrets.token_bytes(20)).decode()


def _totp_code_matches(secret: str | None, code: str) -> bool:
    if not secret:
        return False
    try:
        cognito_models.verify_totp(cognito_models.cognito_totp(secret), code.encode())
    except InvalidToken:
        return False
    return True


def _user_named(pool, name: str):
    """The user a USERNAME designates: its username, or its email where the pool makes email an alias."""
    user = pool._get_user(name)
    if user is None and "email" in (pool.extended_config.get("AliasAttributes") or []):
        user = next((u for u in pool.users.values() if _flatten(u.attributes).get("email") == name.lower()), None)
    return user


class _AuthLedger:
    """Failed passwords per user and TOTP codes already used, which Cognito remembers and moto does not."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures: dict[tuple[str, str], list[float]] = {}
        self.used_codes: dict[tuple[str, str, str], float] = {}

    def locked(self, key: tuple[str, str]) -> bool:
        with self.lock:
            failures = self.failures.get(key, [])
            return len(failures) >= LOCKOUT_AFTER_FAILURES and time.time() - failures[-1] < LOCKOUT_SECONDS

    def record(self, key: tuple[str, str], succeeded: bool) -> None:
        with self.lock:
            if succeeded:
                self.failures.pop(key, None)
            else:
                self.failures.setdefault(key, []).append(time.time())

    def use_code(self, key: tuple[str, str, str]) -> bool:
        """False if the code was already used within its validity."""
        with self.lock:
            now = time.time()
            if now - self.used_codes.get(key, 0) < TOTP_REUSE_SECONDS:
                return False
            self.used_codes[key] = now
            return True


# The ClientMetadata of the challenge answer this thread is serving, for the triggers the sign-in calls.
_answering = threading.local()


def _pass_client_metadata(action: str) -> None:
    """The response's action keeps the request's ClientMetadata where log_user_in's triggers find it."""
    original = getattr(CognitoIdpResponse, action)

    @functools.wraps(original)
    def answer(self):
        _answering.client_metadata = self._get_param("ClientMetadata") or {}
        try:
            return original(self)
        finally:
            _answering.client_metadata = {}

    setattr(CognitoIdpResponse, action, answer)


def install(runtime: LocalLambdaRuntime) -> None:
    ledger = _AuthLedger()
    for action in ("admin_respond_to_auth_challenge", "respond_to_auth_challenge"):
        _pass_client_metadata(action)
    cognito_models.verify_totp = functools.partial(verify_totp, valid_window=1)
    # moto checks every code against its one shared secret; the wrappers below check the user's own.
    cognito_models.get_cognito_idp_user_pool_enable_totp = lambda: False
    original_create = CognitoIdpBackend.admin_create_user

    def trigger(
        backend: CognitoIdpBackend, pool, user, kind: str, trigger_source: str, request: dict, response: dict, client_id: str
    ) -> dict | None:
        """Invokes the pool's trigger of this kind with AWS's event shape; its answer, or None if none is set."""
        trigger_arn = (pool.extended_config.get("LambdaConfig") or {}).get(kind)
        if not trigger_arn:
            return None
        event = {
            "version": "1",
            "triggerSource": trigger_source,
            "region": backend.region_name,
            "userPoolId": pool.id,
            "userName": user.username,
            "callerContext": {"awsSdkVersion": "aws-sdk-unknown", "clientId": client_id},
            "request": {"userAttributes": _flatten(user.attributes), **request},
            "response": response,
        }
        try:
            return runtime.invoke(trigger_arn, event)
        except InvocationError as error:
            raise UserLambdaValidationException(f"{kind} failed with error {error}.") from None

    def deliver(backend: CognitoIdpBackend, pool, user, trigger_source: str, code: str) -> None:
        attributes = _flatten(user.attributes)
        subject, message = COGNITO_DEFAULT_MESSAGES[trigger_source]
        result = trigger(
            backend,
            pool,
            user,
            "CustomMessage",
            trigger_source,
            {"codeParameter": CODE_PARAMETER, "usernameParameter": USERNAME_PARAMETER},
            {"smsMessage": None, "emailMessage": None, "emailSubject": None},
            "CLIENT_ID_NOT_APPLICABLE",
        )
        if result:
            subject = result["response"].get("emailSubject") or subject
            message = result["response"].get("emailMessage") or message
        message = message.replace(CODE_PARAMETER, code).replace(USERNAME_PARAMETER, user.username)
        email_configuration = pool.extended_config.get("EmailConfiguration") or {}
        sender = email_configuration.get("From") or COGNITO_DEFAULT_SENDER
        ses = ses_backends[backend.account_id][backend.region_name]
        if email_configuration.get("EmailSendingAccount", "COGNITO_DEFAULT") == "COGNITO_DEFAULT":
            ses.verify_email_identity(sender)
        ses.send_email(source=sender, subject=subject, body=message, destinations={"ToAddresses": [attributes["email"]]})

    def admin_create_user(self, user_pool_id, username, message_action, temporary_password_value, attributes):
        pool = self.describe_user_pool(user_pool_id)
        code = temporary_password_value or temporary_password(pool.extended_config.get("Policies", {}).get("PasswordPolicy", {}))
        if message_action == "RESEND":
            user = self.admin_get_user(user_pool_id, username)
            if user.status != UserStatus.FORCE_CHANGE_PASSWORD:
                raise UnsupportedUserStateException(f"Resend not possible. {username} status is not FORCE_CHANGE_PASSWORD")
            user.password = code
        else:
            user = original_create(self, user_pool_id, username, message_action, code, attributes)
        if message_action != "SUPPRESS":
            deliver(self, pool, user, "CustomMessage_AdminCreateUser", code)
        return user

    CognitoIdpBackend.admin_create_user = admin_create_user

    def validate_password(self, user_pool_id, password):
        """The pool's policy as Cognito applies it: its minimum length, at most 256 characters, and
        each character class the policy requires (symbols from Cognito's list, space included)."""
        policy = self.describe_user_pool(user_pool_id).extended_config.get("Policies", {}).get("PasswordPolicy", {})
        required = {
            "RequireLowercase": string.ascii_lowercase,
            "RequireUppercase": string.ascii_uppercase,
            "RequireNumbers": string.digits,
            "RequireSymbols": _SYMBOLS + " ",
        }
        long_enough = int(policy.get("MinimumLength", 8)) <= len(password) <= COGNITO_MAXIMUM_PASSWORD_LENGTH
        if not long_enough or any(policy.get(rule, True) and not set(password) & set(chars) for rule, chars in required.items()):
            raise InvalidPasswordException()

    CognitoIdpBackend._validate_password = validate_password

    original_initiate = CognitoIdpBackend.admin_initiate_auth

    def admin_initiate_auth(self, user_pool_id, client_id, auth_flow, auth_parameters):
        if auth_flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            pool = self.describe_user_pool(user_pool_id)
            token = (auth_parameters or {}).get("REFRESH_TOKEN", "")
            if token not in pool.refresh_tokens:
                # Cognito refuses an unknown refresh token; moto raises KeyError (a 500).
                raise NotAuthorizedError("Invalid Refresh Token")
            issued = pool.refresh_tokens[token]
            if issued and pool._get_user(issued[1]):
                user = pool._get_user(issued[1])
                trigger(
                    self,
                    pool,
                    user,
                    "PreTokenGeneration",
                    "TokenGeneration_RefreshTokens",
                    _groups(user),
                    {"claimsOverrideDetails": None},
                    client_id,
                )
            return original_initiate(self, user_pool_id, client_id, auth_flow, auth_parameters)
        username = (auth_parameters or {}).get("USERNAME")
        if not username:
            return original_initiate(self, user_pool_id, client_id, auth_flow, auth_parameters)
        key = (user_pool_id, username.lower())
        if ledger.locked(key):
            raise NotAuthorizedError("Password attempts exceeded")
        user = self.describe_user_pool(user_pool_id)._get_user(username)
        if user is not None and user.status == UserStatus.RESET_REQUIRED:
            raise PasswordResetRequiredException()
        try:
            result = original_initiate(self, user_pool_id, client_id, auth_flow, auth_parameters)
        except NotAuthorizedError:
            ledger.record(key, succeeded=False)
            raise
        ledger.record(key, succeeded=True)
        return result

    CognitoIdpBackend.admin_initiate_auth = admin_initiate_auth

    original_respond = CognitoIdpBackend.respond_to_auth_challenge

    def respond_to_auth_challenge(self, session, client_id, challenge_name, challenge_responses):
        if session not in self.sessions:
            return original_respond(self, session, client_id, challenge_name, challenge_responses)
        username, pool = self.sessions[session]
        responses = dict(challenge_responses or {})
        answered = _user_named(pool, responses.get("USERNAME", ""))
        if answered is None or answered.username != username:
            raise NotAuthorizedError("Invalid session for the user.")
        responses["USERNAME"] = username
        client = pool.clients.get(client_id)
        if client is not None and client.generate_secret:
            # The caller's SECRET_HASH, for the name they gave (an alias too), was checked by the outer wrapper
            # (_install_secret_hash_checks); moto checks it again, against the username it now names.
            responses["SECRET_HASH"] = secret_hash(client.secret, client.id, username)
        if challenge_name == "SOFTWARE_TOKEN_MFA":
            code = responses.get("SOFTWARE_TOKEN_MFA_CODE", "")
            if not _totp_code_matches(getattr(answered, "totp_secret", None), code):
                raise CodeMismatchException("Invalid code received for user")
            if not ledger.use_code((pool.id, username, code)):
                raise ExpiredCodeException("Your software token has already been used once.")
        return original_respond(self, session, client_id, challenge_name, responses)

    CognitoIdpBackend.respond_to_auth_challenge = respond_to_auth_challenge

    def software_token_user(self, access_token, session):
        """The user an AssociateSoftwareToken or VerifySoftwareToken call is for, by session or access token."""
        if session:
            if session not in self.sessions:
                return None
            username, pool = self.sessions[session]
            return pool._get_user(username)
        for pool in self.user_pools.values():
            if access_token in pool.access_tokens:
                return pool._get_user(pool.access_tokens[access_token][1])
        return None

    original_associate = CognitoIdpBackend.associate_software_token

    def associate_software_token(self, access_token, session):
        result = original_associate(self, access_token, session)
        user = software_token_user(self, access_token, session)
        user.totp_pending_secret = _totp_secret()
        return {**result, "SecretCode": user.totp_pending_secret}

    CognitoIdpBackend.associate_software_token = associate_software_token

    original_verify = CognitoIdpBackend.verify_software_token

    def verify_software_token(self, access_token, session, user_code, friendly_device_name):
        user = software_token_user(self, access_token, session)
        if user is not None and not _totp_code_matches(getattr(user, "totp_pending_secret", None), user_code):
            raise CodeMismatchException(f"Code mismatch ({friendly_device_name})")
        result = original_verify(self, access_token, session, user_code, friendly_device_name)
        user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, None
        return result

    CognitoIdpBackend.verify_software_token = verify_software_token

    def forgot_password(self, client_id, username):
        for pool in self.user_pools.values():
            if client_id in pool.clients:
                break
        else:
            raise cognito_models.ResourceNotFoundError("Username/client id combination not found.")
        user = pool._get_user(username)
        details = {"Destination": "e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
        if user is None:
            return None, {"CodeDeliveryDetails": details}
        code = f"{secrets.randbelow(1_000_000):06d}"
        user.confirmation_code = code
        user.confirmation_code_issued = time.time()
        deliver(self, pool, user, "CustomMessage_ForgotPassword", code)
        return None, {"CodeDeliveryDetails": details}

    def confirm_forgot_password(self, client_id, username, password, confirmation_code):
        for pool in self.user_pools.values():
            if client_id in pool.clients and pool._get_user(username):
                user = pool._get_user(username)
                break
        else:
            raise cognito_models.ResourceNotFoundError(client_id)
        if not user.confirmation_code or not secrets.compare_digest(user.confirmation_code, confirmation_code):
            raise CodeMismatchException("Invalid verification code provided, please try again.")
        if time.time() - getattr(user, "confirmation_code_issued", 0) > RESET_CODE_VALIDITY_SECONDS:
            raise ExpiredCodeException("Invalid code provided, please request a code again.")
        self._validate_password(pool.id, password)
        user.password = password
        user.status = UserStatus.CONFIRMED
        user.confirmation_code = None

    original_log_user_in = CognitoIdpBackend._log_user_in

    def log_user_in(self, user_pool, client, username):
        """A completed sign-in: Cognito calls the post authentication, then the pre token generation trigger."""
        user = user_pool._get_user(username)
        metadata = {"clientMetadata": dict(getattr(_answering, "client_metadata", None) or {})}
        trigger(
            self,
            user_pool,
            user,
            "PostAuthentication",
            "PostAuthentication_Authentication",
            {"newDeviceUsed": False, **metadata},
            {},
            client.id,
        )
        trigger(
            self,
            user_pool,
            user,
            "PreTokenGeneration",
            "TokenGeneration_Authentication",
            {**_groups(user), **metadata},
            {"claimsOverrideDetails": None},
            client.id,
        )
        return original_log_user_in(self, user_pool, client, username)

    CognitoIdpBackend._log_user_in = log_user_in

    original_admin_reset = CognitoIdpBackend.admin_reset_user_password

    def admin_reset_user_password(self, user_pool_id, username):
        original_admin_reset(self, user_pool_id, username)
        pool = self.describe_user_pool(user_pool_id)
        user = self.admin_get_user(user_pool_id, username)
        user.confirmation_code = f"{secrets.randbelow(1_000_000):06d}"
        user.confirmation_code_issued = time.time()
        deliver(self, pool, user, "CustomMessage_ForgotPassword", user.confirmation_code)

    CognitoIdpBackend.admin_reset_user_password = admin_reset_user_password
    CognitoIdpBackend.forgot_password = forgot_password

    original_set_mfa_preference = CognitoIdpBackend.admin_set_user_mfa_preference

    def admin_set_user_mfa_preference(self, user_pool_id, username, software_token_mfa_settings, sms_mfa_settings):
        """Disabling a user's TOTP in a pool that requires MFA: Cognito's next sign-in answers MFA_SETUP
        (enrol again); moto keeps the verified token and still asks for its codes."""
        original_set_mfa_preference(self, user_pool_id, username, software_token_mfa_settings, sms_mfa_settings)
        if software_token_mfa_settings and not software_token_mfa_settings.get("Enabled"):
            user = self.admin_get_user(user_pool_id, username)
            user.token_verified = False
            user.totp_secret = None

    CognitoIdpBackend.admin_set_user_mfa_preference = admin_set_user_mfa_preference

    checked_initiate = CognitoIdpBackend.admin_initiate_auth

    def initiate_auth_asking_for_enrolment(self, user_pool_id, client_id, auth_flow, auth_parameters):
        """A confirmed user without TOTP in a pool that requires MFA: Cognito answers MFA_SETUP to the
        right password; moto signs them in without MFA."""
        parameters = auth_parameters or {}
        pool = self.describe_user_pool(user_pool_id)
        user = _user_named(pool, parameters.get("USERNAME", ""))
        enrolment_due = (
            auth_flow == "ADMIN_USER_PASSWORD_AUTH"
            and pool.mfa_config == "ON"
            and user is not None
            and user.status == UserStatus.CONFIRMED
            and not user.software_token_mfa_enabled
            and not user.sms_mfa_enabled
            and user.password == parameters.get("PASSWORD")
            and not ledger.locked((user_pool_id, parameters["USERNAME"].lower()))
        )
        if not enrolment_due:
            return checked_initiate(self, user_pool_id, client_id, auth_flow, auth_parameters)
        session = str(uuid.uuid4())
        self.sessions[session] = (user.username, pool)
        return {"ChallengeName": "MFA_SETUP", "ChallengeParameters": {"MFAS_CAN_SETUP": ["SOFTWARE_TOKEN_MFA"]}, "Session": session}

    CognitoIdpBackend.admin_initiate_auth = initiate_auth_asking_for_enrolment
    CognitoIdpBackend.confirm_forgot_password = confirm_forgot_password
    _install_secret_hash_checks()


def _require_secret_hash(client, username: str | None, given: str | None) -> None:
    """A client with a secret: Cognito answers NotAuthorizedException unless the call carries the SECRET_HASH
    of the user it names (HMAC-SHA256 of username + client id under the client's secret)."""
    if client is None or not client.generate_secret:
        return
    if not given:
        raise NotAuthorizedError(f"Client {client.id} is configured for secret but secret was not received")
    if not check_secret_hash(client.secret, client.id, username or "", given):
        raise NotAuthorizedError(f"Unable to verify secret hash for client {client.id}")


def _client(backend: CognitoIdpBackend, client_id: str | None):
    return next((pool.clients[client_id] for pool in backend.user_pools.values() if client_id in pool.clients), None)


def _install_secret_hash_checks() -> None:
    """Wraps the outermost of the wrappers above (each sign-in call passes here first)."""
    admin_initiate = CognitoIdpBackend.admin_initiate_auth

    def admin_initiate_auth(self, user_pool_id, client_id, auth_flow, auth_parameters):
        parameters = auth_parameters or {}
        pool = self.describe_user_pool(user_pool_id)
        username = parameters.get("USERNAME")
        if auth_flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            issued = pool.refresh_tokens.get(parameters.get("REFRESH_TOKEN", ""))
            username = issued[1] if issued else None
        if username is not None:
            _require_secret_hash(pool.clients.get(client_id), username, parameters.get("SECRET_HASH"))
        return admin_initiate(self, user_pool_id, client_id, auth_flow, auth_parameters)

    CognitoIdpBackend.admin_initiate_auth = admin_initiate_auth

    public_initiate = CognitoIdpBackend.initiate_auth

    def initiate_auth(self, client_id, auth_flow, auth_parameters):
        parameters = auth_parameters or {}
        if "USERNAME" in parameters:
            _require_secret_hash(_client(self, client_id), parameters["USERNAME"], parameters.get("SECRET_HASH"))
        return public_initiate(self, client_id, auth_flow, auth_parameters)

    CognitoIdpBackend.initiate_auth = initiate_auth

    respond = CognitoIdpBackend.respond_to_auth_challenge

    def respond_to_auth_challenge(self, session, client_id, challenge_name, challenge_responses):
        responses = challenge_responses or {}
        if session in self.sessions:
            _, pool = self.sessions[session]
            _require_secret_hash(pool.clients.get(client_id), responses.get("USERNAME"), responses.get("SECRET_HASH"))
        return respond(self, session, client_id, challenge_name, challenge_responses)

    CognitoIdpBackend.respond_to_auth_challenge = respond_to_auth_challenge

    def checking_secret_hash(answer):
        """ForgotPassword and ConfirmForgotPassword: moto's backend never sees their SecretHash, so the check is here."""

        def checked(self):
            client_id = self._get_param("ClientId")
            account, region = find_account_region_by_value("client_id", client_id, fallback=(self.current_account, self.region))
            _require_secret_hash(
                _client(cognitoidp_backends[account][region], client_id), self._get_param("Username"), self._get_param("SecretHash")
            )
            return answer(self)

        return checked

    CognitoIdpResponse.forgot_password = checking_secret_hash(CognitoIdpResponse.forgot_password)
    CognitoIdpResponse.confirm_forgot_password = checking_secret_hash(CognitoIdpResponse.confirm_forgot_password)
