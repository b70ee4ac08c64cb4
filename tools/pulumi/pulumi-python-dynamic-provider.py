"""Serves Pulumi's Python dynamic provider (``python -m pulumi.dynamic``) for the engine, and ends it when
the engine is gone. Started by the launcher beside it (pulumi-resource-pulumi-python) with the virtualenv's
Python.

Why: the SDK's dynamic-provider server (pulumi/dynamic/__main__.py at 3.272.0) ignores the engine address the
engine passes it and only stops on an interrupt, which a `pulumi up` killed with SIGKILL never sends; such a
provider lived on, possibly still writing to the portal. Pulumi's Go providers health-check the engine
(rpcutil.Healthcheck); this does the same from a daemon thread: when the engine's gRPC health check fails
with anything but UNIMPLEMENTED (an engine without the check counts as alive), the process ends at once.
What it was doing is left to the next run, which finds the portal's records again by their stack tag.
"""

import os
import runpy
import sys
import threading
from pathlib import Path

import grpc

# Pulumi's Go plugins check every 5 minutes; a provider of a killed run must not keep writing to the portal
# that long, and a health check against the engine on this machine costs well under a millisecond.
CHECK_INTERVAL_SECONDS = 2.0
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
ENGINE_GONE_EXIT_CODE = 1


def engine_address(argv: list[str]) -> str | None:
    """The engine passes its address as the last argument (flags such as -v may precede it)."""
    return argv[-1] if len(argv) > 1 and ":" in argv[-1] else None


def engine_answers(channel: grpc.Channel) -> bool:
    # grpc.health.v1.HealthCheckRequest with the default (empty) service name is the empty message, and the
    # answer's content does not matter: that the engine answers does.
    check = channel.unary_unary(HEALTH_CHECK, request_serializer=lambda _: b"", response_deserializer=bytes)
    try:
        check(None)
    except grpc.RpcError as error:
        return bool(error.code() == grpc.StatusCode.UNIMPLEMENTED)
    return True


def watch_engine(address: str, interval: float) -> None:
    channel = grpc.insecure_channel(address)
    stopped = threading.Event()
    while not stopped.wait(interval):
        if not engine_answers(channel):
            # Nobody is left to read a message; leave without running the server's shutdown, which would wait
            # for the calls in flight (the point is to stop them).
            os._exit(ENGINE_GONE_EXIT_CODE)


def main() -> None:
    address = engine_address(sys.argv)
    if address is not None:
        threading.Thread(
            target=watch_engine, args=(address, CHECK_INTERVAL_SECONDS), name="engine-watch", daemon=True
        ).start()
    # As `python -m pulumi.dynamic` would have it: the working directory first on the import path.
    sys.path[0] = str(Path.cwd())
    sys.argv = ["pulumi.dynamic", *sys.argv[1:]]
    runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
