"""Dimension predictions and training progress, read and ordered by the integration after it connects.

Each roster dimension is ordered as a DIMENSION model (``POST /clients/{id}/models``) once FabricAI has
read the client's dimensions from the ERP (``GET /clients/{id}/dimensions`` has it); until then it shows
``WAITING`` and the next ``up`` orders it (the integration's ``diff`` reports a change while one is
pending). A dimension removed from the roster keeps its model (docs/PORTAL_API.md says why). Ordering is
never retried blindly: the models are read first, and a model of that dimension found there is the one a
lost answer ordered.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from provider.portal import PortalClient
from provider.portal.models import PredictionModel
from provider.portal.training import WAITING, dimension_by_name, ordered_models, prediction_states

log = logging.getLogger(__name__)

# Prediction states that the next `up` still acts on.
PENDING_ORDER = frozenset({WAITING, "NOT_IN_ERP"})


@dataclass(frozen=True)
class Progress:
    """The client's training progress and its dimension predictions, as the outputs show them."""

    client_status: str | None
    dimension_predictions: Mapping[str, str]


def waiting(dimensions: Sequence[str]) -> Progress:
    """Progress not read (the portal failed that read, or the client is gone): every dimension waits."""
    return Progress(None, {name: WAITING for name in dimensions})


def order_predictions(
    portal: PortalClient, client_id: int, dimensions: Sequence[str], label: str
) -> tuple[dict[str, str], list[PredictionModel]]:
    """Order a DIMENSION model for each roster dimension FabricAI has read and that has none yet; the
    predictions' states and the client's models."""
    models = list(portal.models(client_id))
    if not dimensions:
        return {}, models
    read = portal.client_dimensions(client_id)
    ordered = ordered_models(models)
    for name in dimensions:
        dimension = dimension_by_name(read, name)
        if dimension is None or dimension.id in ordered:
            continue
        model = portal.order_dimension_model(client_id, dimension.id)
        models.append(model)
        ordered = ordered_models(models)
        log.info("%s: dimension predictions ordered for %s (model %s)", label, name, model.id)
    states = prediction_states(dimensions, read, models)
    pending = [name for name, state in states.items() if state in PENDING_ORDER]
    if pending:
        log.info(
            "%s: FabricAI has not read %s from the ERP yet; the next `pulumi up` orders the predictions",
            label,
            ", ".join(pending),
        )
    return states, models
