"""How every portal request is made and every answer read: the public API's conventions in one place.

``Authorization: Bearer <organisation key>`` (never in a URL, a log line or a message); ``{"data": ...}``
for one object, ``{"count", "data"}`` for a page, ``{"error": "..."}`` for an error. Every call goes
through the one ``RetryPolicy``. Every answer is read within bounds (``provider.http_body``: size on the
wire and decompressed, a total deadline per attempt) and parsed as strict JSON; an answer that is out of
bounds, not strict JSON or not the expected shape is a ``PortalError`` that says so and what to check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from provider.defaults import ANSWER_DEADLINE_SECONDS, ANSWER_MAX_BYTES, ANSWER_MAX_COMPRESSED_BYTES
from provider.errors import PortalError
from provider.http import TRANSPORT_ERRORS, build_client, transport_failure
from provider.http_body import Limits, NotStrictJson, TooLarge, Undecodable, send_bounded, strict_json
from provider.redaction import redact_error
from provider.retry import RetryableStatus, RetryPolicy
from provider.settings import PortalSettings

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
DEFAULT_LIMITS = Limits(
    max_compressed=ANSWER_MAX_COMPRESSED_BYTES,
    max_decompressed=ANSWER_MAX_BYTES,
    deadline_seconds=ANSWER_DEADLINE_SECONDS,
)


class PortalApi:
    """The HTTP side of the portal client: one pooled connection, the key, the retry policy."""

    def __init__(
        self,
        settings: PortalSettings,
        retry: RetryPolicy,
        transport: httpx.BaseTransport | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.retry = retry
        self.limits = limits or DEFAULT_LIMITS
        self.http = build_client(settings.url, transport=transport)
        self._auth = {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"}
        self._key = settings.api_key  # redacted from every message quoting the portal

    @property
    def base_url(self) -> str:
        return str(self.http.base_url)

    def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        handle: Callable[[httpx.Response], T],
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool = True,
        recover: Callable[[], T | None] | None = None,
        reads_statuses: frozenset[int] = frozenset(),
    ) -> T:
        """One call through the retry policy; ``handle`` reads the answer. A status in ``reads_statuses`` is
        handed to ``handle`` instead of being retried (it raises ``RetryableStatus`` itself to retry)."""

        def attempt() -> T:
            response = send_bounded(
                self.http, method, path, self.limits, params=params, json=json, headers=self._auth
            )
            status = response.status_code
            if status not in reads_statuses and self.retry.should_retry_status(status):
                raise RetryableStatus(response)
            return handle(response)

        try:
            return self.retry.call(
                attempt, idempotent=idempotent, describe=f"portal {method} {path}", recover=recover
            )
        except PortalError as error:  # a refusal quoting the portal's text, which may echo our request
            redact_error(error, (self._key.get_secret_value(),))
            raise
        except RetryableStatus as error:
            raise PortalError(
                f"The FabricAI portal kept failing while {what} (last answer HTTP "
                f"{error.response.status_code}). {_outcome(method)}",
                status_code=error.response.status_code,
                retryable=True,
            ) from None
        except TooLarge as error:
            raise PortalError(
                f"The FabricAI portal's answer while {what} was refused unread: it was {error}. "
                f"Check that fabricai:portalUrl points at the portal API. {_outcome(method)}"
            ) from None
        except Undecodable as error:
            raise PortalError(
                f"The FabricAI portal's answer while {what} could not be read ({error}). Check "
                f"fabricai:portalUrl and any proxy between this machine and the portal. {_outcome(method)}"
            ) from None
        except TRANSPORT_ERRORS as error:
            raise transport_failure(
                error,
                PortalError,
                "The FabricAI portal",
                f" while {what}, also after retries. Check fabricai:portalUrl and the network. "
                + _outcome(method),
            ) from None


def _outcome(method: str) -> str:
    """What a failed call may have left behind: a read nothing; a write perhaps its change."""
    if method in ("GET", "HEAD"):
        return "Nothing was changed: run `pulumi up` again later."
    # The portal may have applied a write whose answer never came: never claim it did not happen.
    return (
        "The portal may or may not have applied the change; the next `pulumi up` finds out which and "
        "finishes it without doing it twice."
    )


def payload(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = strict_json(response.content)
    except NotStrictJson as error:
        raise unexpected(response, what, f"it is {error}") from None
    if not isinstance(body, dict):
        raise unexpected(response, what, "it is not a JSON object")
    return body


def refused(response: httpx.Response, what: str) -> PortalError:
    """The portal's own error for an answer that is not a success (its ``error`` text is kept)."""
    if response.status_code in (401, 403):
        return PortalError(
            f"The FabricAI portal refused the organisation API key while {what} "
            f"(HTTP {response.status_code}). "
            "Fix: create a key in the portal (Organization -> API keys) and set it with "
            "`pulumi config set --secret fabricai:apiKey <key>`.",
            status_code=response.status_code,
        )
    try:
        body = strict_json(response.content)
    except NotStrictJson:
        body = None
    detail = body.get("error") if isinstance(body, dict) else None
    if not isinstance(detail, str):
        return unexpected(response, what)
    return PortalError(
        # Whole: call() and the connection calls redact what they sent from it; it is shortened when shown.
        f"The FabricAI portal refused {what} (HTTP {response.status_code}): {detail}",
        status_code=response.status_code,
    )


def unexpected(response: httpx.Response, what: str, why: str = "") -> PortalError:
    """An answer we cannot use. After a write that succeeded, the write happened: never say otherwise."""
    try:
        method = response.request.method
    except RuntimeError:  # an answer built without its request (tests)
        method = "GET"
    outcome = f" {_outcome(method)}" if response.is_success and method not in ("GET", "HEAD") else ""
    because = f": {why}" if why else ""
    return PortalError(
        f"The FabricAI portal gave an unexpected answer while {what} (HTTP {response.status_code}){because}; "
        f"check that fabricai:portalUrl points at the portal API.{outcome}",
        status_code=response.status_code,
    )


def data(response: httpx.Response, model: type[M], what: str, *, none_on: int | None = None) -> M | None:
    """The ``data`` object of a success; None for ``none_on`` (e.g. 404) or a ``data: null`` answer."""
    if none_on is not None and response.status_code == none_on:
        return None
    if not response.is_success:
        raise refused(response, what)
    value = payload(response, what).get("data")
    if value is None:
        return None
    try:
        return model.model_validate(value)
    except ValidationError:
        raise unexpected(response, what, "it is not the shape the public API documents") from None


def required(response: httpx.Response, model: type[M], what: str) -> M:
    found = data(response, model, what)
    if found is None:
        raise unexpected(response, what)
    return found


def items(response: httpx.Response, model: type[M], what: str) -> list[M]:
    """The items of a ``{"count", "data"}`` page. ``count`` is not trusted as a total (the public
    document does not say whether it is the page's or the whole list's): callers page until a short page."""
    if not response.is_success:
        raise refused(response, what)
    body = payload(response, what)
    raw = body.get("data")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise unexpected(response, what, "its data is not a list")
    try:
        return [model.model_validate(item) for item in raw]
    except ValidationError:
        raise unexpected(response, what, "an item is not the shape the public API documents") from None


def gone(response: httpx.Response, what: str) -> bool:
    """A delete's answer: True when deleted now (``200 {data: {id}}``, or any 2xx), False when already
    gone (404)."""
    if response.status_code == 404:
        return False
    if not response.is_success:
        raise refused(response, what)
    return True
