"""Pulumi's own dynamic-provider servicer, loaded without starting its gRPC server.

``pulumi/dynamic/__main__.py`` ends by calling ``main()``, which would serve; everything above that call is
executed here into a module of its own, so the engine stand-in (harness/engine.py) calls the exact
``DynamicResourceProviderServicer`` the engine talks to.
"""

from __future__ import annotations

import types
from pathlib import Path

import grpc
import pulumi.dynamic


def load_servicer_module() -> types.ModuleType:
    """Load ``pulumi/dynamic/__main__.py`` without running its ``main()`` (which would start a server)."""
    path = Path(pulumi.dynamic.__file__).with_name("__main__.py")
    source = path.read_text()
    head, separator, _ = source.rpartition("\nmain()")
    assert separator, "pulumi/dynamic/__main__.py no longer ends by calling main()"
    module = types.ModuleType("pulumi_dynamic_servicer")
    module.__file__ = str(path)
    exec(compile(head, str(path), "exec"), module.__dict__)
    return module


SERVICER_MODULE = load_servicer_module()


class EngineCallFailed(Exception):
    """A provider call failed; ``details`` is exactly what the engine would show the user."""

    def __init__(self, method: str, details: str) -> None:
        super().__init__(f"{method} failed:\n{details}")
        self.method = method
        self.details = details


class CallContext:
    """The slice of ``grpc.ServicerContext`` the servicer uses."""

    def __init__(self, method: str) -> None:
        self.method = method

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise EngineCallFailed(self.method, details)

    def set_code(self, code: grpc.StatusCode) -> None:
        pass

    def set_details(self, details: str) -> None:
        pass
