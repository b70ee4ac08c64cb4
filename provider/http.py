"""httpx clients as every API client here builds them, and the one mapping of httpx's faults to our errors.

- ``build_client``: timeouts always, an honest user agent, no redirects, no credential on the client.
- ``transport_failure``: every client turns an httpx fault that outlived its retries (timeouts, connect and
  protocol errors, an answer that cannot be decoded, redirect loops: any ``httpx.RequestError``) into its
  service's ``ServiceError`` here, marked retryable and worded without URL, headers or body.
"""

from __future__ import annotations

from typing import TypeVar

import httpx

from provider import defaults
from provider.errors import ServiceError

E = TypeVar("E", bound=ServiceError)

# What a client catches around a request (after its retries): every fault httpx raises for a request.
TRANSPORT_ERRORS: tuple[type[httpx.RequestError], ...] = (httpx.RequestError,)

USER_AGENT = defaults.USER_AGENT


def build_client(
    base_url: str,
    *,
    timeout: float = defaults.TIMEOUT_SECONDS,
    connect_timeout: float = defaults.CONNECT_TIMEOUT_SECONDS,
    max_connections: int = defaults.MAX_CONNECTIONS,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A pooled, thread-safe client for one service. No credential is ever set on it: each call adds its own
    headers, so a client can be shared by every resource of a run. ``transport`` is the one test seam."""
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        transport=transport,
    )


def describe_transport_error(error: httpx.RequestError) -> str:
    """A short operator-facing phrase for a transport fault (no URL, no headers)."""
    if isinstance(error, httpx.TimeoutException):
        return "did not answer in time"
    if isinstance(error, httpx.ConnectError):
        return "could not be reached"
    if isinstance(error, httpx.RemoteProtocolError):
        return "dropped the connection"
    if isinstance(error, httpx.DecodingError):
        return "sent an answer that could not be decoded (its Content-Encoding is false)"
    if isinstance(error, httpx.TooManyRedirects):
        return "redirected too many times"
    return f"failed ({type(error).__name__})"


def transport_failure(error: httpx.RequestError, kind: type[E], subject: str, rest: str) -> E:
    """The ``kind`` error for ``error``, retryable: ``<subject> <what happened><rest>``.

    ``subject`` names the service (and the client, if known), ``rest`` says during what and the fix, e.g.
    ``transport_failure(error, PortalError, "The FabricAI portal", " while reading client 1. Check ...")``.
    """
    return kind(f"{subject} {describe_transport_error(error)}{rest}", retryable=True)
