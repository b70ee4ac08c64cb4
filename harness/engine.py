"""Drive providers the way the Pulumi engine does, without the Pulumi CLI.

Every call goes through ``DynamicResourceProviderServicer`` from ``pulumi/dynamic/__main__.py`` — the exact
gRPC servicer the engine talks to — with protobuf requests, so provider pickling (``__provider``), the
once-per-process ``configure``, (de)serialisation of properties and error reporting are all the real ones.

What the engine itself does around those calls is reproduced here and nowhere else:
- secrets are unwrapped before they reach the provider (it answers ``acceptSecrets: false``), and an output
  is secret when the input of the same top-level key was secret;
- ``up`` runs Check then Create, or Check, Diff and Update/replace against the state of the previous run;
- ``refresh`` runs Read and drops a resource whose read returned no id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import proto, rpc

from harness.servicer import SERVICER_MODULE, EngineCallFailed
from harness.servicer import CallContext as _CallContext

__all__ = ["PROVIDER_KEY", "DiffOutcome", "Engine", "EngineCallFailed", "ResourceState", "Secret", "all_text"]

PROVIDER_KEY = "__provider"


class Secret:
    """Marks an input value as secret, as a secret Output would be."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret(***)"


def struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(values), {}))
    finally:
        loop.close()


def _plain(values: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    plain: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in values.items():
        if isinstance(value, Secret):
            plain[key] = value.value
            secret.add(key)
        else:
            plain[key] = value
    return plain, secret


@dataclass
class ResourceState:
    """One resource as the engine keeps it in the stack's state."""

    type_name: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    secret_keys: set[str] = field(default_factory=set)

    def public_outputs(self) -> dict[str, Any]:
        """Outputs as `pulumi stack output` would show them without --show-secrets."""
        return {k: ("[secret]" if k in self.secret_keys else v) for k, v in self.outputs.items()}


@dataclass(frozen=True)
class DiffOutcome:
    changes: int
    replaces: list[str]
    delete_before_replace: bool

    @property
    def has_changes(self) -> bool:
        return self.changes == proto.DiffResponse.DIFF_SOME

    @property
    def unknown(self) -> bool:
        return self.changes == proto.DiffResponse.DIFF_UNKNOWN


class Engine:
    """One provider process: one servicer, configured once with the stack config, shared by threads."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        # The servicer module caches deserialised providers process-wide; a new engine is a new process.
        SERVICER_MODULE._PROVIDER_CACHE.clear()
        self.servicer = SERVICER_MODULE.DynamicResourceProviderServicer()
        self.servicer._config = {}
        args = {k: (rpc.wrap_rpc_secret(v.value) if isinstance(v, Secret) else v) for k, v in config.items()}
        self.servicer.Configure(proto.ConfigureRequest(args=struct(args)), _CallContext("Configure"))

    # -- the raw gRPC calls -------------------------------------------------------------------------------
    def check(
        self, provider: ResourceProvider | str, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        serialized = provider if isinstance(provider, str) else serialize_provider(provider)
        plain_news, _ = _plain(news)
        request = proto.CheckRequest(
            urn="urn:pulumi:test::fabricai-roster::resource::name",
            olds=struct({**(olds or {})}),
            news=struct({**plain_news, PROVIDER_KEY: serialized}),
        )
        response = self.servicer.Check(request, _CallContext("Check"))
        inputs = rpc.deserialize_properties(response.inputs, True)
        failures = [(failure.property, failure.reason) for failure in response.failures]
        return inputs, failures

    def checked(
        self, provider: ResourceProvider | str, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Check, as the engine treats its answer: failures stop the resource with their reasons."""
        inputs, failures = self.check(provider, news, olds)
        if failures:
            raise EngineCallFailed("Check", "; ".join(f"{prop}: {reason}" for prop, reason in failures))
        return inputs

    def diff(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffOutcome:
        request = proto.DiffRequest(id=id_, olds=struct(olds), news=struct(news))
        response = self.servicer.Diff(request, _CallContext("Diff"))
        return DiffOutcome(response.changes, list(response.replaces), response.deleteBeforeReplace)

    def create(self, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self.servicer.Create(
            proto.CreateRequest(properties=struct(inputs)), _CallContext("Create")
        )
        return response.id, rpc.deserialize_properties(response.properties)

    def update(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        request = proto.UpdateRequest(id=id_, olds=struct(olds), news=struct(news))
        response = self.servicer.Update(request, _CallContext("Update"))
        outputs: dict[str, Any] = rpc.deserialize_properties(response.properties)
        return outputs

    def read(
        self, id_: str, outputs: Mapping[str, Any], inputs: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        request = proto.ReadRequest(id=id_, properties=struct(outputs), inputs=struct(inputs))
        response = self.servicer.Read(request, _CallContext("Read"))
        new_inputs = rpc.deserialize_properties(response.inputs) if response.HasField("inputs") else None
        return response.id, rpc.deserialize_properties(response.properties), new_inputs

    def delete(self, id_: str, outputs: Mapping[str, Any]) -> None:
        self.servicer.Delete(proto.DeleteRequest(id=id_, properties=struct(outputs)), _CallContext("Delete"))

    # -- what the engine does around them -----------------------------------------------------------------
    def up(
        self,
        provider: ResourceProvider,
        inputs: Mapping[str, Any],
        state: ResourceState | None = None,
        type_name: str = "",
    ) -> ResourceState:
        """Create the resource, or bring ``state`` to ``inputs`` (update, or replace: create then delete, or
        delete then create when the provider asks for delete-before-replace)."""
        checked = self.checked(provider, inputs, state.inputs if state else None)
        _, secret = _plain(inputs)
        name = type_name or type(provider).__name__
        if state is None:
            id_, outs = self.create(checked)
            return ResourceState(name, id_, checked, outs, secret)
        outcome = self.diff(state.id, state.outputs, checked)
        if outcome.replaces:
            if outcome.delete_before_replace:  # as the engine does: the old one goes first
                self.delete(state.id, state.outputs)
                id_, outs = self.create(checked)
                return ResourceState(name, id_, checked, outs, secret)
            id_, outs = self.create(checked)
            self.delete(state.id, state.outputs)
            return ResourceState(name, id_, checked, outs, secret)
        if not outcome.has_changes and not outcome.unknown:
            return state
        outs = self.update(state.id, state.outputs, checked)
        return ResourceState(name, state.id, checked, outs, secret)

    def refresh(self, state: ResourceState) -> ResourceState | None:
        id_, outs, inputs = self.read(state.id, state.outputs, state.inputs)
        if not id_:
            return None
        return ResourceState(state.type_name, id_, inputs or state.inputs, outs, state.secret_keys)

    def destroy(self, state: ResourceState) -> None:
        self.delete(state.id, state.outputs)


def all_text(values: Iterable[Any]) -> str:
    """Everything in ``values`` as one string, for secret scans."""
    return "\n".join(repr(value) for value in values)
