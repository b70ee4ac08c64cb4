"""The portal stand-in's HTTP side: routes, bearer organisation keys, request bodies, answers.

Public "AI Inside" routes (as FabricAI's OpenAPI names them): ``GET|POST /clients``, ``GET|PATCH|DELETE
/clients/{id}``, ``GET /clients/{id}/dimensions``, ``GET|POST /clients/{id}/models``, ``DELETE
/clients/{id}/models/{modelId}``, ``GET|POST /teams``, ``GET|PUT /teams/{id}``. The extension:
``GET|PUT /clients/{id}/connection``, ``PATCH|DELETE /clients/{id}/connection/{connectionId}``.
Unknown query parameters are ignored (there is no ``businessId`` filter); unknown body fields too.

A malformed request is a 4xx in the portal's ``{"error": "..."}`` shape, never a 500: a body over
``MAX_BODY_BYTES`` is 413, a body that is not strict JSON (``NaN``, nesting beyond the parser, lone
surrogates) or not the documented shape is 400, an id beyond any id (more than 18 digits) is 404 and an
integer parameter beyond ``MAX_INT_PARAM`` is 400. (ASSUMPTION: the real portal's limits are not public.)
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel
from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.business_id import normalise_business_id
from sandbox.db import Database
from sandbox.portal.scenario import PortalScenario
from sandbox.portal.state import MODEL_STATUSES, ApiError, ErpDimensions, PortalState

MAX_PAGE_SIZE = 50
MAX_BODY_BYTES = 1024 * 1024
MAX_INT_PARAM = 10**9
# Ids in bodies are SQLite integers.
Id = Annotated[int, Field(ge=0, le=2**63 - 1)]


class _IdConvertor(Convertor[int]):
    """``{name:portal_id}``: an id of at most 18 digits (longer is no id: 404, not an overflow)."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("portal_id", _IdConvertor())


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=False, frozen=True)


class Overrides(_Body):
    vat_deduction_percent: float | None = Field(default=None, ge=0, le=100)
    vat_percent: float | None = Field(default=None, ge=0, le=100)
    vat_status: str | None = None


class ClientFields(_Body):
    """``ModextClient`` as a request body (read-only fields such as ``id`` are ignored)."""

    name: str | None = Field(default=None, min_length=1)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    business_id: str | None = None
    system: str | None = Field(default=None, min_length=1)
    status: Literal["ACTIVE", "INACTIVE"] | None = None
    teams: list[Id] | None = None
    tags: dict[str, str] | None = None
    overrides: Overrides | None = None
    accounting_system_company_id: str | None = None
    service_template: (
        Literal[
            "BACKGROUND_PROCESS",
            "CUSTOMER_DOES_NOTHING",
            "BACKGROUND_PROCESS_AND_LAST_CHECK_WITH_CUSTOMER_ACCOUNTS",
            "BACKGROUND_PROCESS_AND_LAST_CHECK",
        ]
        | None
    ) = None
    industry: str | None = None
    industry_code: str | None = Field(default=None, pattern=r"^[0-9]+$")
    domain: str | None = None

    @field_validator("business_id")
    @classmethod
    def _vat_form(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip().upper()
        normalised = normalise_business_id(text) if text.startswith("FI") else None
        if normalised is None:
            raise ValueError("businessId must be the business id formatted as VAT number, e.g. FI29256309")
        return normalised

    def fields(self) -> dict[str, Any]:
        """The fields sent, by public name (``business_id`` normalised); ``overrides: null`` kept."""
        sent = self.model_dump(exclude_unset=True, by_alias=True)
        if "businessId" in sent:
            sent["business_id"] = sent.pop("businessId")
        return sent


class ClientCreate(ClientFields):
    @model_validator(mode="after")
    def _required(self) -> Self:
        missing = [name for name in ("name", "country") if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required")
        return self


class ModelRequest(_Body):
    label: Literal["ACCOUNT", "DIMENSION"]
    dimension_id: str | None = None
    priority: int = Field(default=0, ge=-10, le=10)

    @model_validator(mode="after")
    def _dimension(self) -> Self:
        if self.label == "DIMENSION" and not self.dimension_id:
            raise ValueError("dimensionId is required when label is DIMENSION")
        return self


class TeamBody(_Body):
    name: str | None = Field(default=None, min_length=1)
    clients: list[Id] | None = None
    tags: dict[str, str] | None = None


class ConnectionPut(_Body):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True)

    system: Literal["procountor", "netvisor"]
    erp_company_id: str = Field(min_length=1)
    credentials: dict[str, Any] = Field(min_length=1)


class ConnectionPatch(_Body):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True)

    credentials: dict[str, Any] = Field(min_length=1)


class TrainingForce(BaseModel):
    status: Literal[MODEL_STATUSES]  # type: ignore[valid-type]


def _validation_message(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def _body(request: Request, model: type[BaseModel]) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(bytes(raw), parse_constant=_no_constant)
        json.dumps(payload, ensure_ascii=False).encode()  # lone surrogates cannot be stored
    except (ValueError, RecursionError, UnicodeError):
        raise ApiError(400, "the request body must be a JSON object") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "the request body must be a JSON object")
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise ApiError(400, _validation_message(error)) from None


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer") from None
    if abs(value) > MAX_INT_PARAM:
        raise ApiError(400, f"{name} must be at most {MAX_INT_PARAM}")
    return value


class PortalService:
    name = "portal"

    def __init__(self, scenario: PortalScenario, db: Database, erp_dimensions: ErpDimensions) -> None:
        self.scenario = scenario
        self.state = PortalState(scenario, db, erp_dimensions)
        self.app = Starlette(
            routes=[
                Route("/clients", self._list_clients, methods=["GET"]),
                Route("/clients", self._create_client, methods=["POST"]),
                Route("/clients/{client_id:portal_id}", self._get_client, methods=["GET"]),
                Route("/clients/{client_id:portal_id}", self._patch_client, methods=["PATCH"]),
                Route("/clients/{client_id:portal_id}", self._delete_client, methods=["DELETE"]),
                Route("/clients/{client_id:portal_id}/dimensions", self._dimensions, methods=["GET"]),
                Route("/clients/{client_id:portal_id}/models", self._models, methods=["GET"]),
                Route("/clients/{client_id:portal_id}/models", self._create_model, methods=["POST"]),
                Route(
                    "/clients/{client_id:portal_id}/models/{model_id:portal_id}",
                    self._delete_model,
                    methods=["DELETE"],
                ),
                Route("/teams", self._teams, methods=["GET"]),
                Route("/teams", self._create_team, methods=["POST"]),
                Route("/teams/{team_id:portal_id}", self._team, methods=["GET"]),
                Route("/teams/{team_id:portal_id}", self._replace_team, methods=["PUT"]),
                *(self._extension_routes() if scenario.connection_extension else []),
            ],
            exception_handlers={HTTPException: self._http_error, ApiError: self._api_error},
        )

    def _extension_routes(self) -> list[Route]:
        """The connection extension (DESIGN.md); a portal without it answers 404 on these paths."""
        return [
            Route("/clients/{client_id:portal_id}/connection", self._get_connection, methods=["GET"]),
            Route("/clients/{client_id:portal_id}/connection", self._put_connection, methods=["PUT"]),
            Route(
                "/clients/{client_id:portal_id}/connection/{connection_id}",
                self._patch_connection,
                methods=["PATCH"],
            ),
            Route(
                "/clients/{client_id:portal_id}/connection/{connection_id}",
                self._delete_connection,
                methods=["DELETE"],
            ),
        ]

    # ---- the Service protocol and /admin ----

    @property
    def counters(self) -> Any:
        return self.state.counters

    def reset(self) -> None:
        self.state.reset()

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    def connection_for_admin(self, client_id: int) -> dict[str, Any] | None:
        return self.state.connection_for_admin(client_id)

    def force_training(self, client_id: int, payload: Any) -> int:
        """Admin: every model of the client to one status; ApiError 400/404 as the API would."""
        try:
            force = TrainingForce.model_validate(payload)
        except ValidationError as error:
            raise ApiError(400, _validation_message(error)) from None
        return self.state.force_training(client_id, force.status)

    def read_dimensions_now(self, client_id: int) -> None:
        """Admin: FabricAI has read the client's dimensions from its ERP, now."""
        self.state.read_erp_dimensions(client_id, 0)

    # ---- plumbing ----

    def _authorise(self, request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        valid = scheme.lower() == "bearer" and any(
            hmac.compare_digest(key.encode(), known.encode()) for known in self.scenario.api_keys
        )
        if not valid:
            raise ApiError(401, "missing or invalid organisation API key")

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    async def _api_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse(exc.body, status_code=exc.status)

    # ---- clients ----

    async def _list_clients(self, request: Request) -> Response:
        self._authorise(request)
        page = _int_param(request, "page", 1)
        limit = _int_param(request, "limit", MAX_PAGE_SIZE) or MAX_PAGE_SIZE
        if page < 1:
            raise ApiError(400, "page must be at least 1")
        if not 0 < limit <= MAX_PAGE_SIZE:
            raise ApiError(400, f"limit must be between 0 and {MAX_PAGE_SIZE}")
        rows = self.state.list_clients(page, limit)
        # `count`: the items of this page (whether the real API counts the page or the whole list is not
        # public; a client must page until a short page either way).
        return JSONResponse({"count": len(rows), "data": [self.state.list_item_json(r) for r in rows]})

    async def _create_client(self, request: Request) -> Response:
        self._authorise(request)
        body: ClientCreate = await _body(request, ClientCreate)
        row = self.state.create_client(body.fields())
        return JSONResponse({"data": self.state.client_json(row)}, status_code=201)

    async def _get_client(self, request: Request) -> Response:
        self._authorise(request)
        return JSONResponse(
            {"data": self.state.client_json(self.state.client_row(request.path_params["client_id"]))}
        )

    async def _patch_client(self, request: Request) -> Response:
        self._authorise(request)
        client_id = request.path_params["client_id"]
        self.state.client_row(client_id)
        body: ClientFields = await _body(request, ClientFields)
        row = self.state.patch_client(client_id, body.fields())
        return JSONResponse({"data": self.state.client_json(row)})

    async def _delete_client(self, request: Request) -> Response:
        self._authorise(request)
        client_id = request.path_params["client_id"]
        self.state.delete_client(client_id)
        return JSONResponse({"data": {"id": client_id}})

    # ---- dimensions and models ----

    async def _dimensions(self, request: Request) -> Response:
        self._authorise(request)
        client_id = request.path_params["client_id"]
        data = self.state.dimensions(client_id)
        created, updated = self.state.dimensions_times(client_id)
        return JSONResponse({"createdAt": created, "updatedAt": updated, "data": data})

    async def _models(self, request: Request) -> Response:
        self._authorise(request)
        rows = self.state.models(request.path_params["client_id"])
        return JSONResponse({"count": len(rows), "data": [self.state.model_json(r) for r in rows]})

    async def _create_model(self, request: Request) -> Response:
        self._authorise(request)
        client_id = request.path_params["client_id"]
        self.state.client_row(client_id)
        body: ModelRequest = await _body(request, ModelRequest)
        row = self.state.create_model(client_id, body.label, body.dimension_id, body.priority)
        return JSONResponse({"data": self.state.model_json(row)}, status_code=201)

    async def _delete_model(self, request: Request) -> Response:
        self._authorise(request)
        model_id = request.path_params["model_id"]
        self.state.delete_model(request.path_params["client_id"], model_id)
        return JSONResponse({"data": {"id": model_id}})

    # ---- teams ----

    async def _teams(self, request: Request) -> Response:
        self._authorise(request)
        rows = self.state.teams()
        data = [self.state.team_json(r) for r in rows]
        return JSONResponse({"count": len(data), "totalCount": len(data), "data": data})

    async def _create_team(self, request: Request) -> Response:
        self._authorise(request)
        body: TeamBody = await _body(request, TeamBody)
        if body.name is None:
            raise ApiError(400, "name is required")
        row = self.state.create_team(body.name, body.tags or {})
        if body.clients is not None:
            row = self.state.replace_team(row["id"], None, body.clients)
        return JSONResponse({"data": self.state.team_json(row)})  # the public API answers 200 here

    async def _team(self, request: Request) -> Response:
        self._authorise(request)
        return JSONResponse(
            {"data": self.state.team_json(self.state.team_row(request.path_params["team_id"]))}
        )

    async def _replace_team(self, request: Request) -> Response:
        self._authorise(request)
        team_id = request.path_params["team_id"]
        self.state.team_row(team_id)
        body: TeamBody = await _body(request, TeamBody)
        row = self.state.replace_team(team_id, body.name, body.clients)
        return JSONResponse({"data": self.state.team_json(row)})

    # ---- the connection extension ----

    async def _get_connection(self, request: Request) -> Response:
        self._authorise(request)
        row = self.state.connection(request.path_params["client_id"])
        return JSONResponse({"data": None if row is None else self.state.connection_json(row)})

    async def _put_connection(self, request: Request) -> Response:
        self._authorise(request)
        self.state.client_row(request.path_params["client_id"])
        body: ConnectionPut = await _body(request, ConnectionPut)
        row = self.state.connect(
            request.path_params["client_id"], body.system, body.erp_company_id, body.credentials
        )
        return JSONResponse({"data": self.state.connection_json(row)}, status_code=201)

    async def _patch_connection(self, request: Request) -> Response:
        self._authorise(request)
        client_id, connection_id = request.path_params["client_id"], request.path_params["connection_id"]
        self.state.current_connection(client_id, connection_id)
        body: ConnectionPatch = await _body(request, ConnectionPatch)
        row = self.state.rotate(client_id, connection_id, body.credentials)
        return JSONResponse({"data": self.state.connection_json(row)})

    async def _delete_connection(self, request: Request) -> Response:
        self._authorise(request)
        client_id, connection_id = request.path_params["client_id"], request.path_params["connection_id"]
        self.state.disconnect(client_id, connection_id)
        return JSONResponse({"data": {"id": connection_id}})
