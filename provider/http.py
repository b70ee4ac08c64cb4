"""httpx clients as every API client here builds them: timeouts always, an honest user agent."""

from __future__ import annotations

import httpx

USER_AGENT = "fabricai-roster/0.1 (+https://github.com/fabricai-roster)"


def build_client(
    base_url: str,
    *,
    timeout: float = 30.0,
    connect_timeout: float = 10.0,
    max_connections: int = 16,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A pooled, thread-safe client for one service. No credential is ever set on it: each call adds its own
    headers, so a client can be shared by every resource of a run."""
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        transport=transport,
    )


def describe_transport_error(error: httpx.TransportError) -> str:
    """A short operator-facing phrase for a transport fault (no URL, no headers)."""
    if isinstance(error, httpx.TimeoutException):
        return "did not answer in time"
    if isinstance(error, httpx.ConnectError):
        return "could not be reached"
    if isinstance(error, httpx.RemoteProtocolError):
        return "dropped the connection"
    return f"failed ({type(error).__name__})"
