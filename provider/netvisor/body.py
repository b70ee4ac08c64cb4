"""Reading one answer's body within bounds: size on the wire, size decompressed, and total time.

httpx would read a body whole and decompress it unbounded (a 100 MB answer or a gzip bomb would be held
in memory), and its read timeout is per chunk (an answer trickling a byte at a time never times out).
So the client streams the raw bytes, counts them, decompresses them itself with a cap on the output, and
checks a total deadline between chunks. Only ``gzip``, ``deflate`` and ``identity`` are asked for and read.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

ACCEPT_ENCODING = "gzip, deflate"


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
