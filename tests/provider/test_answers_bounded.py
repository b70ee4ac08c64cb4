"""Hostile answers from the portal and Procountor, served by a real HTTP server on 127.0.0.1.

Each case is an answer a broken or hostile service (or a proxy) could send: too large on the wire, a gzip
bomb, a trickle that each read's timeout allows but the whole call's deadline does not, JSON that is not
strict (``NaN``, ``Infinity``), nested absurdly deep, not the documented shape, a false Content-Encoding, a
list that never ends. Each ends in the service's project error saying what was wrong and what to check,
named for the client once the resource layer annotates it; never a traceback, never the key.
"""

from __future__ import annotations

import gzip
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from provider.errors import PortalError, ProcountorError
from provider.http_body import Limits, NotStrictJson, strict_json
from provider.portal.client import PortalClient
from provider.procountor.client import ProcountorClient
from provider.retry import RetryPolicy
from provider.settings import PortalSettings, ProcountorSettings

PORTAL_KEY = "portal-key-Zq9!x"
CLIENT_SECRET = "procountor-secret-W7%y"
API_KEY = "procountor-api-key-P3/k"
LIMITS = Limits(max_compressed=64 * 1024, max_decompressed=256 * 1024, deadline_seconds=1.0)
ONE_TRY = RetryPolicy(max_attempts=1, initial_wait=0.01, max_wait=0.01)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    trickle: float = 0.0  # seconds between bytes; the body is then sent without Content-Length
    chunked: bool = False


Route = Callable[[str], Answer]


class _Handler(http.server.BaseHTTPRequestHandler):
    route: Route
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        answer = self.route(self.path)
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        streamed = answer.trickle > 0 or answer.chunked
        if streamed:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        try:
            if not streamed:
                self.wfile.write(answer.body)
                return
            step = 1 if answer.trickle > 0 else 16 * 1024
            for start in range(0, len(answer.body), step):
                piece = answer.body[start : start + step]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
                if answer.trickle:
                    time.sleep(answer.trickle)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on the answer, as it should

    do_GET = do_POST = do_PATCH = _answer  # noqa: N815 (http.server's names)


@pytest.fixture
def serve() -> Iterator[Callable[[Route], str]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(route: Route) -> str:
        handler = type("Handler", (_Handler,), {"route": staticmethod(route)})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def _gzip_bomb() -> bytes:
    return gzip.compress(b"[" + b" " * (LIMITS.max_decompressed * 4) + b"]", compresslevel=9)


def _nested(depth: int) -> bytes:
    return b'{"data": ' + b"[" * depth + b"]" * depth + b"}"


# (case, answer to GET /clients/1, what the message says)
HOSTILE: list[tuple[str, Answer, str]] = [
    ("too large, declared", Answer(body=b" " * (LIMITS.max_compressed + 1)), "on the wire"),
    ("too large, chunked", Answer(body=b" " * (LIMITS.max_compressed * 2), chunked=True), "on the wire"),
    (
        "gzip bomb",
        Answer(
            body=_gzip_bomb(), headers=(("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
        ),
        "decompressed",
    ),
    (
        "false Content-Encoding",
        Answer(body=b'{"data": {}}', headers=(("Content-Encoding", "gzip"),)),
        "could not be read",
    ),
    ("Infinity", Answer(body=b'{"data": {"id": Infinity, "name": "x"}}'), "Infinity is not a JSON value"),
    ("NaN", Answer(body=b'{"data": {"id": 1, "name": NaN}}'), "NaN is not a JSON value"),
    ("nested beyond the stack", Answer(body=_nested(20_000)), "nested deeper than"),
    ("nested beyond the bound", Answer(body=_nested(500)), "nested deeper than"),
    ("not JSON", Answer(body=b"<html>proxy error</html>"), "not JSON"),
    ("a list, not an object", Answer(body=b"[1, 2]"), "not a JSON object"),
    ("wrong shape", Answer(body=_json({"data": {"id": "one", "name": []}})), "not the shape"),
    ("a digit string too long", Answer(body=b'{"data": {"id": ' + b"9" * 5000 + b"}}"), "not JSON"),
]


def _portal(url: str) -> PortalClient:
    return PortalClient(PortalSettings(url=url, api_key=SecretStr(PORTAL_KEY)), retry=ONE_TRY, limits=LIMITS)


@pytest.mark.parametrize(("case", "answer", "said"), HOSTILE, ids=[case for case, _, _ in HOSTILE])
def test_portal_refuses_a_hostile_answer_with_its_own_error(
    serve: Callable[[Route], str], case: str, answer: Answer, said: str
) -> None:
    portal = _portal(serve(lambda path: answer))
    with pytest.raises(PortalError) as raised:
        portal.get_client(1)
    error = raised.value.about("Acme Oy (1234567-1)")
    message = str(error)
    assert message.startswith("Acme Oy (1234567-1): The FabricAI portal"), message
    assert said in message, message
    assert "fabricai:portalUrl" in message  # the fix: what to check
    assert PORTAL_KEY not in message
    assert "Traceback" not in message and len(message) < 600


def test_a_trickling_portal_answer_is_cut_by_the_total_deadline(serve: Callable[[Route], str]) -> None:
    # Each byte comes well within the per-read timeout (30 s); the whole would take 40 s.
    answer = Answer(body=_json({"data": {"id": 1, "name": "x" * 400}}), trickle=0.1)
    portal = _portal(serve(lambda path: answer))
    started = time.monotonic()
    with pytest.raises(PortalError) as raised:
        portal.get_client(1)
    assert time.monotonic() - started < LIMITS.deadline_seconds + 2.0
    assert "did not answer in time" in str(raised.value)
    assert raised.value.retryable


def test_a_write_whose_answer_is_unreadable_never_says_nothing_happened(
    serve: Callable[[Route], str],
) -> None:
    answer = Answer(body=b'{"data": {"id": 7, "name": NaN}}', status=201)
    portal = _portal(serve(lambda path: answer))
    with pytest.raises(PortalError) as raised:
        portal._api.call(
            "POST", "/clients", what="registering Acme Oy", json={}, idempotent=False, handle=_need_object
        )
    message = str(raised.value)
    assert "may or may not have applied the change" in message
    assert "Nothing" not in message


def _need_object(response: object) -> object:
    from provider.portal import api

    assert hasattr(response, "status_code")
    return api.payload(response, "registering Acme Oy")  # type: ignore[arg-type]


def test_an_absurd_count_is_not_trusted_and_an_endless_list_stops_at_the_bound(
    serve: Callable[[Route], str],
) -> None:
    pages: list[str] = []

    def endless(path: str) -> Answer:
        pages.append(path)
        page = int(path.split("page=")[1].split("&")[0])
        items = [
            {"id": page * 100 + n, "name": f"C{n}", "businessId": None, "status": "active"} for n in range(50)
        ]
        return Answer(body=_json({"count": 10**12, "data": items}))

    portal = PortalClient(
        PortalSettings(url=serve(endless), api_key=SecretStr(PORTAL_KEY)),
        retry=ONE_TRY,
        limits=LIMITS,
        directory_max_pages=7,
    )
    with pytest.raises(PortalError) as raised:
        portal.find("1234567-1")
    assert len(pages) == 7, "the listing read exactly the bound of pages, not for ever"
    assert "did not end within 7 pages" in str(raised.value)

    # A short page ends the list whatever its count says.
    short = _portal(serve(lambda path: Answer(body=_json({"count": 10**12, "data": []}))))
    assert short.find("1234567-1") is None


def _procountor(url: str) -> ProcountorClient:
    settings = ProcountorSettings(base_url=url, client_id="fabricai", client_secret=SecretStr(CLIENT_SECRET))
    return ProcountorClient(settings, retry=ONE_TRY, limits=LIMITS, requests_per_second=1000)


TOKEN = _json({"access_token": "tok-1", "expires_in": 3600})


@pytest.mark.parametrize(("case", "answer", "said"), HOSTILE, ids=[case for case, _, _ in HOSTILE])
def test_procountor_refuses_a_hostile_answer_with_its_own_error(
    serve: Callable[[Route], str], case: str, answer: Answer, said: str
) -> None:
    def route(path: str) -> Answer:
        return Answer(body=TOKEN) if path.endswith("oauth/token") else answer

    client = _procountor(serve(route))
    with pytest.raises(ProcountorError) as raised:
        client.company(API_KEY)
    message = str(raised.value.about("Acme Oy (1234567-1)"))
    assert message.startswith("Acme Oy (1234567-1): Procountor"), message
    expected = {"not a JSON object": "not the shape", "on the wire": "on the wire"}.get(said, said)
    assert expected in message, message
    assert "procountor:baseUrl" in message
    for secret in (CLIENT_SECRET, API_KEY, "tok-1"):
        assert secret not in message


@pytest.mark.parametrize(
    "token_answer",
    [
        b'{"access_token": "tok-1", "expires_in": Infinity}',
        b'{"access_token": "tok-1", "expires_in": 1e999}',
        b'{"access_token": "tok-1", "expires_in": NaN}',
        b'{"access_token": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
    ],
    ids=["Infinity", "overflowing float", "NaN", "deep"],
)
def test_a_token_answer_that_is_not_strict_json_is_not_a_token(
    serve: Callable[[Route], str], token_answer: bytes
) -> None:
    client = _procountor(serve(lambda path: Answer(body=token_answer)))
    with pytest.raises(ProcountorError) as raised:
        client.token(API_KEY)
    assert "is not a token" in str(raised.value)


def test_a_trickling_procountor_answer_is_cut_by_the_total_deadline(serve: Callable[[Route], str]) -> None:
    slow = Answer(body=_json({"id": 1, "name": "x" * 400}), trickle=0.1)
    client = _procountor(serve(lambda path: Answer(body=TOKEN) if path.endswith("oauth/token") else slow))
    started = time.monotonic()
    with pytest.raises(ProcountorError) as raised:
        client.company(API_KEY)
    assert time.monotonic() - started < LIMITS.deadline_seconds + 2.0
    assert "did not answer in time" in str(raised.value)


def test_strict_json_accepts_what_json_is() -> None:
    assert strict_json(b'{"a": [1, 2.5, "x", null, true], "b": {"c": -1e5}}') == {
        "a": [1, 2.5, "x", None, True],
        "b": {"c": -1e5},
    }
    assert strict_json(_nested(60)[9:-1]) is not None
    for bad in (b"NaN", b"-Infinity", b"{", b"\xff\xfe\x00", _nested(65)[9:-1]):
        with pytest.raises(NotStrictJson):
            strict_json(bad)
