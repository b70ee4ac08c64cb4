"""The Procountor REST client: M2M tokens per API key, company, the API user's rights, dimensions.

- **Any base URL**: production (``https://api.procountor.com/api``), PTS, a versioned prefix
  (``.../v2604/api``) or the sandbox; paths are relative to it.
- **Tokens**: ``POST oauth/token`` with a form body (no credential ever in a URL). Cached per API key,
  keyed by an HMAC fingerprint of the key (the raw key is never a dict key), renewed a little before
  expiry and after a 401. One lock per key: 16 concurrent verifications of one key fetch one token.
- **Pace**: Procountor's "API requests" page allows 20 requests per second per client application and
  says that exceeding it "may result in suspending the service". Every request (tokens included) first
  takes a slot from a process-wide limiter shared by every client of the same application, so the four
  engine threads together never exceed ``requests_per_second`` (default 20) in any one-second window at
  the server (how Procountor measures it is not published: this is the strictest reading), while a short
  burst (the reads of one verification) still leaves at once.
- **Token refusals**: 400 and 401 from ``oauth/token`` are both refusals. The body may be Procountor's
  ``{"errors": [...]}`` or OAuth's ``{"error", "error_description"}``; the cause is named only where the
  answer (or an earlier success with the same client credentials) tells it, else both fixes are.
  What Procountor says is quoted with every credential of the request scrubbed out, in any case and
  URL-encoded too.
- **Errors** are typed (``TokenRefused``, ``ServerFailure``, ``AccessDenied``) so that the checks can
  turn them into the guide's fixes; messages never hold a key or a token.
- **Answers are read within bounds** (``provider.http_body``: size on the wire and decompressed, a total
  deadline per attempt) and parsed as strict JSON; anything else is a ``ProcountorError`` saying what
  to check.
- **A 500 after the token is not retried**: per the guide it means the company does not allow billable
  interfaces, which asking again cannot change (502/503/504, 429 and transport faults are retried).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from provider.defaults import (
    ANSWER_DEADLINE_SECONDS,
    ANSWER_MAX_BYTES,
    ANSWER_MAX_COMPRESSED_BYTES,
    PROCOUNTOR_READ_THREADS,
    PROCOUNTOR_RENEW_MARGIN_SECONDS,
    PROCOUNTOR_REQUESTS_PER_SECOND,
    PROCOUNTOR_TOKEN_LIFETIME_SECONDS,
)
from provider.errors import AccessDenied, ProcountorError, ServerFailure, TokenRefused
from provider.http import TRANSPORT_ERRORS, build_client, transport_failure
from provider.http_body import Limits, NotStrictJson, TooLarge, Undecodable, send_bounded, strict_json
from provider.procountor.models import Company, Dimension, UserRights
from provider.procountor.pace import limiter_for
from provider.redaction import redacted_quote
from provider.retry import RetryableStatus, RetryPolicy
from provider.settings import ProcountorSettings

T = TypeVar("T")

log = logging.getLogger(__name__)

DEFAULT_REQUESTS_PER_SECOND = PROCOUNTOR_REQUESTS_PER_SECOND
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
OAUTH_PATH = "oauth/token"
# What Procountor said, quoted in an error, is cut to this length.
_QUOTE_LIMIT = 300
# OAuth 2.0 (RFC 6749 section 5.2) error codes that name the cause of a refused token request.
_OAUTH_CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client"})
_OAUTH_GRANT_ERRORS = frozenset({"invalid_grant"})


_COMPANY = TypeAdapter(Company)
_USER_RIGHTS = TypeAdapter(UserRights)
_DIMENSIONS = TypeAdapter(list[Dimension])


# ---- tokens ----


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float


class TokenCache:
    """Access tokens by API-key fingerprint; one fetch per key at a time, whatever the number of threads."""

    def __init__(self, fetch: Callable[[str], tuple[str, float]]) -> None:
        self._fetch = fetch
        self._salt = secrets.token_bytes(32)  # per process: fingerprints are useless outside it
        self._tokens: dict[str, _Token] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _fingerprint(self, api_key: str) -> str:
        return hmac.new(self._salt, api_key.encode(), hashlib.sha256).hexdigest()

    def get(self, api_key: str) -> str:
        key = self._fingerprint(api_key)
        with self._lock:
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:
            cached = self._tokens.get(key)
            if cached is not None and time.monotonic() < cached.renew_at:
                return cached.value
            value, lifetime = self._fetch(api_key)
            margin = min(PROCOUNTOR_RENEW_MARGIN_SECONDS, lifetime / 10)
            self._tokens[key] = _Token(value, time.monotonic() + lifetime - margin)
            return value

    def discard(self, api_key: str, token: str) -> None:
        """Forget ``token`` (refused with 401) unless another thread has already replaced it."""
        key = self._fingerprint(api_key)
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.value == token:
                del self._tokens[key]


# ---- the client ----


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A call made in parallel with others: its value, or the Procountor error it ended in."""

    value: T | None = None
    error: ProcountorError | None = None


@dataclass(frozen=True)
class CompanyFacts:
    """What one API key shows of its company, read concurrently after one token."""

    company: Outcome[Company]
    rights: Outcome[UserRights]
    dimensions: Outcome[list[Dimension]] | None


class ProcountorClient:
    """One partner application (``procountor:clientId``) at one Procountor host; thread-safe, shared."""

    def __init__(
        self,
        settings: ProcountorSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        limits: Limits | None = None,
        requests_per_second: float | None = None,
    ) -> None:
        # Paths are joined to the base URL, so a versioned prefix such as .../v2604/api keeps working.
        base_url = settings.base_url.rstrip("/") + "/"
        self.client_id = settings.client_id
        self._client_secret = settings.client_secret
        self._retry = retry or RetryPolicy()
        self._http = build_client(base_url, transport=transport)
        self._limits = limits or Limits(
            max_compressed=ANSWER_MAX_COMPRESSED_BYTES,
            max_decompressed=ANSWER_MAX_BYTES,
            deadline_seconds=ANSWER_DEADLINE_SECONDS,
        )
        pace = requests_per_second or DEFAULT_REQUESTS_PER_SECOND
        if pace > PROCOUNTOR_REQUESTS_PER_SECOND:
            log.warning(
                "procountor:requestsPerSecond is %g, above the %g requests per second that Procountor's "
                "API page allows a client application; Procountor says exceeding it may result in "
                "suspending the service for the application (client id %r). Keep it only if Procountor "
                "agreed to a higher limit for this application.",
                pace,
                PROCOUNTOR_REQUESTS_PER_SECOND,
                settings.client_id,
            )
        self._limiter = limiter_for(base_url, settings.client_id, pace)
        self._tokens = TokenCache(self._fetch_token)
        # Set once any API key got a token: then procountor:clientId/clientSecret are known to be right.
        self._client_credentials_accepted = False
        self._pool = ThreadPoolExecutor(max_workers=PROCOUNTOR_READ_THREADS, thread_name_prefix="procountor")

    def __repr__(self) -> str:
        return f"ProcountorClient({self._http.base_url}, client_id={self.client_id!r})"

    # ---- the calls ----

    def token(self, api_key: str) -> str:
        """A valid access token for the API key (cached); TokenRefused when Procountor refuses it."""
        return self._tokens.get(api_key)

    def company(self, api_key: str) -> Company:
        return self._get(api_key, "company", _COMPANY)

    def user_rights(self, api_key: str) -> UserRights:
        return self._get(api_key, "users/rights", _USER_RIGHTS)

    def dimensions(self, api_key: str) -> list[Dimension]:
        return self._get(api_key, "dimensions", _DIMENSIONS)

    def company_facts(self, api_key: str, *, with_dimensions: bool) -> CompanyFacts:
        """Token first (its errors raise), then company, rights and dimensions at the same time."""
        self.token(api_key)
        company = self._pool.submit(_outcome, lambda: self.company(api_key))
        rights = self._pool.submit(_outcome, lambda: self.user_rights(api_key))
        dimensions = (
            self._pool.submit(_outcome, lambda: self.dimensions(api_key)) if with_dimensions else None
        )
        return CompanyFacts(company.result(), rights.result(), dimensions.result() if dimensions else None)

    # ---- plumbing ----

    def _fetch_token(self, api_key: str) -> tuple[str, float]:
        secret = self._client_secret.get_secret_value()
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": secret,
            "api_key": api_key,
        }
        # httpx would add "; charset=utf-8" to a dict body; Procountor's docs and clients send the bare type.
        response = self._send(
            "POST",
            OAUTH_PATH,
            what="requesting an access token",
            content=urllib.parse.urlencode(form),
            headers={"Content-Type": FORM_CONTENT_TYPE},
        )
        if response.status_code in (400, 401):
            raise self._token_refused(response, (secret, api_key))
        if not response.is_success:
            raise _refused(response, "requesting an access token", (secret, api_key))
        try:
            payload = strict_json(response.content)
            token = payload["access_token"]
            lifetime = float(payload.get("expires_in", PROCOUNTOR_TOKEN_LIFETIME_SECONDS))
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
            token, lifetime = None, 0.0
        if not isinstance(token, str) or not token or not 0 < lifetime < math.inf:
            raise ProcountorError(
                "Procountor answered the token request with something that is not a token; "
                "check procountor:baseUrl.",
                status_code=response.status_code,
            )
        self._client_credentials_accepted = True
        return token, lifetime

    def _token_refused(self, response: httpx.Response, secrets_sent: Iterable[str]) -> TokenRefused:
        """The refusal with its cause where the answer tells it; what Procountor said, scrubbed."""
        body = _json_object(response)
        oauth_error = body.get("error") if isinstance(body.get("error"), str) else None
        said = redacted_quote(_what_procountor_said(body), secrets_sent, _QUOTE_LIMIT)
        if oauth_error in _OAUTH_CLIENT_ERRORS:
            cause: str | None = "client_id"
        elif oauth_error in _OAUTH_GRANT_ERRORS or self._client_credentials_accepted:
            cause = "api_key"  # invalid_grant, or the same client credentials worked for another key
        else:
            cause = None  # Procountor's errors[] body (or none) does not say which credential it refused
        quoted = f': "{said}"' if said else ""
        return TokenRefused(
            f"Procountor refused the token request (HTTP {response.status_code}){quoted}",
            field=cause,
            status_code=response.status_code,
        )

    def _get(self, api_key: str, path: str, shape: TypeAdapter[T]) -> T:
        what = f"reading {path}"
        for renewing in (False, True):
            token = self.token(api_key)
            response = self._send("GET", path, what=what, headers={"Authorization": f"Bearer {token}"})
            if response.status_code == 401 and not renewing:
                self._tokens.discard(api_key, token)  # expired or revoked early: one fresh token, once
                continue
            break
        if response.status_code == 500:
            raise ServerFailure(
                f"Procountor answered 'Internal server error' (HTTP 500) while {what}",
                status_code=500,
                retryable=True,
            )
        if response.status_code == 403:
            raise AccessDenied(f"Procountor denied the API user access to {path} (HTTP 403)", path=path)
        if not response.is_success:
            raise _refused(response, what, (token, api_key))
        try:
            body = strict_json(response.content)
        except NotStrictJson as error:
            raise ProcountorError(
                f"Procountor gave an unexpected answer while {what}: it is {error}; "
                "check procountor:baseUrl.",
                status_code=response.status_code,
            ) from None
        try:
            return shape.validate_python(body)
        except ValidationError:
            raise ProcountorError(
                f"Procountor gave an unexpected answer while {what}: it is not the shape Procountor's API "
                "documents; check procountor:baseUrl.",
                status_code=response.status_code,
            ) from None

    def _send(
        self, method: str, path: str, *, what: str, headers: dict[str, str], content: str | None = None
    ) -> httpx.Response:
        def attempt() -> httpx.Response:
            with self._limiter.slot():
                response = send_bounded(
                    self._http, method, path, self._limits, headers=headers, content=content
                )
            if response.status_code == 500 and path != OAUTH_PATH:
                return response  # the billable-interfaces answer: asking again only costs time
            if self._retry.should_retry_status(response.status_code):
                raise RetryableStatus(response)
            return response

        try:
            return self._retry.call(attempt, idempotent=True, describe=f"procountor {method} {path}")
        except RetryableStatus as error:
            status = error.response.status_code
            raise ProcountorError(
                f"Procountor kept failing while {what} (last answer HTTP {status}); "
                "run `pulumi up` again later.",
                status_code=status,
                retryable=True,
            ) from None
        except TooLarge as error:
            raise ProcountorError(
                f"Procountor's answer while {what} was refused unread: it was {error}; "
                "check procountor:baseUrl."
            ) from None
        except Undecodable as error:
            raise ProcountorError(
                f"Procountor's answer while {what} could not be read ({error}); check procountor:baseUrl "
                "and any proxy between this machine and Procountor."
            ) from None
        except TRANSPORT_ERRORS as error:
            raise transport_failure(
                error,
                ProcountorError,
                "Procountor",
                f" while {what}, also after retries; "
                "check procountor:baseUrl and the network, then run `pulumi up` again.",
            ) from None


def _outcome(call: Callable[[], T]) -> Outcome[T]:
    try:
        return Outcome(value=call())
    except ProcountorError as error:
        return Outcome(error=error)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = strict_json(response.content)
    except NotStrictJson:
        return {}
    return body if isinstance(body, dict) else {}


def _what_procountor_said(body: dict[str, Any]) -> str:
    """The texts of an error body: Procountor's ``errors[].message``, OAuth's ``error`` and description."""
    parts: list[str] = []
    for name in ("error", "error_description", "message"):
        if isinstance(body.get(name), str):
            parts.append(body[name])
    errors = body.get("errors")
    if isinstance(errors, list):
        parts += [e["message"] for e in errors if isinstance(e, dict) and isinstance(e.get("message"), str)]
    return " / ".join(part.strip() for part in parts if part.strip())


def _refused(response: httpx.Response, what: str, secrets_sent: Iterable[str]) -> ProcountorError:
    said = redacted_quote(_what_procountor_said(_json_object(response)), secrets_sent, _QUOTE_LIMIT)
    detail = f": {said}" if said else ""
    return ProcountorError(
        f"Procountor refused {what} (HTTP {response.status_code}){detail}", status_code=response.status_code
    )
