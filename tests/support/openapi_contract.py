"""Every exchange of the connection extension checked against docs/portal-connection-extension.openapi.yaml.

The document is the contract the provider and the sandbox's portal both build against; this module holds
them to it with openapi-core (OpenAPI 3.1, JSON Schema 2020-12), so neither can drift from the text.
An exchange is the extension's when its path holds ``/clients/{id}/connection`` (after any base path:
``/portal/clients/7/connection/conn_1`` is matched as ``/clients/7/connection/conn_1``); every other
exchange passes untouched, so one wrapper can sit under a whole client.

Use it in tests:

    from tests.support.openapi_contract import ContractTransport, validate_exchange

    # A provider client: every extension exchange it makes is validated, request and answer.
    api = PortalApi(settings, transport=ContractTransport())            # wraps httpx.HTTPTransport()
    api = PortalApi(settings, transport=ContractTransport(inner_mock))  # or any transport of the test

    # Plain httpx (the sandbox's tests): answers only, when the test sends a malformed request on purpose.
    client = httpx.Client(..., transport=ContractTransport(check_requests=False))

    # One exchange at hand:
    validate_exchange(response.request, response)

A violation raises ``ContractViolation`` (an AssertionError) naming the method, the path and what the
schema refused; ``validate_document()`` checks the document itself against the OpenAPI 3.1 schema.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_spec_validator import validate as validate_spec
from werkzeug.datastructures import Headers, ImmutableMultiDict

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "portal-connection-extension.openapi.yaml"
# The document's servers differ from every test's URL; exchanges are matched at this one instead.
_HOST = "http://portal.contract"
_EXTENSION = re.compile(r"^.*?(?P<path>/clients/[^/]+/connection(?:/[^/]+)*)/?$")


class ContractViolation(AssertionError):
    """An exchange the extension's OpenAPI document does not allow."""


def _load() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def validate_document() -> None:
    """The document is valid OpenAPI 3.1 (raises openapi-spec-validator's error otherwise)."""
    validate_spec(_load())


@functools.cache
def contract() -> OpenAPI:
    document = _load()
    document["servers"] = [{"url": _HOST}]
    return OpenAPI.from_dict(document)


def extension_path(url: httpx.URL) -> str | None:
    """The path below the portal's base when ``url`` is an extension route; else None."""
    found = _EXTENSION.match(url.path)
    return found.group("path") if found else None


class _Request:
    """An httpx request as openapi-core reads one."""

    def __init__(self, request: httpx.Request, path: str) -> None:
        self._request = request
        self._path = path
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return _HOST

    @property
    def path(self) -> str:
        return self._path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        content = self._request.read()
        return content or None

    @property
    def content_type(self) -> str:
        return str(self._request.headers.get("content-type", "")).lower()


class _Response:
    """An httpx response (already read) as openapi-core reads one."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return str(self._response.headers.get("content-type", "")).lower()

    @property
    def headers(self) -> Headers:
        return Headers(list(self._response.headers.items()))

    @property
    def data(self) -> bytes | None:
        return self._response.content or None


def _violation(what: str, request: httpx.Request, error: Exception) -> ContractViolation:
    details = [str(error)]
    cause: BaseException | None = error.__cause__
    while cause is not None:
        details.append(str(cause))
        for schema_error in getattr(cause, "schema_errors", ()):
            where = "/".join(str(part) for part in schema_error.absolute_path)
            details.append(f"  at /{where}: {schema_error.message}")
        cause = cause.__cause__
    return ContractViolation(f"{what} of {request.method} {request.url.path}: " + "\n".join(details))


def validate_request(request: httpx.Request) -> None:
    """Raise ContractViolation when an extension request breaks the document (a no-op for other paths)."""
    path = extension_path(request.url)
    if path is None:
        return
    try:
        contract().validate_request(_Request(request, path))
    except Exception as error:  # openapi-core's many validation errors, said as one
        raise _violation("request", request, error) from error


def validate_response(request: httpx.Request, response: httpx.Response) -> None:
    """Raise ContractViolation when an extension answer breaks the document (a no-op for other paths)."""
    path = extension_path(request.url)
    if path is None:
        return
    response.read()
    try:
        contract().validate_response(_Request(request, path), _Response(response))
    except Exception as error:
        raise _violation(f"answer {response.status_code}", request, error) from error


def validate_exchange(
    request: httpx.Request, response: httpx.Response, *, check_request: bool = True
) -> None:
    if check_request:
        validate_request(request)
    validate_response(request, response)


class ContractTransport(httpx.BaseTransport):
    """A transport that validates every extension exchange passing through it (see the module docstring).

    ``check_requests=False`` validates the answers only (for tests that send malformed requests on
    purpose); ``exchanges`` counts the extension exchanges validated, so a test can show it saw some."""

    def __init__(self, inner: httpx.BaseTransport | None = None, *, check_requests: bool = True) -> None:
        self.inner = inner if inner is not None else httpx.HTTPTransport()
        self.check_requests = check_requests
        self.exchanges = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.check_requests:
            validate_request(request)
        response = self.inner.handle_request(request)
        if extension_path(request.url) is None:
            return response
        # Read the answer as it came on the wire (still encoded), validate a decoded copy, and hand the
        # client a fresh stream of the same bytes: a client that reads ``response.stream`` itself (the
        # provider's bounded reader) meets exactly what the server sent.
        # The stream itself, not iter_raw(): a response built from bytes (MockTransport) counts as read.
        stream = response.stream
        assert isinstance(stream, httpx.SyncByteStream), "a synchronous transport answers a sync stream"
        try:
            raw = b"".join(stream)
        finally:
            response.close()
        validate_response(
            request,
            httpx.Response(response.status_code, headers=response.headers, content=raw, request=request),
        )
        self.exchanges += 1
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(raw),
            request=request,
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()
