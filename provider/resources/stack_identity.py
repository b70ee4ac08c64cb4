"""StackIdentity: the id that makes a stack's portal records its own (their ``rosterStack`` tag).

Decisions:
- not ``<project>/<stack>``: two stacks named ``prod`` would share it. The identity is ``<stack name>-<24
  random hex>``, made by the program at the first ``up`` and kept in state (a renamed stack keeps it);
- ``roster:stackId`` may pin it (a lost or moved state finds its records again); a pin that differs from
  the state's is an error, never a silent switch, and so is a pin made for another stack's name where there
  is no state to compare with (a copied settings file); the first ``up`` without a pin prints the command;
- no network call: create, update and read keep the value; delete forgets it.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Final

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, UpdateResult
from pydantic import BaseModel, ConfigDict, field_validator

from provider.errors import ConfigurationError
from provider.resources.base import RosterResource, RosterResourceProvider
from provider.resources.schema import OutputsModel

STACK_ID_KEY: Final = "roster:stackId"
RANDOM_HEX: Final = 24
_FORM: Final = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,99}}-[0-9a-f]{{{RANDOM_HEX}}}$")


def valid(stack_id: str) -> bool:
    return bool(_FORM.fullmatch(stack_id))


def _name_part(stack: str) -> str:
    """What an identity made for the stack named ``stack`` starts with: its bare name (``--stack
    org/project/prod`` and the program's ``prod`` make the same), in the identity's alphabet."""
    bare = stack.rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._-]", "-", bare)[:100].lstrip("._-") or "stack"


def new_identity(stack: str) -> str:
    """A fresh identity for the stack named ``stack``."""
    return f"{_name_part(stack)}-{secrets.token_hex(RANDOM_HEX // 2)}"


def resolve(pinned: object, in_state: str | None, stack: str) -> tuple[str, bool]:
    """The stack's identity and whether this run made it (so the run shows how to pin it): the pin of
    ``roster:stackId``, else the one in state, else a new one. ConfigurationError when the pin is malformed
    or differs from the state's."""
    if pinned is not None:
        if not isinstance(pinned, str) or not valid(pinned):
            raise ConfigurationError(
                f"{STACK_ID_KEY}: expected this stack's identity as its first `pulumi up` printed it (its "
                f"stack name, a dash and {RANDOM_HEX} hex digits, e.g. prod-9f2c4e1a7b3d5c6e8f0a1b2c); "
                "`pulumi stack output rosterStackId` shows it. Fix: correct it, or `pulumi config rm "
                f"{STACK_ID_KEY}`."
            )
        if in_state is not None and pinned != in_state:
            raise ConfigurationError(
                f"{STACK_ID_KEY} is {pinned}, but this stack's state holds the identity {in_state}, made at "
                "its first run: the pin was likely copied from another stack's settings, and with it this "
                "stack would take that stack's portal records for its own. Nothing was changed. Fix: "
                f"`pulumi config set {STACK_ID_KEY} {in_state}` (or `pulumi config rm {STACK_ID_KEY}`)."
            )
        made_for = pinned.rsplit("-", 1)[0]
        if in_state is None and made_for != _name_part(stack):
            # No state to compare with: a pin made for another stack's name is that stack's identity, copied
            # with its settings (`pulumi stack init --copy-config-from`, a copied file). Taken, this stack's
            # first run would take that stack's portal records for its own, and could later remove them.
            raise ConfigurationError(
                f"{STACK_ID_KEY} is {pinned}, the identity of a stack named {made_for!r}, and this stack "
                f"({stack}) has no state yet: the pin was likely copied with another stack's settings, and "
                "with it this stack would take that stack's portal records for its own. Nothing was changed. "
                f"Fix: `pulumi config rm {STACK_ID_KEY}` (this stack gets an identity of its own at its "
                "first `up`). Only if this is that same stack, renamed, with its state lost: give it its old "
                f"name again (`pulumi stack rename {made_for}`) and run `up`."
            )
        return pinned, False
    if in_state is not None:
        return in_state, False
    return new_identity(stack), True


def first_run_notice(stack_id: str) -> str:
    """The warning of the ``up`` that made the identity, with the command that pins it."""
    return (
        f"This stack's identity is {stack_id}: its portal records carry it (tag rosterStack), and only a "
        "stack with this identity takes them back without `adopt`. It is kept in the stack's state; keep it "
        "in the stack's settings too, so that a lost state or another backend still finds its records: "
        f"`pulumi config set {STACK_ID_KEY} {stack_id}` (never copy it into another stack's settings)."
    )


class StackIdentityInputs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    stack_id: str

    @field_validator("stack_id")
    @classmethod
    def _of_the_form(cls, stack_id: str) -> str:
        if not valid(stack_id):
            raise ValueError(
                "expected <stack>-<24 hex digits>, as provider/resources/stack_identity.py makes it"
            )
        return stack_id


class StackIdentityOutputs(OutputsModel):
    """The identity is its only prop: nothing is added to it."""


class StackIdentityProvider(RosterResourceProvider):
    inputs_model = StackIdentityInputs
    outputs_model = StackIdentityOutputs
    id_is = "the identity"

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = olds.get("stack_id") != news.get("stack_id")
        return DiffResult(changes=changed, replaces=[], stables=None, delete_before_replace=False)

    def _create(self, props: dict[str, Any]) -> CreateResult:
        inputs = StackIdentityInputs.model_validate(props)
        return CreateResult(inputs.stack_id, self.outputs_of(inputs, StackIdentityOutputs()))

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self.outputs_of(StackIdentityInputs.model_validate(news), StackIdentityOutputs()))

    def _read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, {"stack_id": props.get("stack_id", id_)})

    def _delete(self, id_: str, props: dict[str, Any]) -> None:
        return None


class StackIdentity(RosterResource, module="fabricai", name="StackIdentity", provider=StackIdentityProvider):
    """The stack's identity (``pulumi-python:dynamic/fabricai:StackIdentity``); output ``stack_id``.

    ``declared_id`` is the value as the program declared it: known in every preview, where the output of a
    resource being created is not."""

    def __init__(
        self, resource_name: str, *, stack_id: str, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(resource_name, opts=opts, stack_id=stack_id)
        self.declared_id = stack_id
