"""Webhook callback URLs and the SSRF guard.

A URL is accepted only if it is https and every address its host resolves to is public: private,
loopback, link-local, cloud metadata, multicast and reserved addresses are refused. The check runs
when a webhook is registered and again before every delivery, and the delivery connects to the very
addresses the check accepted (no second DNS lookup a rebinding attacker could answer differently).
Redirects are never followed.

The local stack sets allow_loopback (template parameter WebhookAllowLoopback): a URL whose host
resolves only to loopback addresses is then accepted, over http too, so local receivers work.
"""

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from authflow.errors import InvalidWebhookUrl

MAX_URL_LENGTH = 2048
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], list[str]]

# Instance metadata, ECS task metadata and the Amazon DNS resolver: link-local or private anyway,
# named here so that the refusal says what they are.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "169.254.169.253", "fd00:ec2::254", "fd00:ec2::23")
)


@dataclass(frozen=True)
class CallbackTarget:
    """A checked URL and the addresses a delivery may connect to."""

    url: str
    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the host resolves to, in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _address(text: str) -> Address:
    """The address a connection to text reaches, for judging it."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address wrapped in IPv6 reaches the IPv4 address: judge that one.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return embedded
    return address


def _refusal(address: Address) -> str | None:
    """Why a delivery must not connect to this address, or None for a public address."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return "a reserved address"
    if address.is_private or not address.is_global:
        return "a private address"
    return None


def check_callback_url(url: str, allow_loopback: bool, resolve: Resolve = resolve_host) -> CallbackTarget:
    """The URL as a delivery target; InvalidWebhookUrl (400) with the reason if it is not allowed."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"The webhook URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise InvalidWebhookUrl("The webhook URL is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host:
        raise InvalidWebhookUrl("The webhook URL must be an absolute https URL.")
    if scheme == "http" and not allow_loopback:
        raise InvalidWebhookUrl("The webhook URL must use https.")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("The webhook URL must not carry credentials.")
    port = port or (443 if scheme == "https" else 80)
    try:
        resolved = {text.split("%", 1)[0]: _address(text) for text in resolve(host, port)}
    except (OSError, UnicodeError, ValueError):
        resolved = {}
    addresses = list(resolved.values())
    if not addresses:
        raise InvalidWebhookUrl("The webhook URL's host could not be resolved.")
    if not (allow_loopback and all(a.is_loopback for a in addresses)):
        if scheme != "https":
            raise InvalidWebhookUrl("The webhook URL must use https.")
        for address in addresses:
            reason = _refusal(address)
            if reason:
                raise InvalidWebhookUrl(f"The webhook URL's host resolves to {reason}; only public addresses are allowed.")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return CallbackTarget(url=url, scheme=scheme, host=host, port=port, target=target, addresses=tuple(resolved))
