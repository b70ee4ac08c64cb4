"""A transport for a test's provider process (the one seam, ``provider.context.ClientOptions.transport``)
that lets the test act on the wire instead of patching a client class.

    fresh_process(transport=Intercept(before=hook))   # hook(request): None sends it on; a Response answers it
    fresh_process(transport=Intercept(after=seen))    # seen(request, response): what came back (body read)

``before`` may also change the world first (delete a record, turn the sandbox's faults on) and then return
None: the request is sent as it is, and meets that world. ``after`` gets the answer with its body already
read, so it can look inside; the client reads the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

Before = Callable[[httpx.Request], httpx.Response | None]
After = Callable[[httpx.Request, httpx.Response], None]


class Intercept(httpx.BaseTransport):
    def __init__(self, before: Before | None = None, after: After | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self._before = before
        self._after = after

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._before is not None:
            answer = self._before(request)
            if answer is not None:
                return answer
        response = self.inner.handle_request(request)
        if self._after is None:
            return response
        try:
            raw = b"".join(response.iter_raw())
        finally:
            response.close()
        # The answer as it came (still encoded as the server sent it), for the client to read as usual.
        answer = httpx.Response(response.status_code, headers=response.headers, content=raw, request=request)
        self._after(request, httpx.Response(response.status_code, headers=response.headers, content=raw))
        return answer

    def close(self) -> None:
        self.inner.close()
