"""The sandbox's stand-in for Procountor's REST API, split by job: the scenario section (scenario.py), the
rights schema of ``GET /users/rights`` (rights.py), the rules and stored state (state.py), the bodies of
the bookkeeping reads (payloads.py) and the HTTP handlers (service.py)."""

from sandbox.procountor.scenario import ProcountorScenario
from sandbox.procountor.service import ProcountorService

__all__ = ["ProcountorScenario", "ProcountorService"]
