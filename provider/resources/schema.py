"""One schema per resource: its ``Inputs`` and ``Outputs`` models, the only place a prop is named.

As terraform-plugin-framework's ``Schema``: an input is marked replace-triggering (``Replaces``) or secret
(``Secret``, naming the output that holds its fingerprint) in its pydantic field's metadata, and the
``Outputs`` model lists what the provider adds to the inputs, an output the program reads from the resource
object marked ``Read``. From the two come the resource class's ``pulumi.Output`` annotations and its props
registered as None (both for the ``Read`` outputs only), its secret inputs and outputs, the provider's
``replace_on`` and ``secret_fingerprints``, and docs/ARCHITECTURE.md's resources table (a test holds the
document to ``resources_table``). A fingerprint the ``Outputs`` model lacks fails at import.

Why only the ``Read`` outputs are attributes: every output is in the state and in ``pulumi stack output``
either way (the engine keeps what the provider returns), but the SDK makes an ``Output`` (four futures and
their callbacks) for every prop it was given at each registration, a roster's thousands of times; seeding
only what the program reads cut the program's CPU by about 2.5 ms per client (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import functools
import operator
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, Union, get_args, get_origin

import pulumi
from pydantic import BaseModel, ConfigDict
from pydantic.fields import FieldInfo


@dataclass(frozen=True)
class Replaces:
    """Field metadata: a change of this input replaces the resource instead of updating it."""


REPLACES = Replaces()


@dataclass(frozen=True)
class Read:
    """Field metadata of an output: the program reads it from the resource object (``company.portal_id``),
    so it is an attribute of the resource class. Unmarked outputs are in the state all the same."""


READ = Read()


@dataclass(frozen=True)
class Secret:
    """Field metadata: a secret input. It is registered as a secret and is never an output: the output
    ``fingerprint`` (marked secret) stands for it, so that ``diff`` sees a changed secret offline."""

    fingerprint: str


class OutputsModel(BaseModel):
    """Base of every ``Outputs`` model: what the provider adds to the inputs. A misspelt key fails here.

    Written outputs are built through it; a state being read is never validated against it (old states
    carry keys of earlier versions, and the engine drops outputs that were None)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M")


def _marker(field: FieldInfo, kind: type[M]) -> M | None:
    return next((item for item in field.metadata if isinstance(item, kind)), None)


@dataclass(frozen=True)
class Schema:
    """The contract of one resource, derived from its two models."""

    inputs: type[BaseModel]
    outputs: type[OutputsModel]

    @functools.cached_property
    def replace_on(self) -> frozenset[str]:
        return frozenset(
            name for name, field in self.inputs.model_fields.items() if _marker(field, Replaces) is not None
        )

    @functools.cached_property
    def secret_fingerprints(self) -> Mapping[str, str]:
        """Secret input -> the output holding its fingerprint."""
        found = {name: _marker(field, Secret) for name, field in self.inputs.model_fields.items()}
        return types.MappingProxyType({name: secret.fingerprint for name, secret in found.items() if secret})

    @functools.cached_property
    def secret_outputs(self) -> tuple[str, ...]:
        return tuple(self.secret_fingerprints.values())

    @functools.cached_property
    def added_outputs(self) -> tuple[str, ...]:
        """The outputs besides the inputs."""
        return tuple(self.outputs.model_fields)

    @functools.cached_property
    def read_outputs(self) -> tuple[str, ...]:
        """The added outputs the program reads: the props registered as None for the provider to fill in."""
        return tuple(
            name for name, field in self.outputs.model_fields.items() if _marker(field, Read) is not None
        )

    def validate(self) -> None:
        """A half-declared contract fails at import: a fingerprint with no output, an output named as an
        input."""
        missing = [print_ for print_ in self.secret_outputs if print_ not in self.outputs.model_fields]
        clash = set(self.inputs.model_fields) & set(self.outputs.model_fields)
        if missing or clash:
            raise TypeError(
                f"{self.outputs.__name__}: fingerprint outputs {missing} not declared, or outputs {clash} "
                f"are inputs of {self.inputs.__name__}"
            )

    def annotations(self) -> dict[str, Any]:
        """``pulumi.Output[...]`` of each ``Read`` output, in the types the wire gives back (an enum or
        ``BusinessId`` is a ``str``, a nested model a dict). The SDK reads a resource class's annotations at
        every registration, to type what the engine returns (without one an ``int`` comes back a float); the
        program reads no input back, so the inputs are not annotated."""
        fields = {n: f for n, f in self.outputs.model_fields.items() if n in self.read_outputs}
        return {name: pulumi.Output[wire_type(field.annotation)] for name, field in fields.items()}  # type: ignore[misc]

    def outputs_of(self, inputs: BaseModel | Mapping[str, Any], added: OutputsModel) -> dict[str, Any]:
        """The outputs to write: the normalised inputs without secrets, and ``added``."""
        values = inputs.model_dump(mode="json") if isinstance(inputs, BaseModel) else dict(inputs)
        for secret in self.secret_fingerprints:
            values.pop(secret, None)
        return {**values, **added.model_dump(mode="json")}


def wire_type(annotation: Any) -> Any:
    """``annotation`` as the engine returns its value: JSON types only (the SDK would cast a ``str`` to an
    enum type, and an integral float to ``int`` only where it sees ``int``)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return functools.reduce(operator.or_, [wire_type(arg) for arg in get_args(annotation)])
    if origin is list:
        return list[wire_type(get_args(annotation)[0])]  # type: ignore[misc]
    if origin is dict:
        key, value = get_args(annotation)
        return dict[wire_type(key), wire_type(value)]  # type: ignore[misc]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return dict[str, Any]
    if isinstance(annotation, type) and issubclass(annotation, str):
        return str
    return annotation


def _described(name: str, notes: Sequence[str]) -> str:
    return f"`{name}`" + (f" ({'; '.join(notes)})" if notes else "")


def resources_table(schemas: Mapping[str, tuple[Schema, str]]) -> str:
    """docs/ARCHITECTURE.md's resources table: resource name -> (schema, what its id is)."""
    rows = ["| resource | inputs | outputs besides the inputs | id |", "|---|---|---|---|"]
    for name, (schema, id_is) in schemas.items():
        inputs = []
        for field_name, field in schema.inputs.model_fields.items():
            notes = [field.description] if field.description else []
            if field_name in schema.secret_fingerprints:
                notes.append(f"secret; `{schema.secret_fingerprints[field_name]}` stands for it")
            if field_name in schema.replace_on:
                notes.append("a change replaces")
            inputs.append(_described(field_name, notes))
        outputs = []
        for field_name, field in schema.outputs.model_fields.items():
            notes = [field.description] if field.description else []
            if field_name in schema.secret_outputs:
                notes.append("marked secret")
            if field_name in schema.read_outputs:
                notes.append("read by the program")
            outputs.append(_described(field_name, notes))
        rows.append(f"| `{name}` | {', '.join(inputs)} | {', '.join(outputs) or 'none'} | {id_is} |")
    return "\n".join(rows) + "\n"
