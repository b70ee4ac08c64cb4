"""httpx faults become project errors in one place (provider/http.py), worded without URL or secrets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from provider.errors import NetvisorError, PortalError, ProcountorError, ServiceError
from provider.http import TRANSPORT_ERRORS, build_client, transport_failure


class _FalseEncoding(BaseHTTPRequestHandler):
    """Says its answer is gzip-compressed and sends plain text."""

    def do_GET(self) -> None:
        body = b'{"not": "gzip"}'
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def false_encoding_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FalseEncoding)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fault(url: str, path: str = "/secret-path?key=SECRET-KEY-1") -> httpx.RequestError:
    with build_client(url, timeout=2, connect_timeout=2) as client:
        try:
            client.get(path)
        except TRANSPORT_ERRORS as error:
            return error
    raise AssertionError("no fault")


@pytest.mark.parametrize("kind", [PortalError, ProcountorError, NetvisorError])
def test_a_connect_error_becomes_the_services_retryable_error(kind: type[ServiceError]) -> None:
    error = _fault(f"http://127.0.0.1:{_closed_port()}")

    failure = transport_failure(error, kind, "The service", " while reading; run `pulumi up` again.")

    assert type(failure) is kind
    assert failure.retryable
    assert str(failure) == "The service could not be reached while reading; run `pulumi up` again."


def test_a_false_content_encoding_is_a_project_error_not_a_traceback(false_encoding_url: str) -> None:
    error = _fault(false_encoding_url)
    assert isinstance(error, httpx.DecodingError)

    failure = transport_failure(error, PortalError, "The FabricAI portal", " while listing clients.")

    assert "could not be decoded" in str(failure)
    assert "SECRET-KEY-1" not in str(failure) and "127.0.0.1" not in str(failure)
