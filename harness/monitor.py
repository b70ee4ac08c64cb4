"""The mock resource monitor of one run: it answers the Pulumi SDK as the engine does.

Registrations go to the run (harness/run.py); secrets are unwrapped on the way in and wrapped again on the
way out, as the engine does; the stack's outputs are kept as the program registers them. A resource whose
step failed (or was skipped) is answered with ``result: FAIL``, as the engine answers an SDK that supports
result reporting under ``--continue-on-error``: the SDK then resolves its outputs as unknown, so whatever
takes them (an integration's ``client_id``) still depends on it and is skipped, never registered without them.
The engine's built-in functions ``readStackResourceOutputs`` and ``readStackOutputs`` answer from the
stack's last state (only the driver's own stack exists here).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime import mocks, rpc
from pulumi.runtime.proto import resource_pb2

from harness.engine import PROVIDER_KEY, Secret, struct

if TYPE_CHECKING:
    from harness.run import Run

STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
READ_STACK_RESOURCE_OUTPUTS = "pulumi:pulumi:readStackResourceOutputs"
READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"
# What get_organization() answers on the local file backend, where the CLI's stacks have no organization.
ORGANIZATION = "organization"


def config_strings(config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Stack config as the language host hands it to the program: JSON text for objects, secret keys."""
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in config.items():
        if isinstance(value, Secret):
            secret_keys.append(key)
            value = value.value
        values[key] = value if isinstance(value, str) else json.dumps(value)
    return values, secret_keys


def unwrap_secrets(inputs: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Plain inputs for the provider, and the top-level keys that held a secret anywhere inside."""
    plain: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in inputs.items():
        unwrapped, had_secret = _unwrap(value)
        plain[key] = unwrapped
        if had_secret:
            secret.add(key)
    return plain, secret


def _unwrap(value: Any) -> tuple[Any, bool]:
    if rpc.is_rpc_secret(value):
        return _unwrap(rpc.unwrap_rpc_secret(value))[0], True
    if isinstance(value, dict):
        pairs = {key: _unwrap(item) for key, item in value.items()}
        return {key: pair[0] for key, pair in pairs.items()}, any(pair[1] for pair in pairs.values())
    if isinstance(value, list):
        items = [_unwrap(item) for item in value]
        return [item[0] for item in items], any(item[1] for item in items)
    return value, False


def for_program(outputs: Mapping[str, Any], secret_keys: set[str]) -> dict[str, Any]:
    """Outputs as the engine returns them to the program: secret keys wrapped, no provider blob."""
    return {
        key: (rpc.wrap_rpc_secret(value) if key in secret_keys else value)
        for key, value in outputs.items()
        if key != PROVIDER_KEY
    }


class InvokeFailed(grpc.RpcError):  # type: ignore[misc]  # grpc has no type stubs
    """A failed function call, as the engine answers it: a gRPC error, which the SDK hands to the caller of
    the function (and does not keep as the program's unhandled error)."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self._details = details

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNKNOWN

    def details(self) -> str:
        return self._details


class UnusedMocks(mocks.Mocks):
    """The monitor below answers registrations itself; the program makes no invokes."""

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise NotImplementedError(f"the roster program makes no invokes, got {args.token}")

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        raise NotImplementedError("registrations go through EngineMonitor.RegisterResource")


class EngineMonitor(mocks.MockMonitor):
    """The resource monitor of one run, answering the SDK as the engine does."""

    def __init__(self, run: Run) -> None:
        super().__init__(UnusedMocks())
        self._run = run

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        id_, outputs = self._run.register(urn, request)
        obj = struct(outputs)  # registrations arrive on executor threads, which have no event loop
        result = resource_pb2.Result.FAIL if urn in self._run.failed else resource_pb2.Result.SUCCESS
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj, result=result)

    def Invoke(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """The engine's built-in functions that read a stack's last checkpoint, for the driver's own stack;
        a failure is answered as the engine answers it (``InvokeFailed``), and so is each of the driver's
        ``invoke_failures`` first."""
        failures = self._run.driver.invoke_failures
        if failures:
            raise InvokeFailed(failures.pop(0))
        try:
            return self._invoke(request)
        except Exception as failure:  # noqa: BLE001 - every failure reaches the program as the engine's would
            raise InvokeFailed(f"invocation of {request.tok} returned an error: {failure}") from None

    def _invoke(self, request: Any) -> Any:
        args = rpc.deserialize_properties(request.args)
        driver = self._run.driver
        self._run.builtin_provider()
        own = f"{driver.organization}/{driver.project}/{driver.stack}"
        if request.tok == READ_STACK_RESOURCE_OUTPUTS:
            if args.get("stackName") != own:
                raise ValueError(f"unknown stack {args.get('stackName')!r}")
            answer: dict[str, Any] = {"name": own, "outputs": self._run.last_state()}
        elif request.tok == READ_STACK_OUTPUTS:
            if args.get("name") != own:
                raise ValueError(f"unknown stack {args.get('name')!r}")
            answer = {"name": own, "outputs": dict(driver.outputs), "secretOutputNames": []}
        else:
            raise NotImplementedError(f"the engine stand-in serves no function {request.tok}")
        return resource_pb2.ResourceInvokeResponse(**{"return": struct(answer)})

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """A ``StackReference``, answered as the engine's built-in provider does: the named stack's outputs
        as of its last update; only the driver's own stack exists here (another name is an unknown stack)."""
        if request.type != STACK_REFERENCE_TYPE:
            raise NotImplementedError(f"the engine stand-in reads only stack references, got {request.type}")
        urn = self.make_urn(request.parent, request.type, request.name)
        driver = self._run.driver
        own = f"{driver.organization}/{driver.project}/{driver.stack}"
        if request.id != own:
            raise ValueError(f"unknown stack {request.id!r}")
        self._run.read(urn, request)
        outputs = dict(driver.outputs)
        properties = {"name": own, "outputs": outputs, "secretOutputNames": []}
        return resource_pb2.ReadResourceResponse(urn=urn, properties=struct(properties))

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        if request.urn.split("::")[2] == STACK_TYPE:
            # What a failed resource would have given stays unknown; the stand-in keeps it as None.
            outputs = rpc.deserialize_properties(request.outputs, keep_unknowns=False)
            self._run.stack_outputs = unwrap_secrets(outputs)[0]
        return empty_pb2.Empty()
