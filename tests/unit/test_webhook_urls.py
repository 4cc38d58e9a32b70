"""The SSRF guard on webhook URLs (authflow.callback_urls), with a fake DNS: no network needed.

In AWS (allow_loopback False) only https URLs whose host resolves to public addresses only are
accepted; the local stack (allow_loopback True) also accepts loopback receivers, and nothing else more.
"""

import ipaddress

import pytest

from authflow.callback_urls import check_callback_url
from authflow.errors import InvalidWebhookUrl

DNS = {
    "hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "rebind.example.com": ["93.184.215.14", "10.0.0.7"],
    "internal.example.com": ["172.16.4.2"],
    "localhost": ["127.0.0.1", "::1"],
}


def fake_resolve(host: str, port: int) -> list[str]:
    if host in DNS:
        return DNS[host]
    try:  # literal addresses resolve to themselves, as getaddrinfo does
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        raise OSError(f"unknown host {host}") from None


def check(url: str, allow_loopback: bool = False):
    return check_callback_url(url, allow_loopback, fake_resolve)


def test_a_public_https_url_is_accepted_with_the_addresses_to_connect_to() -> None:
    target = check("https://hooks.example.com/authflow?tenant=7")
    assert (target.host, target.port, target.target) == ("hooks.example.com", 443, "/authflow?tenant=7")
    assert target.addresses == tuple(DNS["hooks.example.com"])


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/", "must use https"),
        ("ftp://hooks.example.com/", "absolute https URL"),
        ("hooks.example.com/path", "absolute https URL"),
        ("https:///nohost", "absolute https URL"),
        ("https://user:pass@hooks.example.com/", "credentials"),
        ("https://127.0.0.1/", "loopback"),
        ("https://localhost:8443/", "loopback"),
        ("https://[::1]/", "loopback"),
        ("https://10.1.2.3/", "private"),
        ("https://192.168.0.10/", "private"),
        ("https://172.16.4.2/", "private"),
        ("https://internal.example.com/", "private"),
        ("https://rebind.example.com/", "private"),
        ("https://100.64.0.1/", "private"),
        ("https://[fc00::1]/", "private"),
        ("https://169.254.10.20/", "link-local"),
        ("https://[fe80::1]/", "link-local"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://[::ffff:169.254.169.254]/", "metadata"),
        ("https://[::ffff:10.0.0.1]/", "private"),
        ("https://0.0.0.0/", "reserved"),
        ("https://224.0.0.1/", "reserved"),
        ("https://nowhere.invalid/", "could not be resolved"),
        ("https://hooks.example.com:99999/", "not a valid URL"),
        ("https://[not-an-address]/", "not a valid URL"),
        ("https://hooks.example.com/" + "a" * 2048, "longer than"),
    ],
)
def test_urls_that_could_reach_inside_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(InvalidWebhookUrl) as refused:
        check(url)
    assert reason in refused.value.message
    assert refused.value.status == 400 and refused.value.code == "INVALID_WEBHOOK_URL"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://localhost:8080/hook", "https://[::1]:9000/"])
def test_the_local_stack_allows_loopback_receivers(url: str) -> None:
    assert check(url, allow_loopback=True).addresses


@pytest.mark.parametrize(
    "url",
    ["http://10.1.2.3/", "https://169.254.169.254/", "http://hooks.example.com/", "https://rebind.example.com/"],
)
def test_allowing_loopback_allows_nothing_else(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check(url, allow_loopback=True)
