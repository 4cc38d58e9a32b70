"""The status table: one DynamoDB table (pk, sk), one store class per item kind.

Item layout, and the module that owns each kind (the only code that reads or writes it):

| pk                    | sk                        | kind                                                  | owner              |
|-----------------------|---------------------------|-------------------------------------------------------|--------------------|
| USER#<id>             | STATUS                    | onboarding status GET /v1/users/{id}/onboarding reads | status.records     |
|                       |                           | (with the SHA-256 of the creator's status token)      |                    |
| EMAIL#<email>         | CLAIM                     | one user per email, claimed before Cognito is called  | status.claims      |
| USER#<id>             | SIGNAL#<action>           | a waiting execution's task token, or the user's       | status.signals     |
|                       |                           | action that arrived first                             |                    |
| USER#<id>             | MFA_SETUP                 | Cognito's MFA-enrolment session (confirm→confirm-mfa) | status.mfa_sessions|
| USER#<id>             | RECOVERY#<sha256 of code> | one unused MFA recovery code (hashed; ASVS 6.5.2)     | status.recovery_codes|
| USER#<id>             | RECOVERY_COUNT            | how many of those are left (written in the same       | status.recovery_codes|
|                       |                           | transaction as every change of the codes)             |                    |
| USER#<id>             | PASSWORD_RESET            | a password reset in the last 24 h (re-enrolment then  | status.recent_resets|
|                       |                           | needs a recovery code)                                |                    |
| USER#<id>             | RATE#<action>#<window>    | a counter in a fixed window (id: a user_id, an        | status.rate_limits |
|                       |                           | email's pseudo-id, "apikey-" + a key's name, or       |                    |
|                       |                           | "ip-" + a source IP)                                  |                    |
| USER#<id>             | LOCKOUT                   | failed code/password attempts and the lock they set   | status.lockouts    |
|                       |                           | (id: the user_id, or an unknown email's pseudo-id)    |                    |
| SIGN_IN#<origin_jti>  | REVOKED                   | a sign-in revoked at logout: its id tokens refused    | status.revocations |
| USER#<id>             | SIGNED_OUT                | when every session of the user last ended: tokens     | status.sign_outs   |
|                       |                           | issued before refused (and the sign-ins just after)   |                    |
| WEBHOOKS              | SUBSCRIPTION#<id>         | a webhook subscription and its signing secret, sealed | status.subscriptions|
|                       |                           | with the KMS key (authflow.sealed_secrets)            |                    |
| WEBHOOK#<id>          | DELIVERY#<event_id>       | the delivery log: attempts, last answer, final state  | status.deliveries  |
| IMPORT#<id>           | SUMMARY / ROW#<row>       | a user import's counts, and each row's outcome (kept  | status.imports     |
|                       |                           | 30 days)                                              |                    |
| IMPORTS               | RATE#<epoch second>       | AdminCreateUser calls imports took in that second     | status.imports     |
| IDEMPOTENCY           | <hash of scope#key>       | the first answer to an Idempotency-Key (Powertools)   | authflow.idempotency|
| API_KEYS              | KEY#<sha256 of the key>   | a front end's API key: its name, never the key itself | status.api_keys    |

Every item that may end carries `expires_at` (epoch seconds), the table's TTL attribute. The USER#
partition is the user's: deleting a user (or finishing onboarding) queries it (status.records).
"""

from authflow.status.api_keys import ApiKeys
from authflow.status.claims import EmailClaims
from authflow.status.deliveries import DeliveryRecords
from authflow.status.imports import ImportRecords
from authflow.status.lockouts import Lockouts
from authflow.status.mfa_sessions import MfaSessions
from authflow.status.rate_limits import RateCounters
from authflow.status.recent_resets import RecentResets
from authflow.status.records import StatusRecords
from authflow.status.recovery_codes import RecoveryCodes
from authflow.status.revocations import RevokedSignIns
from authflow.status.sign_outs import SignOuts
from authflow.status.signals import Signals
from authflow.status.subscriptions import SubscriptionStore

__all__ = [
    "ApiKeys",
    "DeliveryRecords",
    "EmailClaims",
    "ImportRecords",
    "Lockouts",
    "MfaSessions",
    "RateCounters",
    "RecentResets",
    "RecoveryCodes",
    "Signals",
    "SignOuts",
    "RevokedSignIns",
    "StatusRecords",
    "SubscriptionStore",
]
