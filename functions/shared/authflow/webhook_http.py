"""The webhook HTTP client: one POST to a checked callback target, pinned to its checked addresses.

No redirect is followed and no second DNS lookup happens (see authflow.callback_urls).
"""

import http.client
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from authflow.callback_urls import CallbackTarget

USER_AGENT = "authflow-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    reason: str = ""
    status: int | None = None
    permanent: bool = False
    retry_after: str | None = None  # the receiver's Retry-After header, as sent (seconds or an HTTP date)


Send = Callable[[CallbackTarget, str, dict[str, str], float], Outcome]


def _pinned_connection(target: CallbackTarget, timeout: float) -> http.client.HTTPConnection:
    """A connection to target's host name (TLS SNI and certificate check) at the checked addresses only."""
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    def connect(address, timeout=None, source_address=None):
        last: OSError | None = None
        for pinned in target.addresses:
            try:
                return socket.create_connection((pinned, address[1]), timeout, source_address)
            except OSError as error:
                last = error
        raise last or OSError("no address to connect to")

    # http.client opens its socket through this attribute: replacing it pins the addresses.
    setattr(connection, "_create_connection", connect)  # noqa: B010
    return connection


def post(target: CallbackTarget, payload: str, headers: dict[str, str], timeout: float) -> Outcome:
    """POSTs once; no redirect is followed (a 3xx is a failure, not a new destination)."""
    connection = _pinned_connection(target, timeout)
    try:
        connection.request(
            "POST",
            target.target,
            body=payload.encode(),
            headers={"content-type": "application/json", "user-agent": USER_AGENT, **headers},
        )
        response = connection.getresponse()
        response.read(65536)
    except TimeoutError:
        return Outcome(False, f"no answer within {timeout:g} s")
    except (OSError, http.client.HTTPException) as error:
        return Outcome(False, f"connection failed ({type(error).__name__})")
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return Outcome(True, status=response.status)
    return Outcome(False, f"HTTP {response.status}", status=response.status, retry_after=response.getheader("retry-after"))
