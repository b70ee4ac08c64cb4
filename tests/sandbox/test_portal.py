"""Conformance of the sandbox's portal: FabricAI's public "AI Inside" API, driven with plain httpx by
public names only (an independent client would do the same), compared with the payloads of
tests/fixtures/real/portal/, and the connection extension of docs/portal-connection-extension.openapi.yaml."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.server import RunningSandbox
from tests.conftest import SandboxFactory
from tests.sandbox.conftest import PORTAL_KEY, PORTAL_KEY_2, bearer, business_ids, portal_client

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "portal"
# examples/sandbox.yaml: Öljy-Äijät Oy (FI29256309, Procountor company 101) has two valid keys.
CREDENTIALS = {"apiKey": "FAKE-pc-key-oljy-aijat-1"}
NEW_CREDENTIALS = {"apiKey": "FAKE-pc-key-oljy-aijat-2"}
# ModextCollectionClient: exactly these fields, nothing else.
LIST_ITEM_FIELDS = {
    "businessId",
    "createdAt",
    "id",
    "invoicesLastFetchedAt",
    "name",
    "organization",
    "organizationId",
    "status",
    "system",
    "tags",
    "updatedAt",
}


def real(name: str) -> Any:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


def create(portal: httpx.Client, business_id: str = "FI29256309", **fields: Any) -> dict[str, Any]:
    body = {"name": "Öljy-Äijät Oy", "country": "FI", "businessId": business_id, **fields}
    response = portal.post("/clients", json=body)
    assert response.status_code == 201, response.text
    client: dict[str, Any] = response.json()["data"]
    return client


def connect(
    portal: httpx.Client, client_id: int, credentials: dict[str, str] = CREDENTIALS
) -> dict[str, Any]:
    body = {"system": "procountor", "erpCompanyId": "101", "credentials": credentials}
    response = portal.put(f"/clients/{client_id}/connection", json=body)
    assert response.status_code == 201, response.text
    connection: dict[str, Any] = response.json()["data"]
    assert "credentials" not in connection
    return connection


def assert_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    message = response.json()["error"]
    assert isinstance(message, str) and message
    return message


def kinds(value: Any) -> Any:
    """The shape of a JSON value: field names and value types, recursively (values dropped)."""
    if isinstance(value, dict):
        return {key: kinds(item) for key, item in value.items()}
    if isinstance(value, list):
        return [kinds(value[0])] if value else []
    return type(value).__name__


# ---- auth ----


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("FAKE-wrong-key"), {"Authorization": PORTAL_KEY}],
    ids=["missing", "wrong", "no-scheme"],
)
def test_requests_need_an_organisation_key(example: RunningSandbox, headers: dict[str, str]) -> None:
    response = httpx.get(f"{example.service_url('portal')}/clients", headers=headers)
    assert_error(response, 401)


def test_every_scenario_key_is_accepted(example: RunningSandbox) -> None:
    for key in (PORTAL_KEY, PORTAL_KEY_2):
        with portal_client(example, key) as portal:
            assert portal.get("/clients").status_code == 200


# ---- the public client record ----


def test_the_fixture_create_request_is_accepted_and_answered_in_the_real_shape(portal: httpx.Client) -> None:
    request = real("client_create_request.json")
    request["teams"] = [1, 2]  # the example scenario's team ids
    response = portal.post("/clients", json=request)
    assert response.status_code == 201, response.text
    record = response.json()["data"]
    expected = real("client_create_201.json")["data"]
    # Same fields, same types, as the fixture (values are the sandbox's).
    for key, kind in kinds(expected).items():
        assert key in record, key
        assert kinds(record[key]) == kind or key == "overrides", key
    assert record["businessId"] == "FI31874528" and record["system"] == "ai-inside"
    assert record["overrides"] == {"vatDeductionPercent": 50}
    assert record["accountingSystemCompanyId"] == "482913"


def test_create_needs_name_and_country(portal: httpx.Client) -> None:
    assert "country" in assert_error(portal.post("/clients", json={"name": "A Oy"}), 400)
    assert "name" in assert_error(portal.post("/clients", json={"country": "FI"}), 400)
    assert_error(portal.post("/clients", json=["not", "an", "object"]), 400)


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"businessId": "2925630-9"}, "businessId"),  # the public API wants the VAT form
        ({"businessId": "FI29256308"}, "businessId"),
        ({"status": "PENDING"}, "status"),
        ({"teams": [99]}, "team"),
        ({"overrides": {"vatDeductionPercent": 101}}, "vatDeductionPercent"),
        ({"serviceTemplate": "STANDARD"}, "serviceTemplate"),
    ],
)
def test_create_validates_fields(portal: httpx.Client, fields: dict[str, Any], mentions: str) -> None:
    response = portal.post("/clients", json={"name": "A Oy", "country": "FI", **fields})
    assert mentions in assert_error(response, 400)


def test_system_is_set_once(portal: httpx.Client) -> None:
    client = create(portal, system="procountor")
    assert client["system"] == "procountor"
    whole = {"name": "Öljy-Äijät Oy", "country": "FI"}
    assert "system" in assert_error(
        portal.patch(f"/clients/{client['id']}", json={**whole, "system": "netvisor"}), 400
    )
    same = portal.patch(f"/clients/{client['id']}", json={**whole, "system": "procountor", "name": "B Oy"})
    assert same.status_code == 200 and same.json()["data"]["name"] == "B Oy"
    assert create(portal, "FI20774740")["system"] == "ai-inside"  # the public API's "normally"


def test_no_409_a_second_registration_is_stored_and_counted(
    example: RunningSandbox, portal: httpx.Client
) -> None:
    first = create(portal)
    second = create(portal)
    assert second["id"] != first["id"]
    assert example.admin.stats()["services"]["portal"]["duplicateRegistrations"] == 1


def test_patch_takes_a_whole_record_and_changes_the_fields_sent(portal: httpx.Client) -> None:
    client = create(portal, teams=[1], tags={"a": "b"}, overrides={"vatDeductionPercent": 40})
    whole = {"name": "Öljy-Äijät Oy", "country": "FI"}
    patched = portal.patch(
        f"/clients/{client['id']}", json={**whole, **real("client_patch_request.json"), "teams": [2]}
    )
    assert patched.status_code == 200, patched.text
    record = patched.json()["data"]
    assert record["teams"] == [2] and record["name"] == "Öljy-Äijät Oy"
    assert record["overrides"] == {"vatDeductionPercent": 0, "vatStatus": "vat_4"}
    assert record["tags"] == {"roster": "tilitoimisto-aalto-virta", "erp": "procountor"}  # replaced whole
    inactive = portal.patch(f"/clients/{client['id']}", json={**whole, "status": "INACTIVE"})
    assert inactive.json()["data"]["status"] == "INACTIVE"
    assert inactive.json()["data"]["overrides"] == record["overrides"]  # absent: kept
    again = portal.patch(f"/clients/{client['id']}", json={**whole, "status": "ACTIVE"})
    assert again.json()["data"]["status"] == "ACTIVE"


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"country": "FI", "status": "INACTIVE"}, "name"),
        ({"name": "B Oy", "status": "INACTIVE"}, "country"),
        ({"status": "INACTIVE"}, "name and country"),
        ({"name": None, "country": "FI"}, "name"),
        ({"name": "B Oy", "country": "FI", "overrides": None}, "overrides"),
    ],
    ids=["no-name", "no-country", "neither", "null-name", "null-overrides"],
)
def test_patch_refuses_what_the_public_schema_refuses(
    portal: httpx.Client, body: dict[str, Any], mentions: str
) -> None:
    """``ModextClient`` (the PATCH body) requires ``name`` and ``country``; ``overrides`` is an object."""
    client = create(portal, overrides={"vatDeductionPercent": 40})
    assert mentions in assert_error(portal.patch(f"/clients/{client['id']}", json=body), 400)
    kept = portal.get(f"/clients/{client['id']}").json()["data"]
    assert kept["status"] == "ACTIVE" and kept["overrides"] == {"vatDeductionPercent": 40}


def test_create_refuses_null_overrides(portal: httpx.Client) -> None:
    body = {"name": "A Oy", "country": "FI", "overrides": None}
    assert "overrides" in assert_error(portal.post("/clients", json=body), 400)


def test_an_empty_overrides_object_clears_the_overrides(portal: httpx.Client) -> None:
    """ASSUMPTION (docs/PORTAL_API.md): ``{}`` is how a client of the public schema clears them."""
    client = create(portal, overrides={"vatDeductionPercent": 40})
    cleared = portal.patch(
        f"/clients/{client['id']}", json={"name": "Öljy-Äijät Oy", "country": "FI", "overrides": {}}
    )
    assert cleared.status_code == 200, cleared.text
    assert "overrides" not in cleared.json()["data"]
    assert "overrides" not in portal.get(f"/clients/{client['id']}").json()["data"]


def test_missing_clients_are_404(portal: httpx.Client) -> None:
    for response in (
        portal.get("/clients/999"),
        portal.patch("/clients/999", json={"name": "X", "country": "FI"}),
        portal.delete("/clients/999"),
        portal.get("/clients/999/models"),
        portal.get("/clients/999/connection"),
    ):
        assert_error(response, 404)


def test_delete_answers_200_with_the_id(portal: httpx.Client) -> None:
    client = create(portal)
    response = portal.delete(f"/clients/{client['id']}")
    assert response.status_code == 200
    assert kinds(response.json()) == kinds(real("client_delete_200.json"))
    assert response.json() == {"data": {"id": client["id"]}}
    assert_error(portal.get(f"/clients/{client['id']}"), 404)


# ---- the list ----


def test_list_items_are_the_reduced_record(portal: httpx.Client) -> None:
    create(portal, teams=[1], overrides={"vatDeductionPercent": 40}, accountingSystemCompanyId="7")
    page = portal.get("/clients").json()
    assert set(page) == {"count", "data"}
    (item,) = page["data"]
    assert set(item) <= LIST_ITEM_FIELDS
    assert set(real("clients_page.json")["data"][0]) == LIST_ITEM_FIELDS
    assert item["businessId"] == "FI29256309" and item["organization"]


def test_list_pages_of_at_most_fifty_and_ignores_a_business_id_filter(sandbox: SandboxFactory) -> None:
    seeded = [{"businessId": b, "name": f"Asiakas {n} Oy"} for n, b in enumerate(business_ids(120))]
    running = sandbox({"portal": {"apiKeys": [PORTAL_KEY], "clients": seeded}})
    with portal_client(running) as portal:
        pages = [portal.get("/clients", params={"page": n, "limit": 50}).json()["data"] for n in (1, 2, 3, 4)]
        assert [len(page) for page in pages] == [50, 50, 20, 0]
        assert len({item["id"] for page in pages for item in page}) == 120
        filtered = portal.get("/clients", params={"businessId": "FI10000000"}).json()["data"]
        assert len(filtered) == 50  # no such filter in the public API: the parameter is ignored
        assert_error(portal.get("/clients", params={"limit": 51}), 400)
        assert_error(portal.get("/clients", params={"page": 0}), 400)


# ---- teams, dimensions, models ----


def test_teams_in_the_real_shape_and_their_clients(portal: httpx.Client) -> None:
    client = create(portal, teams=[2])
    page = portal.get("/teams").json()
    assert set(page) == set(real("teams_page.json"))
    north, south = page["data"]
    assert (north["name"], south["name"]) == ("Team North", "Team South")
    assert set(south) == set(real("team.json")["data"]) and south["clients"] == [client["id"]]
    replaced = portal.put("/teams/1", json={"name": "Team North", "clients": [client["id"]]}).json()["data"]
    assert replaced["clients"] == [client["id"]]
    assert sorted(portal.get(f"/clients/{client['id']}").json()["data"]["teams"]) == [1, 2]
    made = portal.post("/teams", json={"name": "Team East"})
    assert made.status_code == 200 and made.json()["data"]["id"] == 3


def test_connecting_starts_training_and_reads_the_dimensions(
    example: RunningSandbox, portal: httpx.Client
) -> None:
    client = create(portal)
    models = portal.get(f"/clients/{client['id']}/models").json()
    assert models == {"count": 0, "data": []}
    assert portal.get(f"/clients/{client['id']}/dimensions").json()["data"] == []
    connect(portal, client["id"])
    models = portal.get(f"/clients/{client['id']}/models").json()["data"]
    assert [(m["label"], m["status"]) for m in models] == [("ACCOUNT", "PENDING")]
    assert set(models[0]) <= set(real("client_models_page.json")["data"][0])
    dimensions = portal.get(f"/clients/{client['id']}/dimensions").json()
    assert set(dimensions) == set(real("client_dimensions.json"))
    # Read from the ERP company of the same business ID (example scenario: Öljy-Äijät Oy in Procountor).
    assert [d["name"] for d in dimensions["data"]] == ["Kustannuspaikka", "Projekti"]
    assert all(isinstance(d["id"], str) for d in dimensions["data"])
    admin = f"{example.url}/admin/portal/clients/{client['id']}/training"
    assert httpx.put(admin, json={"status": "DEPLOYED"}).json() == {"data": {"models": 1}}
    assert portal.get(f"/clients/{client['id']}/models").json()["data"][0]["status"] == "DEPLOYED"
    assert httpx.put(admin, json={"status": "DONE"}).status_code == 400


def test_models_train_through_pending_running_deployed(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    example_scenario["portal"]["trainingSeconds"] = 0.6
    running = sandbox(example_scenario)
    with portal_client(running) as portal:
        client = create(portal)
        connect(portal, client["id"])
        seen: list[str] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (not seen or seen[-1] != "DEPLOYED"):
            status = portal.get(f"/clients/{client['id']}/models").json()["data"][0]["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            time.sleep(0.05)
    assert seen == ["PENDING", "RUNNING", "DEPLOYED"]


def test_dimension_models_are_ordered_once_the_dimensions_are_read(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    example_scenario["portal"]["dimensionsReadSeconds"] = 3600
    running = sandbox(example_scenario)
    with portal_client(running) as portal:
        client = create(portal)
        connect(portal, client["id"])
        assert portal.get(f"/clients/{client['id']}/dimensions").json()["data"] == []
        order = {"label": "DIMENSION", "dimensionId": "29256309001"}
        assert "dimension" in assert_error(portal.post(f"/clients/{client['id']}/models", json=order), 400)
        httpx.post(f"{running.url}/admin/portal/clients/{client['id']}/dimensions").raise_for_status()
        (dimension, *_) = portal.get(f"/clients/{client['id']}/dimensions").json()["data"]
        made = portal.post(f"/clients/{client['id']}/models", json={**order, "dimensionId": dimension["id"]})
        assert made.status_code == 201
        assert kinds(made.json()) == kinds(real("model_create_201.json"))
        assert "dimensionId" in assert_error(
            portal.post(f"/clients/{client['id']}/models", json={"label": "DIMENSION"}), 400
        )
        model_id = made.json()["data"]["id"]
        assert portal.delete(f"/clients/{client['id']}/models/{model_id}").json() == {
            "data": {"id": model_id}
        }


# ---- the connection extension ----


def test_connection_lifecycle_never_returns_credentials(
    example: RunningSandbox, portal: httpx.Client
) -> None:
    client = create(portal)
    assert portal.get(f"/clients/{client['id']}/connection").json() == {"data": None}
    connection = connect(portal, client["id"])
    held = portal.get(f"/clients/{client['id']}/connection").json()["data"]
    assert held == connection and "credentials" not in held and CREDENTIALS["apiKey"] not in json.dumps(held)
    rotated = portal.patch(
        f"/clients/{client['id']}/connection/{connection['id']}", json={"credentials": NEW_CREDENTIALS}
    )
    assert rotated.status_code == 200 and rotated.json()["data"]["credentialsRotatedAt"]
    assert example.admin.credentials_fingerprint(client["id"]) == example.admin.fingerprint(NEW_CREDENTIALS)
    for secret in (CREDENTIALS["apiKey"], NEW_CREDENTIALS["apiKey"]):
        assert secret not in rotated.text and secret not in json.dumps(example.admin.stats())


def test_a_replaced_connection_is_gone(portal: httpx.Client) -> None:
    client = create(portal)
    old = connect(portal, client["id"])
    new = connect(portal, client["id"], NEW_CREDENTIALS)
    assert new["id"] != old["id"]
    base = f"/clients/{client['id']}/connection/{old['id']}"
    assert_error(portal.patch(base, json={"credentials": CREDENTIALS}), 404)
    assert_error(portal.delete(base), 404)
    assert portal.get(f"/clients/{client['id']}/connection").json()["data"]["id"] == new["id"]


def test_disconnect_answers_like_a_public_delete(portal: httpx.Client) -> None:
    client = create(portal)
    connection = connect(portal, client["id"])
    response = portal.delete(f"/clients/{client['id']}/connection/{connection['id']}")
    assert response.status_code == 200 and response.json() == {"data": {"id": connection["id"]}}
    assert portal.get(f"/clients/{client['id']}/connection").json() == {"data": None}


@pytest.mark.parametrize(
    "body",
    [
        {"system": "fennoa", "erpCompanyId": "1", "credentials": CREDENTIALS},
        {"system": "procountor", "erpCompanyId": "", "credentials": CREDENTIALS},
        {"system": "procountor", "erpCompanyId": "1", "credentials": {}},
        {"system": "procountor", "erpCompanyId": "1", "credentials": CREDENTIALS, "extra": 1},
    ],
)
def test_connection_validates(portal: httpx.Client, body: dict[str, Any]) -> None:
    client = create(portal)
    assert_error(portal.put(f"/clients/{client['id']}/connection", json=body), 400)


# ---- scenario ----


def test_scenario_seeds_clients_and_teams(sandbox: SandboxFactory) -> None:
    scenario = {
        "portal": {
            "apiKeys": [PORTAL_KEY],
            "teams": ["A", "B"],
            "clients": [
                {"name": "Vanha Oy", "businessId": "2358253-3", "teams": ["B"], "status": "INACTIVE"}
            ],
        }
    }
    running = sandbox(scenario)
    with portal_client(running) as portal:
        (item,) = portal.get("/clients").json()["data"]
        assert (item["businessId"], item["status"], item["system"]) == ("FI23582533", "INACTIVE", "ai-inside")
        assert portal.get(f"/clients/{item['id']}").json()["data"]["teams"] == [2]


# ---- an independent client of the public API ----


class PublicApiClient:
    """Written from FabricAI's public OpenAPI only (operation names, paths, bodies as it documents them),
    the way a generated client calls it; nothing here knows the sandbox or the provider."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=10
        )

    def get_clients(self, page: int = 1, limit: int = 50, **query: Any) -> dict[str, Any]:
        response = self.http.get(
            "/clients", params={"page": page, "limit": limit, "order": "asc", "orderBy": "id", **query}
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def create_client(self, client: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post("/clients", json=client)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def get_client(self, client_id: int) -> dict[str, Any]:
        response = self.http.get(f"/clients/{client_id}")
        response.raise_for_status()
        data: dict[str, Any] = response.json()["data"]
        return data

    def update_client(self, client_id: int, client: dict[str, Any]) -> dict[str, Any]:
        response = self.http.patch(f"/clients/{client_id}", json=client)
        response.raise_for_status()
        data: dict[str, Any] = response.json()["data"]
        return data

    def delete_client(self, client_id: int) -> dict[str, Any]:
        response = self.http.delete(f"/clients/{client_id}")
        response.raise_for_status()
        data: dict[str, Any] = response.json()["data"]
        return data

    def get_teams(self) -> list[dict[str, Any]]:
        response = self.http.get("/teams")
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    def get_client_dimensions(self, client_id: int) -> list[dict[str, Any]]:
        response = self.http.get(f"/clients/{client_id}/dimensions")
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()["data"] or []
        return data

    def get_prediction_models(self, client_id: int) -> list[dict[str, Any]]:
        response = self.http.get(f"/clients/{client_id}/models")
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    def create_prediction_model(self, client_id: int, request: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(f"/clients/{client_id}/models", json=request)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data


def test_an_independent_public_api_client_works_unchanged(example: RunningSandbox) -> None:
    api = PublicApiClient(example.service_url("portal"), PORTAL_KEY)
    teams = {team["name"]: team["id"] for team in api.get_teams()}
    created = api.create_client(
        {
            "name": "Öljy-Äijät Oy",
            "country": "FI",
            "businessId": "FI29256309",
            "serviceTemplate": "BACKGROUND_PROCESS",
            "industryCode": "4120",
            "teams": [teams["Team North"]],
            "tags": {"source": "integration"},
        }
    )
    # Read, change and send back the whole object, read-only fields and all, as generated clients do.
    record = api.get_client(created["id"])
    record["name"] = "Öljy-Äijät Oyj"
    record["status"] = "INACTIVE"
    updated = api.update_client(created["id"], record)
    assert (updated["name"], updated["status"], updated["system"]) == (
        "Öljy-Äijät Oyj",
        "INACTIVE",
        "ai-inside",
    )
    page = api.get_clients(name=["Öljy"], tags=["source:integration"])  # filters it does not need here
    assert [item["id"] for item in page["data"]] == [created["id"]]
    assert api.get_prediction_models(created["id"]) == []
    assert api.get_client_dimensions(created["id"]) == []
    with portal_client(example) as portal:  # the firm connects the ERP (the extension)
        connect(portal, created["id"])
    (dimension, *_) = api.get_client_dimensions(created["id"])
    model = api.create_prediction_model(
        created["id"], {"label": "DIMENSION", "dimensionId": dimension["id"], "priority": 1}
    )
    assert model["status"] == "PENDING" and model["dimensionId"] == dimension["id"]
    assert {m["label"] for m in api.get_prediction_models(created["id"])} == {"ACCOUNT", "DIMENSION"}
    assert api.delete_client(created["id"]) == {"id": created["id"]}


def test_a_portal_without_the_extension_answers_404_on_its_routes(sandbox: SandboxFactory) -> None:
    running = sandbox({"portal": {"apiKeys": [PORTAL_KEY], "connectionExtension": False}})
    with portal_client(running) as portal:
        client = create(portal)
        body = {"system": "procountor", "erpCompanyId": "101", "credentials": CREDENTIALS}
        assert_error(portal.put(f"/clients/{client['id']}/connection", json=body), 404)
        assert_error(portal.get(f"/clients/{client['id']}/connection"), 404)
        assert_error(portal.delete(f"/clients/{client['id']}/connection/conn_1"), 404)
        assert portal.get(f"/clients/{client['id']}").status_code == 200
