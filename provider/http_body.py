"""Reading one answer's body within bounds: size on the wire, size decompressed, and total time.

Shared by every client (Netvisor, the FabricAI portal, Procountor): ``read_bounded`` reads a streamed
answer, ``send_bounded`` sends a request and returns its answer read that way, and ``strict_json`` parses a
body as strict JSON (no ``NaN``/``Infinity``, bounded nesting) or raises ``NotStrictJson``.

httpx would read a body whole and decompress it unbounded (a 100 MB answer or a gzip bomb would be held
in memory), and its read timeout is per chunk (an answer trickling a byte at a time never times out).
So the client streams the raw bytes, counts them, decompresses them itself with a cap on the output, and
checks a total deadline between chunks. Only ``gzip``, ``deflate`` and ``identity`` are asked for and read.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

ACCEPT_ENCODING = "gzip, deflate"
# JSON answers nested deeper than this are refused: no answer we read is nested beyond a handful of levels.
MAX_JSON_DEPTH = 64


class TooLarge(Exception):
    """The body exceeded a limit; ``where`` is "on the wire" or "decompressed"."""

    def __init__(self, where: str, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes {where}")
        self.where = where
        self.limit = limit


class Undecodable(Exception):
    """The body does not decode as its Content-Encoding says (false or unsupported encoding)."""


@dataclass(frozen=True)
class Limits:
    max_compressed: int
    max_decompressed: int
    deadline_seconds: float


class _Inflater:
    """Incremental gzip/deflate decoding with a cap on the output."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._encoding = encoding
        self._limit = limit
        self._size = 0
        self._decoder: zlib._Decompress | None = None

    def _start(self, first: bytes) -> zlib._Decompress:
        if self._encoding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is meant as zlib-wrapped, but some servers send a raw deflate stream.
        zlib_header = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)

    def feed(self, chunk: bytes) -> bytes:
        if self._decoder is None:
            if not chunk:
                return b""
            self._decoder = self._start(chunk)
        out = bytearray()
        data = chunk
        try:
            while data:
                piece = self._decoder.decompress(data, self._limit - self._size + 1)
                self._grow(out, piece)
                data = self._decoder.unconsumed_tail
        except zlib.error:
            raise Undecodable(f"the body is not valid {self._encoding}") from None
        return bytes(out)

    def finish(self) -> bytes:
        if self._decoder is None:
            return b""
        out = bytearray()
        try:
            self._grow(out, self._decoder.flush())
        except zlib.error:
            raise Undecodable(f"the body is not valid {self._encoding}") from None
        if not self._decoder.eof:
            raise Undecodable(f"the {self._encoding} body ends early")
        return bytes(out)

    def _grow(self, out: bytearray, piece: bytes) -> None:
        self._size += len(piece)
        if self._size > self._limit:
            raise TooLarge("decompressed", self._limit)
        out += piece


def _encoding(response: httpx.Response) -> str:
    values = [
        value.strip().lower()
        for value in response.headers.get("content-encoding", "").split(",")
        if value.strip() and value.strip().lower() != "identity"
    ]
    if not values:
        return "identity"
    if len(values) > 1 or values[0] not in ("gzip", "deflate", "x-gzip"):
        raise Undecodable(f"unsupported Content-Encoding {', '.join(values)[:40]!r}")
    return "gzip" if values[0] == "x-gzip" else values[0]


def read_bounded(response: httpx.Response, limits: Limits, started: float) -> bytes:
    """The decoded body of a streamed ``response``; TooLarge, Undecodable or httpx.ReadTimeout."""
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limits.max_compressed:
        raise TooLarge("on the wire", limits.max_compressed)
    encoding = _encoding(response)
    inflater = None if encoding == "identity" else _Inflater(encoding, limits.max_decompressed)
    body = bytearray()
    wire = 0
    # The raw stream itself (not ``iter_raw``): a MockTransport response holds its bytes already read.
    stream = response.stream
    if not isinstance(stream, httpx.SyncByteStream):
        raise Undecodable("the answer is not a synchronous stream")
    chunks: Iterator[bytes] = iter(stream)
    for chunk in chunks:
        wire += len(chunk)
        if wire > limits.max_compressed:
            raise TooLarge("on the wire", limits.max_compressed)
        if time.monotonic() - started > limits.deadline_seconds:
            raise httpx.ReadTimeout("the answer took longer than the total deadline")
        if inflater is None:
            if len(body) + len(chunk) > limits.max_decompressed:
                raise TooLarge("decompressed", limits.max_decompressed)
            body += chunk
        else:
            body += inflater.feed(chunk)
    if inflater is not None:
        body += inflater.finish()
    return bytes(body)


def send_bounded(http: httpx.Client, method: str, url: str, limits: Limits, **request: Any) -> httpx.Response:
    """Send one request and return its answer with the body read within ``limits`` (decoded already).

    Raises TooLarge or Undecodable for a body out of bounds or not decodable, and ``httpx.ReadTimeout`` when
    the whole answer took longer than ``limits.deadline_seconds`` (a trickle of bytes, each within the
    per-read timeout, is cut by this total deadline). ``request`` is what ``httpx.Client.build_request``
    takes (``params``, ``json``, ``content``, ``headers``).
    """
    started = time.monotonic()
    headers = dict(request.pop("headers", None) or {})
    headers.setdefault("Accept-Encoding", ACCEPT_ENCODING)
    sent = http.build_request(method, url, headers=headers, **request)
    response = http.send(sent, stream=True)
    try:
        content = read_bounded(response, limits, started)
    finally:
        response.close()
    kept = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(response.status_code, headers=kept, content=content, request=sent)


class NotStrictJson(ValueError):
    """The body is not strict JSON: not JSON at all, ``NaN``/``Infinity``, or nested beyond MAX_JSON_DEPTH."""


def _no_constant(name: str) -> Any:
    raise NotStrictJson(f"{name} is not a JSON value")


def strict_json(content: bytes | str) -> Any:
    """``content`` parsed as strict JSON (RFC 8259): NotStrictJson for anything else, never another error."""
    try:
        value = json.loads(content, parse_constant=_no_constant)
    except RecursionError:
        raise NotStrictJson(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except NotStrictJson:
        raise
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, an integer of too many digits
        raise NotStrictJson(f"not JSON ({type(error).__name__})") from None
    _check_depth(value)
    return value


def _check_depth(value: Any) -> None:
    """Iteratively (a deep value must not exhaust the stack here either)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise NotStrictJson(f"nested deeper than {MAX_JSON_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)
