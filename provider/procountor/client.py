"""The Procountor REST client: M2M tokens per API key, company, the API user's rights, dimensions.

- **Any base URL**: production (``https://api.procountor.com/api``), PTS, a versioned prefix
  (``.../v2604/api``) or the sandbox; paths are relative to it.
- **Tokens**: ``POST oauth/token`` with a form body (no credential ever in a URL). Cached per API key,
  keyed by an HMAC fingerprint of the key (the raw key is never a dict key), renewed a little before
  expiry and after a 401. One lock per key: 16 concurrent verifications of one key fetch one token.
- **Rate limit**: Procountor allows 60 requests per second per client application and may suspend an
  application that exceeds it. Every request (tokens included) first takes a slot from a process-wide
  limiter shared by every client of the same application, so the four engine threads together stay
  under ``requests_per_second`` (default 20).
- **Errors** are typed (``TokenRefused``, ``ServerFailure``, ``AccessDenied``) so that the checks can
  turn them into the guide's fixes; messages never hold a key or a token.
- **A 500 after the token is not retried**: per the guide it means the company does not allow billable
  interfaces, which asking again cannot change (502/503/504, 429 and transport faults are retried).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from provider import defaults
from provider.context import process_context
from provider.errors import AccessDenied, ProcountorError, ServerFailure, TokenRefused
from provider.http import TRANSPORT_ERRORS, build_client, transport_failure
from provider.procountor.models import Company, Dimension, UserRights
from provider.retry import RetryableStatus, RetryPolicy
from provider.settings import ProcountorSettings

T = TypeVar("T")

DEFAULT_REQUESTS_PER_SECOND = defaults.PROCOUNTOR_REQUESTS_PER_SECOND
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
OAUTH_PATH = "oauth/token"
# Renew a token this long before Procountor says it expires (at most a tenth of its lifetime).
RENEW_MARGIN_SECONDS = defaults.PROCOUNTOR_TOKEN_RENEW_MARGIN_SECONDS


_COMPANY = TypeAdapter(Company)
_USER_RIGHTS = TypeAdapter(UserRights)
_DIMENSIONS = TypeAdapter(list[Dimension])


# ---- rate limiting and tokens ----


class RateLimiter:
    """Spaces requests evenly: at most ``per_second`` slots per second, handed out in order."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._lock = threading.Lock()
        self._next = 0.0

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


def limiter_for(base_url: str, client_id: str, per_second: float) -> RateLimiter:
    """The process-wide limiter of one client application at one Procountor host (in provider.context)."""
    return process_context().procountor_limiters.get((base_url, client_id), lambda: RateLimiter(per_second))


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
            margin = min(RENEW_MARGIN_SECONDS, lifetime / 10)
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

    # Tests replace these before the provider builds its clients (tiny waits, a faster pace).
    default_retry: ClassVar[RetryPolicy] = RetryPolicy()
    default_requests_per_second: ClassVar[float] = DEFAULT_REQUESTS_PER_SECOND

    def __init__(
        self,
        settings: ProcountorSettings,
        *,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        requests_per_second: float | None = None,
    ) -> None:
        # Paths are joined to the base URL, so a versioned prefix such as .../v2604/api keeps working.
        base_url = settings.base_url.rstrip("/") + "/"
        self.client_id = settings.client_id
        self._client_secret = settings.client_secret
        self._retry = retry or self.default_retry
        self._http = http or build_client(base_url)
        pace = requests_per_second or self.default_requests_per_second
        self._limiter = limiter_for(base_url, settings.client_id, pace)
        self._tokens = TokenCache(self._fetch_token)
        self._pool = ThreadPoolExecutor(max_workers=12, thread_name_prefix="procountor")

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
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret.get_secret_value(),
            "api_key": api_key,
        }
        # httpx would add "; charset=utf-8" to a dict body; Procountor wants the bare type.
        response = self._send(
            "POST",
            OAUTH_PATH,
            what="requesting an access token",
            content=urllib.parse.urlencode(form),
            headers={"Content-Type": FORM_CONTENT_TYPE},
        )
        if response.status_code == 401:
            field = _error_field(response)
            raise TokenRefused(
                "Procountor refused the partner application's client credentials"
                if field == "client_id"
                else "Procountor refused the API key (wrong, revoked, or created for another client id)",
                field="client_id" if field == "client_id" else "api_key",
            )
        if not response.is_success:
            raise _refused(response, "requesting an access token")
        try:
            payload = response.json()
            return str(payload["access_token"]), float(payload.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise ProcountorError(
                "Procountor answered the token request with something that is not a token; "
                "check procountor:baseUrl.",
                status_code=response.status_code,
            ) from None

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
            raise _refused(response, what)
        try:
            return shape.validate_python(response.json())
        except (ValueError, ValidationError):
            raise ProcountorError(
                f"Procountor gave an unexpected answer while {what}; check procountor:baseUrl.",
                status_code=response.status_code,
            ) from None

    def _send(
        self, method: str, path: str, *, what: str, headers: dict[str, str], content: str | None = None
    ) -> httpx.Response:
        def attempt() -> httpx.Response:
            self._limiter.acquire()
            response = self._http.request(method, path, headers=headers, content=content)
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


def _error_field(response: httpx.Response) -> str | None:
    try:
        errors = response.json().get("errors")
        field = errors[0].get("field") if isinstance(errors, list) and errors else None
    except (ValueError, AttributeError):
        return None
    return field if isinstance(field, str) else None


def _refused(response: httpx.Response, what: str) -> ProcountorError:
    message = None
    try:
        errors = response.json().get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            message = errors[0].get("message")
    except (ValueError, AttributeError):
        message = None
    detail = f": {message}" if isinstance(message, str) else ""
    return ProcountorError(
        f"Procountor refused {what} (HTTP {response.status_code}){detail}", status_code=response.status_code
    )
