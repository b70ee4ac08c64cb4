"""Fault injection for one sandbox service: latency, late answers, 5xx, 429 and dropped connections.

Settings (scenario ``faults.<service>`` or ``PUT /admin/faults/<service>``, camelCase)::

    latencyMs: 0            # added to every request, before the service sees it
    answerDelayMs: 0        # added to every answer, after the service processed the request: a client
                            # that gives up first never learns that its write happened
    errorRate: 0.0          # fraction answered errorStatus before the service sees the request
    errorStatus: 503        # 500 | 502 | 503
    rateLimitRate: 0.0      # fraction answered 429
    retryAfterSeconds: 1    # the 429's Retry-After; null sends none
    dropRate: 0.0           # fraction whose connection breaks mid-response
    seed: null              # an int makes the fault sequence repeatable

Every request draws exactly three numbers from the service's RNG (error, rate limit, drop), so a seeded
sequence of requests meets the same faults whatever the rates. A dropped GET never reaches the service;
a dropped request of any other method is processed first and only then loses its answer: the client
cannot tell whether its change happened, the case that tests idempotency. ``injected`` counts the faults
dealt since the settings were last set (scenario, reset or admin).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class FaultSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)

    latency_ms: float = Field(default=0, ge=0)
    answer_delay_ms: float = Field(default=0, ge=0)
    error_rate: float = Field(default=0, ge=0, le=1)
    error_status: Literal[500, 502, 503] = 503
    rate_limit_rate: float = Field(default=0, ge=0, le=1)
    retry_after_seconds: int | None = Field(default=1, ge=0)
    drop_rate: float = Field(default=0, ge=0, le=1)
    seed: int | None = None


class DroppedConnection(Exception):
    """Raised after the response started, so the server aborts the connection mid-answer."""


class _QuietDrops(logging.Filter):
    """Keep the server log free of tracebacks for connections dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def silence_dropped_connection_logs() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


_ERROR_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable"}


class FaultInjector:
    """The live fault settings of one service, changeable at run time, plus what it injected."""

    def __init__(self, settings: FaultSettings) -> None:
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self.configure(settings)

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def configure(self, settings: FaultSettings) -> None:
        with self._lock:
            self._settings = settings
            self._rng = random.Random(settings.seed)
            self.injected.clear()

    def roll(self) -> tuple[FaultSettings, str | None]:
        """The settings in force and the fault for one request (``error``, ``rateLimit``, ``drop``)."""
        with self._lock:
            settings = self._settings
            error, rate_limit, drop = self._rng.random(), self._rng.random(), self._rng.random()
            fault: str | None = None
            if error < settings.error_rate:
                fault = "error"
            elif rate_limit < settings.rate_limit_rate:
                fault = "rateLimit"
            elif drop < settings.drop_rate:
                fault = "drop"
            if fault:
                self.injected[fault] += 1
            return settings, fault


class FaultMiddleware:
    """Wraps one service's ASGI app with its injector."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings, fault = self.injector.roll()
        if settings.latency_ms:
            await asyncio.sleep(settings.latency_ms / 1000)
        if fault == "error":
            await _send_page(send, settings.error_status)
        elif fault == "rateLimit":
            after = settings.retry_after_seconds
            headers = [] if after is None else [(b"retry-after", str(after).encode())]
            await _send_text(send, 429, b"Too Many Requests", headers)
        elif fault == "drop":
            if scope["method"] not in ("GET", "HEAD"):
                await self.app(scope, receive, _discard)
            await _send_broken(send)
        elif settings.answer_delay_ms:
            await _answer_late(self.app, scope, receive, send, settings.answer_delay_ms / 1000)
        else:
            await self.app(scope, receive, send)


async def _answer_late(app: ASGIApp, scope: Scope, receive: Receive, send: Send, delay: float) -> None:
    """Let the service answer in full (its change is made), then hold the answer back for ``delay``."""
    held: list[Message] = []

    async def hold(message: Message) -> None:
        held.append(message)

    await app(scope, receive, hold)
    await asyncio.sleep(delay)
    for message in held:
        await send(message)  # to a client that has given up, the server drops it


async def _discard(message: Message) -> None:
    """A ``send`` that throws the service's answer away (the client will never see it)."""


async def _send_broken(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1024")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"data": ', "more_body": True})
    raise DroppedConnection


async def _send_page(send: Send, status: int) -> None:
    body = _ERROR_PAGE.format(status=status, reason=_REASONS[status]).encode()
    await _send_text(send, status, body, [], content_type=b"text/html")


async def _send_text(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    content_type: bytes = b"text/plain",
) -> None:
    all_headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


def describe(injector: FaultInjector) -> dict[str, Any]:
    """Settings and injected-fault counts, as ``/admin`` reports them."""
    return {
        "settings": injector.settings.model_dump(by_alias=True),
        "injected": dict(injector.injected),
    }
