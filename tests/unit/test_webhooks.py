"""Webhooks (authflow.webhooks) in-process: subscriptions stored with their secret, listed without it,
removed once; URLs refused by the SSRF guard change nothing."""

import pytest

from authflow import errors
from authflow.models import CreateWebhookRequest
from authflow.webhooks import Webhooks


@pytest.fixture
def webhooks(adapters) -> Webhooks:
    return Webhooks(adapters, allow_loopback=False)


def public(host: str, port: int) -> list[str]:
    return {"hooks.example.com": ["93.184.215.14"], "inside.example.com": ["10.1.2.3"]}[host]


def test_subscribe_list_and_unsubscribe(webhooks, adapters):
    webhooks.resolve = public
    created = webhooks.subscribe(
        CreateWebhookRequest(url="https://hooks.example.com/in", events=["UserCreated", "UserCreated", "LoggedOut"])
    )

    assert created.secret.startswith("whsec_") and created.events == ["UserCreated", "LoggedOut"]
    listed = [w for w in webhooks.list_subscriptions().webhooks if w.id == created.id]
    assert listed and "secret" not in listed[0].model_dump()
    stored = next(s for s in adapters.subscriptions.all() if str(s.id) == str(created.id))
    assert stored.secret.get_secret_value() == created.secret, "deliveries are signed with the stored secret"

    assert webhooks.unsubscribe(str(created.id)).status == "DELETED"
    with pytest.raises(errors.WebhookNotFound):
        webhooks.unsubscribe(str(created.id))


def test_a_url_inside_the_network_is_refused_and_nothing_is_stored(webhooks, adapters):
    webhooks.resolve = public
    before = len(adapters.subscriptions.all())
    with pytest.raises(errors.InvalidWebhookUrl):
        webhooks.subscribe(CreateWebhookRequest(url="https://inside.example.com/in", events=["UserCreated"]))
    assert len(adapters.subscriptions.all()) == before
