"""Where a client is on its way to production, from the real model states of ``GET /clients/{id}/models``.

    CONNECTING     no models yet (no connection, or FabricAI has not started training)
    TRAINING       an ACCOUNT model is PENDING, PRE_PROCESSING, RUNNING or COMPLETED (not yet deployed)
    IN_PRODUCTION  an ACCOUNT model is DEPLOYED (the client is in production)
    FAILED         the newest ACCOUNT model FAILED or was CANCELLED and none is deployed
    INACTIVE       the client's record is INACTIVE

Dimension predictions: for each dimension the roster lists, the status of its newest DIMENSION model, or
``WAITING`` while FabricAI has not read the dimension from the ERP (nothing could be ordered yet), or
``NOT_IN_ERP`` when FabricAI has read the client's dimensions and this one is not among them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from provider.portal.models import FINISHED_BADLY, Dimension, PredictionModel

CONNECTING: Final = "CONNECTING"
TRAINING: Final = "TRAINING"
IN_PRODUCTION: Final = "IN_PRODUCTION"
FAILED: Final = "FAILED"
INACTIVE: Final = "INACTIVE"
WAITING: Final = "WAITING"
NOT_IN_ERP: Final = "NOT_IN_ERP"


def _newest_first(models: Iterable[PredictionModel]) -> list[PredictionModel]:
    return sorted(models, key=lambda model: (model.created_at or "", model.id), reverse=True)


def training_state(record_status: str | None, models: Sequence[PredictionModel]) -> str:
    if record_status == "INACTIVE":
        return INACTIVE
    accounts = _newest_first(m for m in models if m.label != "DIMENSION")
    if not accounts:
        return CONNECTING
    if any(model.status == "DEPLOYED" for model in accounts):
        return IN_PRODUCTION
    if accounts[0].status in FINISHED_BADLY:
        return FAILED
    return TRAINING


def dimension_by_name(dimensions: Sequence[Dimension], name: str) -> Dimension | None:
    """The client's dimension of this roster name (case and surrounding spaces do not matter)."""
    wanted = name.strip().casefold()
    return next((d for d in dimensions if d.name.strip().casefold() == wanted), None)


def ordered_models(models: Sequence[PredictionModel]) -> Mapping[str, PredictionModel]:
    """The newest DIMENSION model of each dimension id."""
    newest: dict[str, PredictionModel] = {}
    for model in _newest_first(m for m in models if m.label == "DIMENSION" and m.dimension_id):
        newest.setdefault(str(model.dimension_id), model)
    return newest


def prediction_states(
    wanted: Sequence[str], dimensions: Sequence[Dimension], models: Sequence[PredictionModel]
) -> dict[str, str]:
    """Per roster dimension: its model's status, WAITING, or NOT_IN_ERP (see the module docstring)."""
    by_dimension = ordered_models(models)
    states: dict[str, str] = {}
    for name in wanted:
        dimension = dimension_by_name(dimensions, name)
        if dimension is None:
            states[name] = NOT_IN_ERP if dimensions else WAITING
            continue
        model = by_dimension.get(dimension.id)
        states[name] = (model.status or "PENDING") if model is not None else WAITING
    return states
