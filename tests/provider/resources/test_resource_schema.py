"""One schema per resource: the contract is named once, in the Inputs and Outputs models, and all the rest
(annotations, output seeds, secrets, replace triggers, docs/ARCHITECTURE.md's table) follows from them."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Annotated, Any

import pulumi
import pytest
from pulumi._types import resource_types
from pydantic import BaseModel, ConfigDict, ValidationError

from provider.program import RosterClient
from provider.resources.base import RosterResource, RosterResourceProvider
from provider.resources.client_company import ClientCompany, ClientCompanyOutputs
from provider.resources.netvisor_credentials import NetvisorCredentials
from provider.resources.netvisor_integration import NetvisorIntegration
from provider.resources.procountor_integration import ProcountorIntegration, ProcountorIntegrationProvider
from provider.resources.schema import REPLACES, OutputsModel, Secret, resources_table
from provider.resources.stack_identity import StackIdentity

ARCHITECTURE = Path(__file__).parents[3] / "docs" / "ARCHITECTURE.md"
RESOURCES: tuple[type[RosterResource], ...] = (
    ClientCompany,
    ProcountorIntegration,
    NetvisorCredentials,
    NetvisorIntegration,
    StackIdentity,
)


def generated_table() -> str:
    return resources_table(
        {cls.__name__: (cls.provider_class.schema, cls.provider_class.id_is) for cls in RESOURCES}
    )


def test_the_architecture_table_is_the_one_the_models_make() -> None:
    document = ARCHITECTURE.read_text(encoding="utf-8")
    found = re.search(r"^\| resource \| inputs \|.*?\n(?=\n)", document, re.MULTILINE | re.DOTALL)
    assert found is not None, "docs/ARCHITECTURE.md has no resources table"
    assert found.group(0) == generated_table(), (
        f"paste this table into docs/ARCHITECTURE.md:\n{generated_table()}"
    )


def test_the_type_tokens_and_the_annotations_come_from_the_models() -> None:
    for cls in RESOURCES:
        assert cls._resource_type_name == f"dynamic/fabricai:{cls.__name__}"
        schema = cls.provider_class.schema
        assert list(cls.__annotations__) == list(schema.read_outputs)
        assert cls._seeds == dict.fromkeys(schema.read_outputs)
        # Types, not strings: the SDK reads them at every registration without evaluating anything.
        assert not any(isinstance(hint, str) for hint in cls.__annotations__.values())
        assert set(resource_types(cls)) == set(cls.__annotations__)
    hints = ProcountorIntegration.__annotations__
    assert "api_key" not in hints and "client_id" not in hints  # inputs: the program reads none back
    assert hints["status"] == pulumi.Output[str | None]
    assert "api_key_fingerprint" not in hints  # in the state, not read by the program
    assert hints["dimension_predictions"] == pulumi.Output[dict[str, str]]
    assert ClientCompany.__annotations__["portal_id"] == pulumi.Output[int]  # the wire's float cast back


def test_the_program_resources_carry_no_annotations_to_evaluate() -> None:
    # The SDK evaluates a resource class's annotations at every registration (strings, under
    # `from __future__ import annotations`): the component has none.
    assert inspect.get_annotations(RosterClient) == {}


def test_the_attributes_are_the_outputs_the_program_reads() -> None:
    """Only ``Read`` outputs are registered as None (each attribute costs the SDK an Output per
    registration); the program's reads are exactly those."""
    assert ClientCompany.provider_class.schema.read_outputs == ("portal_id", "training")
    assert ProcountorIntegration.provider_class.schema.read_outputs == (
        "status",
        "client_status",
        "dimension_predictions",
    )
    assert NetvisorIntegration.provider_class.schema.read_outputs == (
        "status",
        "client_status",
        "dimension_predictions",
    )
    assert NetvisorCredentials.provider_class.schema.read_outputs == ("customer_key_fingerprint",)
    assert StackIdentity.provider_class.schema.read_outputs == ()


def test_secrets_and_replace_triggers_are_the_markers() -> None:
    provider = ProcountorIntegrationProvider
    assert provider.secret_fingerprints == {"api_key": "api_key_fingerprint"}
    assert provider.replace_on == {"client_id", "business_id"}
    assert NetvisorIntegration.provider_class.secret_fingerprints == {
        "customer_key": "customer_key_fingerprint"
    }
    assert NetvisorCredentials.provider_class.replace_on == {"name"}
    assert ClientCompany.provider_class.replace_on == {"business_id", "erp"}
    assert StackIdentity.provider_class.replace_on == frozenset()


def complete_outputs() -> dict[str, Any]:
    return {
        "portal_id": 7,
        "vat_number": "FI29256309",
        "status": "ACTIVE",
        "system": "procountor",
        "training": None,
        "accounting_system_company_id": None,
        "registration": "r",
        "adopted": False,
        "created_at": None,
    }


def test_an_output_missing_or_misspelt_fails_when_it_is_built() -> None:
    assert ClientCompanyOutputs(**complete_outputs()).portal_id == 7
    without = {key: value for key, value in complete_outputs().items() if key != "training"}
    with pytest.raises(ValidationError, match="training"):
        ClientCompanyOutputs(**without)
    with pytest.raises(ValidationError, match="trainig"):
        ClientCompanyOutputs(**without, **{"trainig": None})  # mypy refuses it as written plainly


class _Inputs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    key: Annotated[str, Secret(fingerprint="key_fingerprint")]
    owner: Annotated[str, REPLACES]


class _NoFingerprint(OutputsModel):
    done: bool


def test_a_fingerprint_the_outputs_do_not_declare_fails_at_import() -> None:
    with pytest.raises(TypeError, match="key_fingerprint"):

        class _HalfDeclared(RosterResourceProvider):
            inputs_model = _Inputs
            outputs_model = _NoFingerprint


def test_outputs_written_leave_the_secret_out() -> None:
    class WithFingerprint(OutputsModel):
        key_fingerprint: str

    class Provider(RosterResourceProvider):
        inputs_model = _Inputs
        outputs_model = WithFingerprint

    outputs = Provider().outputs_of(_Inputs(key="s3cret", owner="o"), WithFingerprint(key_fingerprint="f"))
    assert outputs == {"owner": "o", "key_fingerprint": "f"}


def test_a_misspelt_or_missing_input_fails_where_the_program_declares_it() -> None:
    inputs: dict[str, Any] = {
        "client_id": 1,
        "business_id": "2925630-9",
        "client_name": "Acme Oy",
        "api_key": "k",
    }
    with pytest.raises(TypeError, match=r"unknown inputs \['dimension'\]"):
        ProcountorIntegration("acme", **inputs, dimension=["Projekti"])
    with pytest.raises(TypeError, match=r"missing inputs \['api_key'\]"):
        ProcountorIntegration("acme", **{**inputs, "api_key": None})
