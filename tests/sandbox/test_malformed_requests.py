"""Malformed requests to the sandbox's portal and Procountor: a 4xx in the service's error shape, never 500.

Bodies that are not JSON (or not strict JSON, nested absurdly deep, lone surrogates), wrong types, huge
bodies, numbers beyond any id, bad query parameters and unknown methods. Written from the public API
descriptions: the portal answers ``{"error": "..."}``, Procountor ``{"errors": [{"status", "message"}]}``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.server import RunningSandbox
from tests.sandbox.conftest import HEALTHY_KEY, PORTAL_KEY, bearer, request_token

HUGE = 10**30
AUTH = {"Authorization": f"Bearer {PORTAL_KEY}"}
JSON = {"Content-Type": "application/json"}

# (method, path, query, raw body or None)
PORTAL_CASES: list[tuple[str, str, dict[str, str] | None, bytes | None]] = [
    ("POST", "/clients", None, b"not json"),
    ("POST", "/clients", None, b"\xff\xfe\xfa"),
    ("POST", "/clients", None, b"[1, 2]"),
    ("POST", "/clients", None, b'{"name": NaN, "country": "FI"}'),
    ("POST", "/clients", None, b'{"name": "A", "country": "FI", "teams": [1e999]}'),
    (
        "POST",
        "/clients",
        None,
        b'{"name": "A", "country": "FI", "tags": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    ),
    ("POST", "/clients", None, b'{"name": "\\ud800", "country": "FI"}'),
    ("POST", "/clients", None, b'{"name": 5, "country": ["FI"]}'),
    ("POST", "/clients", None, b'{"name": "A", "country": "FI", "teams": [%d]}' % HUGE),
    ("POST", "/clients", None, b'{"name": "A", "country": "FI", "teams": ["x"]}'),
    ("POST", "/clients", None, b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'", "country": "FI"}'),
    ("GET", "/clients", {"page": str(HUGE)}, None),
    ("GET", "/clients", {"page": "9" * 5000}, None),
    ("GET", "/clients", {"limit": "-1"}, None),
    ("GET", "/clients", {"page": "one"}, None),
    ("GET", "/clients", {"page": "0"}, None),
    ("GET", f"/clients/{HUGE}", None, None),
    ("PATCH", f"/clients/{HUGE}", None, b"{}"),
    ("DELETE", f"/clients/{HUGE}", None, None),
    ("GET", f"/clients/{HUGE}/connection", None, None),
    ("PUT", f"/clients/{HUGE}/connection", None, b'{"system": "procountor"}'),
    ("PATCH", f"/clients/1/connection/{'x' * 5000}", None, b'{"credentials": {"apiKey": "k"}}'),
    (
        "PUT",
        "/clients/1/connection",
        None,
        b'{"system": "sap", "erpCompanyId": "1", "credentials": {"a": "b"}}',
    ),
    ("PUT", "/clients/1/connection", None, b'{"system": "procountor", "erpCompanyId": 1, "credentials": []}'),
    ("POST", "/clients/1/models", None, b'{"label": "DIMENSION", "priority": 1e400}'),
    ("GET", f"/clients/1/models/{HUGE}", None, None),
    ("DELETE", f"/clients/1/models/{HUGE}", None, None),
    ("PUT", "/teams/1", None, b'{"clients": [%d]}' % HUGE),
    ("PUT", f"/teams/{HUGE}", None, b'{"name": "T"}'),
    ("POST", "/teams", None, b'{"name": "T", "clients": [%d]}' % HUGE),
    ("TRACE", "/clients", None, None),
    ("BREW", "/clients/1", None, None),
    ("PUT", "/clients", None, b"{}"),
]


def _send(
    url: str, method: str, query: dict[str, str] | None, body: bytes | None, headers: dict[str, str]
) -> httpx.Response:
    return httpx.request(method, url, params=query, content=body, headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    PORTAL_CASES,
    ids=[f"{m} {p[:40]} {q or ''} {(b or b'')[:30]!r}" for m, p, q, b in PORTAL_CASES],
)
def test_the_portal_answers_a_malformed_request_with_its_own_4xx(
    example_sandbox: RunningSandbox, method: str, path: str, query: dict[str, str] | None, body: bytes | None
) -> None:
    url = example_sandbox.service_url("portal") + path
    response = _send(url, method, query, body, {**AUTH, **JSON})
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    error = response.json()
    assert isinstance(error, dict) and isinstance(error.get("error"), str) and error["error"], error
    assert len(response.content) < 4096, "the error does not echo a huge request back"
    if body is not None and len(body) > 1024 * 1024:
        assert response.status_code == 413


def _procountor_token(running: RunningSandbox) -> str:
    response = request_token(f"{running.service_url('procountor')}", HEALTHY_KEY)
    token: str = response.json()["access_token"]
    return token


PROCOUNTOR_CASES: list[tuple[str, str, dict[str, str] | None, bytes | None, dict[str, str]]] = [
    (
        "POST",
        "/api/oauth/token",
        None,
        b"\xff\xfe=\x00&&&==",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    (
        "POST",
        "/api/oauth/token",
        None,
        b"a=" + b"x" * (2 * 1024 * 1024),
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    (
        "POST",
        "/api/oauth/token",
        None,
        b'{"grant_type": "client_credentials"}',
        {"Content-Type": "application/json"},
    ),
    (
        "POST",
        "/api/oauth/token",
        None,
        b"grant_type=client_credentials&client_id=%ff%fe",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    ("GET", "/api/oauth/token", None, None, {}),
    ("DELETE", "/api/company", None, None, {}),
    ("BREW", "/api/company", None, None, {}),
    ("GET", "/api/invoices", {"page": str(HUGE)}, None, {}),
    ("GET", "/api/invoices", {"page": "9" * 5000}, None, {}),
    ("GET", "/api/invoices", {"size": "-5"}, None, {}),
    ("GET", "/api/invoices", {"types": ","}, None, {}),
    ("GET", "/api/products", {"previousId": "x"}, None, {}),
    ("GET", "/v9999999999999999999999/api/company", None, None, {}),
    ("GET", "/api/company", None, None, {"Authorization": "Bearer \u00e4\u00e4"}),
    ("GET", "/api/company", None, None, {"Authorization": "Basic " + "x" * 6000}),
]


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "headers"),
    PROCOUNTOR_CASES,
    ids=[f"{m} {p[:40]} {q or ''} {(b or b'')[:20]!r} {list(h)}" for m, p, q, b, h in PROCOUNTOR_CASES],
)
def test_procountor_answers_a_malformed_request_with_its_own_4xx(
    example_sandbox: RunningSandbox,
    method: str,
    path: str,
    query: dict[str, str] | None,
    body: bytes | None,
    headers: dict[str, str],
) -> None:
    base = example_sandbox.service_url("procountor")
    sent: dict[str, Any] = dict(headers)
    if "Authorization" not in sent and "oauth" not in path:
        sent.update(bearer(_procountor_token(example_sandbox)))
    raw = {k: v.encode("utf-8") if k == "Authorization" else v for k, v in sent.items()}
    response = httpx.request(method, base + path, params=query, content=body, headers=raw, timeout=30)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    errors = response.json().get("errors")
    assert isinstance(errors, list) and errors and isinstance(errors[0].get("message"), str), response.text
    assert errors[0]["status"] == response.status_code
    if body is not None and len(body) > 1024 * 1024:
        assert response.status_code == 413
    assert len(response.content) < 4096, "the error does not echo a huge request back"
