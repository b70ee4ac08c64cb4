"""The portal stand-in's HTTP side: routes, bearer organisation keys, request bodies, answers.

Public "AI Inside" routes (as FabricAI's OpenAPI names them): ``GET|POST /clients``, ``GET|PATCH|DELETE
/clients/{id}``, ``GET /clients/{id}/dimensions``, ``GET|POST /clients/{id}/models``, ``DELETE
/clients/{id}/models/{modelId}``, ``GET|POST /teams``, ``GET|PUT /teams/{id}``. Unknown query parameters
are ignored (there is no ``businessId`` filter); unknown body fields too. A client record (POST, PATCH) is
a whole ``ModextClient``: ``name`` and ``country`` required, ``overrides`` an object (``{}`` clears it,
``null`` is 400). The extension (docs/portal-connection-extension.openapi.yaml): ``POST
/clients/{id}/connection/verify``, ``GET|PUT /clients/{id}/connection``, ``PATCH|DELETE
/clients/{id}/connection/{connectionId}``, ``POST /clients/{id}/connection/{connectionId}/verify``; its
bodies are strict (an unknown field is 400); PUT and PATCH verify first and store only what PASSED.

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
from sandbox.db import Database, Row
from sandbox.portal import payloads
from sandbox.portal.scenario import PortalScenario
from sandbox.portal.state import MODEL_STATUSES, ApiError, ErpDimensions, PortalState
from sandbox.portal.verifier import Verifier
from sandbox.portal.verifier_netvisor import NetvisorChecks, NetvisorRequest
from sandbox.portal.verifier_procountor import ProcountorChecks, ProcountorRequest

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


PORTAL_ID_CONVERTOR = "portal_id"
register_url_convertor(PORTAL_ID_CONVERTOR, _IdConvertor())


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=False, frozen=True)


class Overrides(_Body):
    vat_deduction_percent: float | None = Field(default=None, ge=0, le=100)
    vat_percent: float | None = Field(default=None, ge=0, le=100)
    vat_status: str | None = None


class ClientRecord(_Body):
    """``ModextClient`` as a request body of POST and PATCH (read-only fields such as ``id`` are ignored):
    ``name`` and ``country`` are required in the public schema, and ``overrides`` is an object there."""

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

    @model_validator(mode="before")
    @classmethod
    def _overrides_object(cls, data: Any) -> Any:
        if isinstance(data, dict) and "overrides" in data and data["overrides"] is None:
            raise ValueError("overrides must be an object; send {} to clear the overrides")
        return data

    @model_validator(mode="after")
    def _required(self) -> Self:
        missing = [name for name in ("name", "country") if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required")
        return self

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
        """The fields sent, by public name (``business_id`` normalised); ``overrides: {}`` kept."""
        sent = self.model_dump(exclude_unset=True, by_alias=True)
        if "businessId" in sent:
            sent["business_id"] = sent.pop("businessId")
        return sent


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


class _Extension(BaseModel):
    """The extension's bodies: camelCase, strict (an unknown field is a client's mistake, said at once)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True)


class ProcountorCredentials(_Extension):
    api_key: str = Field(min_length=1, max_length=1024)


class NetvisorCredentials(_Extension):
    # Header values: printable ASCII; the key is signed as ISO-8859-1.
    customer_id: str = Field(min_length=1, max_length=256, pattern=r"^[\x21-\x7e]+$")
    customer_key: str = Field(min_length=1, max_length=1024)

    @field_validator("customer_key")
    @classmethod
    def _latin1(cls, value: str) -> str:
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError("must be ISO-8859-1 text (Netvisor signs it so)") from None
        return value


Credentials = ProcountorCredentials | NetvisorCredentials
System = Literal["procountor", "netvisor"]
DimensionNames = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=100)]
_CREDENTIALS: dict[str, type[ProcountorCredentials] | type[NetvisorCredentials]] = {
    "procountor": ProcountorCredentials,
    "netvisor": NetvisorCredentials,
}


def credentials_of(system: str, credentials: Any) -> Credentials:
    """The credentials in the shape of ``system``; ApiError 400 naming the field (never its value)."""
    try:
        return _CREDENTIALS[system].model_validate(credentials)
    except ValidationError as error:
        raise ApiError(400, "credentials: " + _validation_message(error)) from None


class VerifyRequest(_Extension):
    system: System
    credentials: dict[str, Any]
    dimensions: DimensionNames | None = None


class ConnectionPut(VerifyRequest):
    erp_company_id: str | None = Field(default=None, min_length=1, max_length=64)


class ConnectionPatch(_Extension):
    credentials: dict[str, Any]
    dimensions: DimensionNames | None = None


class Reverify(_Extension):
    dimensions: DimensionNames | None = None


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


async def _body(request: Request, model: type[BaseModel], *, empty: bool = False) -> Any:
    """The request body as ``model``; ``empty``: no body at all reads as ``{}``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    if empty and not raw.strip():
        raw = bytearray(b"{}")
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
        self.verifier = Verifier(scenario.verifier)
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
        """The connection extension; a portal without it answers 404 on these paths."""
        base = "/clients/{client_id:portal_id}/connection"
        verifying = [
            Route(f"{base}/verify", self._verify, methods=["POST"]),
            Route(f"{base}/{{connection_id}}/verify", self._reverify, methods=["POST"]),
        ]
        return [
            *(verifying if self.scenario.verify_connections else []),
            Route(base, self._get_connection, methods=["GET"]),
            Route(base, self._put_connection, methods=["PUT"]),
            Route(f"{base}/{{connection_id}}", self._patch_connection, methods=["PATCH"]),
            Route(f"{base}/{{connection_id}}", self._delete_connection, methods=["DELETE"]),
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

    def _team_json(self, row: Row) -> dict[str, Any]:
        return payloads.team(row, self.state.team_clients(row["id"]))

    def _model(self, row: Row) -> dict[str, Any]:
        return payloads.model(row, self.state.model_status(row))

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
        return JSONResponse(
            {"count": len(rows), "data": [payloads.list_item(r, self.scenario.organization) for r in rows]}
        )

    async def _create_client(self, request: Request) -> Response:
        self._authorise(request)
        body: ClientRecord = await _body(request, ClientRecord)
        row = self.state.create_client(body.fields())
        return JSONResponse({"data": payloads.client(row, self.scenario.organization)}, status_code=201)

    async def _get_client(self, request: Request) -> Response:
        self._authorise(request)
        return JSONResponse(
            {
                "data": payloads.client(
                    self.state.client_row(request.path_params["client_id"]), self.scenario.organization
                )
            }
        )

    async def _patch_client(self, request: Request) -> Response:
        self._authorise(request)
        client_id = request.path_params["client_id"]
        self.state.client_row(client_id)
        body: ClientRecord = await _body(request, ClientRecord)
        row = self.state.patch_client(client_id, body.fields())
        return JSONResponse({"data": payloads.client(row, self.scenario.organization)})

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
        return JSONResponse(payloads.client_dimensions(data, self.state.dimensions_read_at(client_id)))

    async def _models(self, request: Request) -> Response:
        self._authorise(request)
        rows = self.state.models(request.path_params["client_id"])
        return JSONResponse({"count": len(rows), "data": [self._model(r) for r in rows]})

    async def _create_model(self, request: Request) -> Response:
        self._authorise(request)
        client_id = request.path_params["client_id"]
        self.state.client_row(client_id)
        body: ModelRequest = await _body(request, ModelRequest)
        row = self.state.create_model(client_id, body.label, body.dimension_id, body.priority)
        return JSONResponse({"data": self._model(row)}, status_code=201)

    async def _delete_model(self, request: Request) -> Response:
        self._authorise(request)
        model_id = request.path_params["model_id"]
        self.state.delete_model(request.path_params["client_id"], model_id)
        return JSONResponse({"data": {"id": model_id}})

    # ---- teams ----

    async def _teams(self, request: Request) -> Response:
        self._authorise(request)
        rows = self.state.teams()
        data = [self._team_json(r) for r in rows]
        return JSONResponse({"count": len(data), "totalCount": len(data), "data": data})

    async def _create_team(self, request: Request) -> Response:
        self._authorise(request)
        body: TeamBody = await _body(request, TeamBody)
        if body.name is None:
            raise ApiError(400, "name is required")
        row = self.state.create_team(body.name, body.tags or {})
        if body.clients is not None:
            row = self.state.replace_team(row["id"], None, body.clients)
        return JSONResponse({"data": self._team_json(row)})  # the public API answers 200 here

    async def _team(self, request: Request) -> Response:
        self._authorise(request)
        return JSONResponse({"data": self._team_json(self.state.team_row(request.path_params["team_id"]))})

    async def _replace_team(self, request: Request) -> Response:
        self._authorise(request)
        team_id = request.path_params["team_id"]
        self.state.team_row(team_id)
        body: TeamBody = await _body(request, TeamBody)
        row = self.state.replace_team(team_id, body.name, body.clients)
        return JSONResponse({"data": self._team_json(row)})

    # ---- the connection extension ----

    async def _run_checks(
        self,
        request: Request,
        client: Row,
        system: str,
        credentials: Credentials,
        dimensions: list[str] | None,
        erp_company_id: str | None,
    ) -> dict[str, Any]:
        """FabricAI's checks of ``credentials`` for this client, over HTTP to the ERP (``verifier``)."""
        business_id = client["business_id"]
        if business_id is None:
            raise ApiError(400, "the client has no businessId: FabricAI matches the ERP company to it")
        settings = self.scenario.verifier
        origin = own_origin(request)
        if isinstance(credentials, ProcountorCredentials):
            procountor = settings.procountor
            if procountor is None:
                return await self.verifier.verify(system, None)
            checks = ProcountorChecks(
                procountor, procountor.base_url or f"{origin}/procountor/api", self.verifier.procountor_window
            )
            asked = ProcountorRequest(credentials.api_key, business_id, erp_company_id, dimensions)
            return await self.verifier.verify(system, lambda calls: checks(calls, asked))
        netvisor = settings.netvisor
        if erp_company_id is not None and normalise_business_id(erp_company_id) != business_id:
            raise ApiError(400, "erpCompanyId of a Netvisor connection is the client's business ID")
        if netvisor is None:
            return await self.verifier.verify(system, None)
        nv_checks = NetvisorChecks(
            netvisor, netvisor.base_url or f"{origin}/netvisor", self.verifier.netvisor_locks
        )
        nv_asked = NetvisorRequest(credentials.customer_id, credentials.customer_key, business_id, dimensions)
        return await self.verifier.verify(system, lambda calls: nv_checks(calls, nv_asked))

    @staticmethod
    def _refused(verification: dict[str, Any]) -> Response | None:
        """422 (FAILED) or 503 (INCONCLUSIVE) with the verification; None when it PASSED."""
        verdict = verification["verdict"]
        if verdict == "PASSED":
            return None
        if verdict == "FAILED":
            body = payloads.verification_refused("verification failed", verification)
            return JSONResponse(body, status_code=422)
        partner = any(f["check"] == "partner_app" and not f["holds"] for f in verification["findings"])
        message = (
            f"verification inconclusive: FabricAI's partner credentials for {verification['system']} were"
            " refused or are not configured"
            if partner
            else f"verification inconclusive: {verification['system']} gave no usable answer; try again later"
        )
        return JSONResponse(payloads.verification_refused(message, verification), status_code=503)

    async def _verify(self, request: Request) -> Response:
        self._authorise(request)
        client = self.state.client_row(request.path_params["client_id"])
        body: VerifyRequest = await _body(request, VerifyRequest)
        credentials = credentials_of(body.system, body.credentials)
        verification = await self._run_checks(
            request, client, body.system, credentials, body.dimensions, None
        )
        return JSONResponse({"data": verification})

    async def _get_connection(self, request: Request) -> Response:
        self._authorise(request)
        row = self.state.connection(request.path_params["client_id"])
        return JSONResponse({"data": None if row is None else payloads.connection(row)})

    async def _put_connection(self, request: Request) -> Response:
        self._authorise(request)
        client_id = request.path_params["client_id"]
        client = self.state.client_row(client_id)
        body: ConnectionPut = await _body(request, ConnectionPut)
        credentials = credentials_of(body.system, body.credentials)
        if not self.scenario.verify_connections:  # stored as sent, unverified (partner mode's portal)
            if body.erp_company_id is None:
                raise ApiError(400, "erpCompanyId is required: this portal does not verify connections")
            row = self.state.connect(
                client_id, body.system, body.erp_company_id, credentials.model_dump(by_alias=True), None
            )
            return JSONResponse({"data": payloads.connection(row)}, status_code=201)
        verification = await self._run_checks(
            request, client, body.system, credentials, body.dimensions, body.erp_company_id
        )
        refused = self._refused(verification)
        if refused is not None:
            return refused
        company = verification["company"]
        row = self.state.connect(
            client_id,
            body.system,
            company["erpCompanyId"],
            credentials.model_dump(by_alias=True),
            verification,
        )
        return JSONResponse({"data": payloads.connection(row)}, status_code=201)

    async def _reverify(self, request: Request) -> Response:
        self._authorise(request)
        client_id, connection_id = request.path_params["client_id"], request.path_params["connection_id"]
        client = self.state.client_row(client_id)
        row = self.state.current_connection(client_id, connection_id)
        body: Reverify = await _body(request, Reverify, empty=True)
        credentials = credentials_of(row["system"], self.state.stored_credentials(row))
        verification = await self._run_checks(
            request, client, row["system"], credentials, body.dimensions, row["erp_company_id"]
        )
        self.state.store_verification(client_id, connection_id, verification)
        return JSONResponse({"data": verification})

    async def _patch_connection(self, request: Request) -> Response:
        self._authorise(request)
        client_id, connection_id = request.path_params["client_id"], request.path_params["connection_id"]
        client = self.state.client_row(client_id)
        row = self.state.current_connection(client_id, connection_id)
        body: ConnectionPatch = await _body(request, ConnectionPatch)
        credentials = credentials_of(row["system"], body.credentials)
        if not self.scenario.verify_connections:  # stored as sent, unverified (partner mode's portal)
            rotated = self.state.rotate(client_id, connection_id, credentials.model_dump(by_alias=True), None)
            return JSONResponse({"data": payloads.connection(rotated)})
        # The new credentials must open the company this connection is for.
        verification = await self._run_checks(
            request, client, row["system"], credentials, body.dimensions, row["erp_company_id"]
        )
        refused = self._refused(verification)
        if refused is not None:
            return refused
        rotated = self.state.rotate(
            client_id, connection_id, credentials.model_dump(by_alias=True), verification
        )
        return JSONResponse({"data": payloads.connection(rotated)})

    async def _delete_connection(self, request: Request) -> Response:
        self._authorise(request)
        client_id, connection_id = request.path_params["client_id"], request.path_params["connection_id"]
        self.state.disconnect(client_id, connection_id)
        return JSONResponse({"data": {"id": connection_id}})


def own_origin(request: Request) -> str:
    """Where this sandbox listens, as the verifier calls its own ERPs: the server's socket address (not the
    Host header, which the caller chose)."""
    host, port = request.scope.get("server") or ("127.0.0.1", 80)
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - a wildcard bind is reached on loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{request.scope.get('scheme', 'http')}://{host}:{port}"
