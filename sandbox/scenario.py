"""The sandbox scenario file (YAML): what the three services hold on first start and after a reset.

Keys are camelCase; unknown keys are errors, so a typo never silently changes a test. Every section is
optional (an empty file is an empty sandbox)::

    portal: {...}                          # see sandbox.portal.scenario

    procountor: {...}                      # see sandbox.procountor.scenario
    netvisor: {...}                        # see sandbox.netvisor.scenario
    faults:                                # per service, see sandbox.faults
      procountor: {latencyMs: 20, errorRate: 0.1, seed: 7}
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from sandbox.business_id import business_id_check_digit, normalise_business_id
from sandbox.faults import FaultSettings
from sandbox.netvisor.scenario import NetvisorScenario
from sandbox.portal.scenario import PortalScenario
from sandbox.procountor.scenario import ProcountorScenario

__all__ = [
    "EXAMPLE_SCENARIO_PATH",
    "PortalScenario",
    "ProcountorScenario",
    "Scenario",
    "ScenarioError",
    "as_scenario",
    "business_id_check_digit",
    "load_scenario",
    "normalise_business_id",
    "parse_scenario",
]

EXAMPLE_SCENARIO_PATH = Path(__file__).resolve().parents[1] / "examples" / "sandbox.yaml"

Process = Literal["standard", "alternative", "alternative-with-circulation", "background"]
VatMode = Literal["standard", "exempt", "partial"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


# ---- the file ----


class ScenarioFaults(_Strict):
    portal: FaultSettings = Field(default_factory=FaultSettings)
    procountor: FaultSettings = Field(default_factory=FaultSettings)
    netvisor: FaultSettings = Field(default_factory=FaultSettings)

    def for_service(self, name: str) -> FaultSettings:
        settings: FaultSettings = getattr(self, name)
        return settings


class Scenario(_Strict):
    portal: PortalScenario = Field(default_factory=PortalScenario)
    procountor: ProcountorScenario = Field(default_factory=ProcountorScenario)
    netvisor: NetvisorScenario = Field(default_factory=NetvisorScenario)
    faults: ScenarioFaults = Field(default_factory=ScenarioFaults)


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message lists every problem with its location."""


def _readable(error: ValidationError, source: str) -> ScenarioError:
    lines = [f"invalid sandbox scenario {source}:"]
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"  {where}: {problem['msg']}")
    return ScenarioError("\n".join(lines))


def parse_scenario(data: Mapping[str, Any] | None, source: str = "(inline)") -> Scenario:
    try:
        return Scenario.model_validate(dict(data or {}))
    except ValidationError as error:
        raise _readable(error, source) from None


def load_scenario(path: Path | str) -> Scenario:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(f"cannot read sandbox scenario {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"cannot read sandbox scenario {path}: {error}") from None
    if data is not None and not isinstance(data, dict):
        raise ScenarioError(f"invalid sandbox scenario {path}: the top level must be a mapping")
    return parse_scenario(data, str(path))


def as_scenario(source: Scenario | Mapping[str, Any] | Path | str | None) -> Scenario:
    """A scenario from a model, a dict, a file path, or None (the example scenario)."""
    if isinstance(source, Scenario):
        return source
    if source is None:
        return load_scenario(EXAMPLE_SCENARIO_PATH)
    if isinstance(source, Mapping):
        return parse_scenario(source)
    return load_scenario(source)
