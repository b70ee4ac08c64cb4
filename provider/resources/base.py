"""The small base every resource provider here builds on.

It does the parts that are the same for every resource:
- settings arrive through ``configure`` (never as inputs), so the pickled provider holds nothing;
- ``check`` validates inputs against the resource's pydantic model and normalises them, offline;
- ``diff`` compares inputs with the previous outputs, offline, secrets by fingerprint;
- errors meant for the operator leave without chained tracebacks, and without any secret the provider
  knows (``known_secrets``).

Why ``serialize_as_secret_always = False``: providers are pickled by reference (the class lives in this
installed package) and configured at run time, so ``__provider`` is a short, secret-free string; encrypting
it once per resource would only cost time on large rosters. A test proves the pickle holds no secret.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pulumi
import pulumi.dynamic
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from provider import logs
from provider.context import ProviderContext
from provider.errors import FabricaiRosterError
from provider.redaction import redact_error
from provider.resources import engine_messages
from provider.resources.schema import OutputsModel, Schema
from provider.settings import ProviderSettings

PROVIDER_KEY = "__provider"

T = TypeVar("T")


def fingerprint(secret: str) -> str:
    """A stable, one-way stand-in for a secret, stored in outputs so a changed secret shows in ``diff``."""
    return hashlib.sha256(b"fabricai-roster:" + secret.encode("utf-8")).hexdigest()[:32]


def is_unknown(value: Any) -> bool:
    """True for a value (or a value holding one) that the engine does not know yet, as during preview."""
    if isinstance(value, Unknown) or value == rpc.UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(is_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(is_unknown(item) for item in value)
    return False


def comparable(value: Any) -> Any:
    """Inputs and outputs as the wire returns them: drop ``None`` in maps, integral floats back to ints."""
    if isinstance(value, Mapping):
        return {key: comparable(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [comparable(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def keep_secret(opts: pulumi.ResourceOptions | None, *outputs: str) -> pulumi.ResourceOptions:
    """``opts`` with ``outputs`` marked secret (the fingerprints of secret inputs)."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=list(outputs)))


def operator_call(call: Callable[[], T], secrets: Callable[[], Iterable[str]] = tuple) -> T:
    """Run ``call``; an operator-facing error leaves with its message and no trail behind it, and without
    any of ``secrets`` (every key the provider knows: a service may quote one it holds, not only one the
    request carried).

    The engine shows the user ``traceback.format_exc()`` of whatever a provider raises. Re-raised here with
    its traceback dropped (and no chained cause), an error shows the servicer's frames and this one, then
    the message: not the dozen frames of HTTP and validation code that found the problem.
    """
    try:
        return call()
    except FabricaiRosterError as error:
        redact_error(error, secrets())
        raise error.with_traceback(None) from None


class RosterResourceProvider(ResourceProvider):
    """Base of the providers. Subclasses set ``inputs_model`` and ``outputs_model`` (their schema) and
    implement create/read/update/delete."""

    serialize_as_secret_always = False

    inputs_model: ClassVar[type[BaseModel]]
    outputs_model: ClassVar[type[OutputsModel]]
    # What the id is, for docs/ARCHITECTURE.md's resources table.
    id_is: ClassVar[str]
    # Derived from the models' markers (schema.py), never written by hand.
    schema: ClassVar[Schema]
    replace_on: ClassVar[frozenset[str]] = frozenset()
    secret_fingerprints: ClassVar[Mapping[str, str]] = {}
    # Inputs the provider keeps current but that are never a change by themselves (the engine records them
    # with the next step): e.g. who else uses a Netvisor credential set.
    not_a_change: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "inputs_model" in cls.__dict__ or "outputs_model" in cls.__dict__:
            cls.schema = Schema(cls.inputs_model, cls.outputs_model)
            cls.schema.validate()
            cls.replace_on = cls.schema.replace_on
            cls.secret_fingerprints = cls.schema.secret_fingerprints

    def outputs_of(self, inputs: BaseModel | Mapping[str, Any], added: OutputsModel) -> dict[str, Any]:
        """The outputs to write: the inputs without secrets, and what the provider adds (``added``)."""
        return self.schema.outputs_of(inputs, added)

    _settings: ProviderSettings

    def configure(self, req: ConfigureRequest) -> None:
        # Runs in the dynamic-provider process before any call: errors leave as messages from here on, and
        # log lines reach the operator.
        engine_messages.install()
        logs.install()
        self._settings = ProviderSettings.from_config(req.config.get)

    @property
    def context(self) -> ProviderContext:
        return ProviderContext.for_settings(self._settings)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = {key: value for key, value in news.items() if key != PROVIDER_KEY}
        unknown = {key for key, value in inputs.items() if is_unknown(value)}
        try:
            model = self.inputs_model.model_validate(inputs)
        except ValidationError as error:
            failures = [
                CheckFailure(".".join(str(part) for part in problem["loc"]), problem["msg"])
                for problem in error.errors(include_url=False, include_input=False)
                if not problem["loc"] or problem["loc"][0] not in unknown
            ]
            return CheckResult(inputs, failures)
        normalised = model.model_dump(mode="json")
        # Keep the engine's unknown placeholders: preview must not pretend to know them.
        normalised.update({key: inputs[key] for key in unknown})
        return CheckResult(normalised, [])

    def changed_keys(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        changed = []
        for key in self.inputs_model.model_fields:
            if key in self.not_a_change:
                continue
            new = news.get(key)
            if is_unknown(new):
                changed.append(key)
            elif key in self.secret_fingerprints:
                old_print = olds.get(self.secret_fingerprints[key])
                if new is None or old_print != fingerprint(str(new)):
                    changed.append(key)
            elif comparable(olds.get(key)) != comparable(new):
                changed.append(key)
        return changed

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = self.changed_keys(olds, news)
        replaces = [key for key in changes if key in self.replace_on]
        return DiffResult(changes=bool(changes), replaces=replaces, stables=None, delete_before_replace=False)

    def known_secrets(self, *props: Mapping[str, Any]) -> tuple[str, ...]:
        """What no message may show: every secret of stack config, and the secret inputs in ``props``."""
        settings = getattr(self, "_settings", None)
        held = list(settings.secrets()) if settings is not None else []
        for values in props:
            held += [str(values[key]) for key in self.secret_fingerprints if isinstance(values.get(key), str)]
        return tuple(held)

    # The engine calls these; subclasses implement the underscored versions.
    def create(self, props: dict[str, Any]) -> CreateResult:
        return operator_call(lambda: self._create(props), lambda: self.known_secrets(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return operator_call(lambda: self._read(id_, props), lambda: self.known_secrets(props))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return operator_call(lambda: self._update(id_, olds, news), lambda: self.known_secrets(olds, news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        operator_call(lambda: self._delete(id_, props), lambda: self.known_secrets(props))

    def _create(self, props: dict[str, Any]) -> CreateResult:
        raise NotImplementedError

    def _read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        raise NotImplementedError

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        raise NotImplementedError

    def _delete(self, id_: str, props: dict[str, Any]) -> None:
        raise NotImplementedError


class RosterResource(pulumi.dynamic.Resource):
    """Base of the resource classes: declared by their provider's schema, annotations evaluated once.

    ``class X(RosterResource, module=..., name=..., provider=XProvider)`` gets from the provider's two
    models its ``pulumi.Output`` annotations, the outputs the program reads (``Read``) registered as None
    (an output the engine is not told about at registration is no attribute of the resource, though it is
    in the state) and its secret inputs and outputs.
    The SDK reads a resource class's annotations at every registration (``typing.get_type_hints``); made
    here as types, not strings, and only for the outputs the program reads, each registration spends
    0.05 ms on them (0.23 ms with every input and output annotated; measured for ClientCompany).
    """

    if TYPE_CHECKING:
        # Declared for mypy only: the SDK reads this class's annotations at every registration.
        provider_class: ClassVar[type[RosterResourceProvider]]
        _seeds: ClassVar[dict[str, None]]
        _required: ClassVar[frozenset[str]]
        _defaults: ClassVar[dict[str, Any]]  # input -> its default as JSON (None for a required one)

        # The outputs exist at run time from the schema; mypy cannot see them, so any output reads as one.
        def __getattr__(self, name: str) -> pulumi.Output[Any]: ...

    def __init_subclass__(cls, provider: type[RosterResourceProvider] | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if provider is not None:
            cls.provider_class = provider
            cls.__annotations__ = provider.schema.annotations()
            cls._seeds = dict.fromkeys(provider.schema.read_outputs)
            # Made once here, not at each registration (the SDK only reads them).
            fields = provider.schema.inputs.model_fields
            cls._required = frozenset(key for key, field in fields.items() if field.is_required())
            cls._defaults = {
                key: None
                if field.is_required()
                else to_jsonable_python(field.get_default(call_default_factory=True))
                for key, field in fields.items()
            }

    def __init__(
        self, resource_name: str, *, opts: pulumi.ResourceOptions | None = None, **inputs: Any
    ) -> None:
        """Register the inputs (``pulumi.Input`` values) the ``Inputs`` model names; one left out or None
        is its default there, a secret one is registered as a secret. ``check`` validates them."""
        schema = self.provider_class.schema
        # As a Python signature would: a misspelt or missing input fails where the program declares it.
        unknown = sorted(set(inputs) - set(self._defaults))
        missing = sorted(key for key in self._required if inputs.get(key) is None)
        if unknown or missing:
            raise TypeError(f"{type(self).__name__}: unknown inputs {unknown}, missing inputs {missing}")
        props = {
            key: default if inputs.get(key) is None else inputs[key]
            for key, default in self._defaults.items()
        }
        for key in schema.secret_fingerprints:
            props[key] = pulumi.Output.secret(props[key])
        if schema.secret_outputs:
            opts = keep_secret(opts, *schema.secret_outputs)
        super().__init__(self.provider_class(), resource_name, {**props, **self._seeds}, opts)
