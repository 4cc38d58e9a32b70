"""The adapters the use cases work with, built once per function at cold start.

A handler builds its bundle with the factory below and hands it to its use cases; tests build their
own bundle (moto in-process, or fakes of an adapter's class) and hand it to the same use cases. These
factories are the only place that makes boto3-backed adapters; each makes its bundle once per
process (settings are frozen, hence hashable).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from authflow.events import EventPublisher

if TYPE_CHECKING:
    # Only the factories import the adapters' modules: a function imports what its own bundle needs
    # (the Cognito triggers, only the event bus), which keeps its cold start short.
    from authflow.callback_urls import Resolve
    from authflow.clock import Clock
    from authflow.identity import PseudoIds
    from authflow.imports import ImportQueue
    from authflow.mail import Mailer
    from authflow.mail_requests import MailRequestQueue
    from authflow.password_policy import PasswordPolicy
    from authflow.qr import QrCodeStore
    from authflow.replays import ArchiveReplays
    from authflow.sealed_secrets import SecretSealer
    from authflow.settings import ApiSettings, CognitoSettings, CommonSettings, DeliverySettings
    from authflow.status import (
        ApiKeys,
        DeliveryRecords,
        EmailClaims,
        ImportRecords,
        Lockouts,
        MfaSessions,
        RateCounters,
        RecentResets,
        RecoveryCodes,
        RevokedSignIns,
        Signals,
        SignOuts,
        StatusRecords,
        SubscriptionStore,
    )
    from authflow.tokens import TokenVerifier
    from authflow.users import UserDirectory
    from authflow.webhook_http import Send
    from authflow.webhook_routing import WebhookRouting
    from authflow.workflows import Workflows


@dataclass(frozen=True)
class Adapters:
    """What the lifecycle use cases (Onboarding, Sessions, Passwords, Accounts, Webhooks) call."""

    users: UserDirectory
    status: StatusRecords
    claims: EmailClaims
    signals: Signals
    mfa_sessions: MfaSessions
    rate_counters: RateCounters
    api_keys: ApiKeys
    recovery_codes: RecoveryCodes
    recent_resets: RecentResets
    lockouts: Lockouts
    revoked_sign_ins: RevokedSignIns
    sign_outs: SignOuts
    subscriptions: SubscriptionStore
    deliveries: DeliveryRecords
    imports: ImportRecords
    events: EventPublisher
    qr_codes: QrCodeStore
    workflows: Workflows
    mailer: Mailer
    pseudo_ids: PseudoIds
    verifier: TokenVerifier
    resolve: Resolve
    clock: Clock
    password_policy: PasswordPolicy


@dataclass(frozen=True)
class DeliveryAdapters:
    """What WebhookDeliverer calls."""

    subscriptions: SubscriptionStore
    deliveries: DeliveryRecords
    queue: Any  # the SQS client: the message's visibility (backoff) and the dead-letter queue
    resolve: Resolve
    send: Send
    replays: ArchiveReplays  # whom a replayed event is for
    mailer: Mailer  # the contact of a webhook disabled for failing
    events: EventPublisher  # WebhookEndpointDisabled
    sealer: SecretSealer  # opens the signing secrets, to sign
    clock: Clock


@cache
def lifecycle_adapters(settings: CognitoSettings) -> Adapters:
    """The API function's and the three workflow task functions' bundle."""
    from datetime import timedelta

    from authflow.callback_urls import resolve_host
    from authflow.clock import utc_now
    from authflow.identity import PseudoIds
    from authflow.mail import Mailer
    from authflow.password_policy import PasswordPolicy
    from authflow.qr import QrCodeStore
    from authflow.status import (
        ApiKeys,
        DeliveryRecords,
        EmailClaims,
        ImportRecords,
        Lockouts,
        MfaSessions,
        RateCounters,
        RecentResets,
        RecoveryCodes,
        RevokedSignIns,
        Signals,
        SignOuts,
        StatusRecords,
        SubscriptionStore,
    )
    from authflow.status.lockouts import LockoutPolicy
    from authflow.tokens import TokenVerifier
    from authflow.users import UserDirectory
    from authflow.workflows import Workflows

    table = settings.status_table_name
    id_token_validity = timedelta(minutes=settings.id_token_validity_minutes)
    revoked_sign_ins = RevokedSignIns(table, utc_now, id_token_validity)
    sign_outs = SignOuts(table, utc_now, id_token_validity)
    return Adapters(
        users=UserDirectory(settings.user_pool_id, settings.user_pool_client_id, settings.user_pool_client_secret_arn),
        status=StatusRecords(table, utc_now),
        claims=EmailClaims(table, utc_now),
        signals=Signals(table, utc_now),
        mfa_sessions=MfaSessions(table, utc_now),
        rate_counters=RateCounters(table, utc_now),
        api_keys=ApiKeys(table, utc_now),
        recovery_codes=RecoveryCodes(table, utc_now),
        recent_resets=RecentResets(table, utc_now),
        lockouts=Lockouts(
            table,
            utc_now,
            LockoutPolicy(
                limit=settings.failed_attempt_limit,
                window=timedelta(seconds=settings.failed_attempt_window_seconds),
                duration=timedelta(seconds=settings.lockout_seconds),
            ),
        ),
        revoked_sign_ins=revoked_sign_ins,
        sign_outs=sign_outs,
        subscriptions=SubscriptionStore(table, utc_now),
        deliveries=DeliveryRecords(table, utc_now),
        imports=ImportRecords(table, utc_now),
        events=EventPublisher(settings.event_bus_name),
        qr_codes=QrCodeStore(settings.qr_bucket_name, settings.qr_link_expiry_seconds),
        workflows=Workflows(),
        mailer=Mailer(settings.mail_from_address),
        pseudo_ids=PseudoIds(settings.pseudo_id_secret_arn),
        verifier=TokenVerifier(settings.user_pool_id, settings.user_pool_client_id, revoked_sign_ins, sign_outs),
        resolve=resolve_host,
        clock=utc_now,
        password_policy=PasswordPolicy.from_settings(settings),
    )


@cache
def delivery_adapters(settings: DeliverySettings) -> DeliveryAdapters:
    """The webhook delivery function's bundle."""
    from authflow.aws import ClientOnFirstUse
    from authflow.callback_urls import resolve_host
    from authflow.clock import utc_now
    from authflow.mail import Mailer
    from authflow.replays import ArchiveReplays
    from authflow.sealed_secrets import SecretSealer
    from authflow.status import DeliveryRecords, SubscriptionStore
    from authflow.webhook_http import post

    return DeliveryAdapters(
        subscriptions=SubscriptionStore(settings.status_table_name, utc_now),
        deliveries=DeliveryRecords(settings.status_table_name, utc_now),
        # Only a retry or a dead-lettered event calls SQS: a delivery that succeeds never does.
        queue=ClientOnFirstUse("sqs"),
        resolve=resolve_host,
        send=post,
        replays=ArchiveReplays(),
        mailer=Mailer(settings.mail_from_address),
        events=EventPublisher(settings.event_bus_name),
        sealer=SecretSealer(settings.webhook_secret_key_arn),
        clock=utc_now,
    )


@cache
def webhook_routing(settings: ApiSettings) -> WebhookRouting:
    """The API's writes of the webhook rule's pattern (the subscribed detail-types)."""
    from authflow.webhook_routing import WebhookRouting

    return WebhookRouting(settings.webhook_events_rule_arn)


@cache
def secret_sealer(settings: ApiSettings) -> SecretSealer:
    """The API's sealer of new webhook signing secrets (it may encrypt, never decrypt)."""
    from authflow.sealed_secrets import SecretSealer

    return SecretSealer(settings.webhook_secret_key_arn)


@cache
def archive_replays(settings: ApiSettings) -> ArchiveReplays:
    """The API's replays of the bus archive to the webhook rule (POST /v1/webhooks/{id}/replay)."""
    from authflow.replays import ArchiveReplays

    return ArchiveReplays(settings.event_archive_arn, settings.event_bus_arn, settings.webhook_events_rule_arn)


@cache
def import_queue(queue_url: str) -> ImportQueue:
    """The user import queue: the API sends rows to it, the import function returns a row to it for later."""
    from authflow.imports import ImportQueue

    return ImportQueue(queue_url)


@cache
def mail_request_queue(queue_url: str) -> MailRequestQueue:
    """The mail request queue: the API sends forgot-password's, the operator reset's and resend-confirmation-code's work to it."""
    from authflow.mail_requests import MailRequestQueue

    return MailRequestQueue(queue_url)


@cache
def trigger_publisher(settings: CommonSettings) -> EventPublisher:
    """The Cognito triggers' one adapter: the event bus."""
    return EventPublisher(settings.event_bus_name)
