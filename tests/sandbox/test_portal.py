"""Conformance of the sandbox's portal service, driven with plain httpx from the portal API of DESIGN.md."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx
import pytest

from sandbox.server import RunningSandbox
from tests.conftest import SandboxFactory
from tests.sandbox.conftest import PORTAL_KEY, PORTAL_KEY_2, bearer, business_ids, portal_client

CREDENTIALS = {"apiKey": "FAKE-secret-procountor-key-1"}
NEW_CREDENTIALS = {"apiKey": "FAKE-secret-procountor-key-2"}


def create(portal: httpx.Client, business_id: str = "2925630-9", **fields: Any) -> dict[str, Any]:
    response = portal.post("/clients", json={"name": "Öljy-Äijät Oy", "businessId": business_id, **fields})
    assert response.status_code == 201, response.text
    client: dict[str, Any] = response.json()["data"]
    return client


def connect(
    portal: httpx.Client, client_id: int, credentials: dict[str, str] = CREDENTIALS
) -> dict[str, Any]:
    body = {"system": "procountor", "erpCompanyId": "101", "credentials": credentials}
    response = portal.put(f"/clients/{client_id}/connection", json=body)
    assert response.status_code == 201, response.text
    assert "credentials" not in response.json()["data"]
    connection: dict[str, Any] = response.json()["data"]
    return connection


def assert_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert isinstance(message, str) and message
    return message


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
        assert httpx.get(f"{example.service_url('portal')}/clients", headers=bearer(key)).status_code == 200


# ---- clients ----


def test_create_answers_the_client_in_an_envelope(portal: httpx.Client) -> None:
    client = create(
        portal,
        process="alternative-with-circulation",
        vat={"mode": "partial", "deductionPercent": 40},
        dimensions=["Kustannuspaikka"],
        favorite=True,
        teams=["Team North"],
        tags={"owner": "anna"},
    )
    assert isinstance(client["id"], int)
    assert client["name"] == "Öljy-Äijät Oy"
    assert client["businessId"] == "2925630-9"
    assert client["vatNumber"] == "FI29256309"
    assert client["country"] == "FI"
    assert client["process"] == "alternative-with-circulation"
    assert client["vat"] == {"mode": "partial", "deductionPercent": 40}
    assert client["dimensions"] == ["Kustannuspaikka"]
    assert client["favorite"] is True
    assert client["teams"] == ["Team North"]
    assert client["tags"] == {"owner": "anna"}
    assert client["status"] == "PENDING_CONNECTION"
    assert client["system"] is None
    assert client["createdAt"].endswith("Z") and client["updatedAt"].endswith("Z")
    assert portal.get(f"/clients/{client['id']}").json() == {"data": client}


def test_create_defaults(portal: httpx.Client) -> None:
    client = create(portal)
    assert client["process"] == "standard"
    assert client["vat"] == {"mode": "standard", "deductionPercent": None}
    assert (client["dimensions"], client["favorite"], client["teams"], client["tags"]) == ([], False, [], {})


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"businessId": "2925630-8"}, "businessId"),
        ({"businessId": "1234567"}, "businessId"),
        ({"name": ""}, "name"),
        ({"process": "magic"}, "process"),
        ({"vat": {"mode": "partial"}}, "deductionPercent"),
        ({"vat": {"mode": "exempt", "deductionPercent": 20}}, "deductionPercent"),
        ({"favorite": "yes"}, "favorite"),
        ({"tags": {"a": 1}}, "tags"),
        ({"unknownField": 1}, "unknownField"),
        ({"status": "PRODUCTION"}, "status"),
    ],
)
def test_create_validates_fields(portal: httpx.Client, fields: dict[str, Any], mentions: str) -> None:
    body = {"name": "Öljy-Äijät Oy", "businessId": "2925630-9", **fields}
    message = assert_error(portal.post("/clients", json=body), 400)
    assert mentions in message


def test_create_needs_a_json_object(portal: httpx.Client) -> None:
    assert_error(
        portal.post("/clients", content=b"not json", headers={"Content-Type": "application/json"}), 400
    )
    assert_error(portal.post("/clients", json=["a"]), 400)
    assert_error(portal.post("/clients", json={"businessId": "2925630-9"}), 400)


def test_the_first_registration_of_a_business_id_counts(portal: httpx.Client) -> None:
    first = create(portal)
    for business_id in ("2925630-9", "FI29256309"):
        response = portal.post("/clients", json={"name": "Toinen Nimi Oy", "businessId": business_id})
        assert_error(response, 409)
        assert response.json()["id"] == first["id"]
    assert portal.get(f"/clients/{first['id']}").json()["data"]["name"] == "Öljy-Äijät Oy"
    assert portal.get("/clients").json()["count"] == 1


def test_list_pages(portal: httpx.Client) -> None:
    ids = [create(portal, business_id)["id"] for business_id in business_ids(7)]
    pages = [portal.get("/clients", params={"page": page, "limit": 3}).json() for page in (1, 2, 3, 4)]
    assert [page["count"] for page in pages] == [7, 7, 7, 7]
    assert [client["id"] for page in pages for client in page["data"]] == ids
    assert [len(page["data"]) for page in pages] == [3, 3, 1, 0]
    assert len(portal.get("/clients").json()["data"]) == 7


@pytest.mark.parametrize("params", [{"limit": 51}, {"limit": 0}, {"page": 0}, {"page": "x"}])
def test_list_rejects_bad_paging(portal: httpx.Client, params: dict[str, Any]) -> None:
    assert_error(portal.get("/clients", params=params), 400)


def test_list_filters_by_business_id_in_both_forms(portal: httpx.Client) -> None:
    create(portal, "1572860-0")
    wanted = create(portal, "2925630-9")
    for form in ("2925630-9", "FI29256309"):
        page = portal.get("/clients", params={"businessId": form}).json()
        assert page == {"count": 1, "data": [wanted]}
    assert portal.get("/clients", params={"businessId": "2077474-0"}).json() == {"count": 0, "data": []}
    assert_error(portal.get("/clients", params={"businessId": "2925630-8"}), 400)


def test_patch_is_partial(portal: httpx.Client) -> None:
    client = create(portal, teams=["Team North"], favorite=True)
    response = portal.patch(
        f"/clients/{client['id']}", json={"process": "background", "vat": {"mode": "exempt"}}
    )
    assert response.status_code == 200
    patched = response.json()["data"]
    assert patched["process"] == "background"
    assert patched["vat"] == {"mode": "exempt", "deductionPercent": None}
    assert patched["teams"] == ["Team North"] and patched["favorite"] is True
    assert patched["name"] == client["name"]


@pytest.mark.parametrize(
    "body",
    [{"businessId": "1572860-0"}, {"name": None}, {"status": "PRODUCTION"}, {"process": "x"}],
    ids=["business-id", "null", "status", "process"],
)
def test_patch_validates(portal: httpx.Client, body: dict[str, Any]) -> None:
    client = create(portal)
    assert_error(portal.patch(f"/clients/{client['id']}", json=body), 400)


def test_missing_clients_are_404(portal: httpx.Client) -> None:
    for response in (
        portal.get("/clients/999"),
        portal.patch("/clients/999", json={"favorite": True}),
        portal.delete("/clients/999"),
        portal.get("/clients/999/connection"),
        portal.put(
            "/clients/999/connection",
            json={"system": "netvisor", "erpCompanyId": "1", "credentials": {"a": "b"}},
        ),
    ):
        assert_error(response, 404)


def test_delete_client(portal: httpx.Client) -> None:
    client = create(portal)
    connect(portal, client["id"])
    assert portal.delete(f"/clients/{client['id']}").status_code == 204
    assert_error(portal.get(f"/clients/{client['id']}"), 404)
    assert_error(portal.delete(f"/clients/{client['id']}"), 404)
    create(portal)  # the business ID can be registered again


def test_scenario_seeds_clients(sandbox: SandboxFactory) -> None:
    running = sandbox(
        {"portal": {"apiKeys": [PORTAL_KEY], "clients": [{"name": "Vanha Oy", "businessId": "FI15728600"}]}}
    )
    with portal_client(running) as portal:
        page = portal.get("/clients").json()
    assert page["count"] == 1
    assert page["data"][0]["businessId"] == "1572860-0"
    assert page["data"][0]["status"] == "PENDING_CONNECTION"


# ---- status ----


def test_status_progresses_from_pending_to_training_to_production(sandbox: SandboxFactory) -> None:
    running = sandbox({"portal": {"apiKeys": [PORTAL_KEY], "trainingSeconds": 0.3}})
    with portal_client(running) as portal:
        client = create(portal)
        assert client["status"] == "PENDING_CONNECTION"
        connect(portal, client["id"])
        training = portal.get(f"/clients/{client['id']}").json()["data"]
        assert (training["status"], training["system"]) == ("TRAINING", "procountor")
        time.sleep(0.35)
        assert portal.get(f"/clients/{client['id']}").json()["data"]["status"] == "PRODUCTION"
        inactive = portal.patch(f"/clients/{client['id']}", json={"status": "INACTIVE"}).json()["data"]
        assert inactive["status"] == "INACTIVE"


def test_replacing_a_connection_does_not_restart_training(portal: httpx.Client) -> None:
    client = create(portal)
    connect(portal, client["id"])
    body = {"system": "netvisor", "erpCompanyId": "2925630-9", "credentials": {"customerId": "x"}}
    assert portal.put(f"/clients/{client['id']}/connection", json=body).status_code == 201
    current = portal.get(f"/clients/{client['id']}").json()["data"]
    assert (current["status"], current["system"]) == ("TRAINING", "netvisor")


# ---- connections ----


def test_connection_lifecycle_never_returns_credentials(
    example: RunningSandbox, portal: httpx.Client
) -> None:
    client = create(portal)
    seen: list[str] = []
    first = connect(portal, client["id"])
    assert isinstance(first["id"], str) and first["id"]
    assert first["system"] == "procountor" and first["erpCompanyId"] == "101" and first["status"] == "ACTIVE"
    assert first["connectedAt"].endswith("Z") and first["credentialsRotatedAt"] is None

    got = portal.get(f"/clients/{client['id']}/connection")
    seen.append(got.text)
    assert got.json()["data"] == first

    rotated = portal.patch(
        f"/clients/{client['id']}/connection/{first['id']}", json={"credentials": NEW_CREDENTIALS}
    )
    seen.append(rotated.text)
    assert rotated.status_code == 200
    assert rotated.json()["data"]["id"] == first["id"]
    assert rotated.json()["data"]["credentialsRotatedAt"] is not None
    seen.append(portal.get(f"/clients/{client['id']}").text)
    seen.append(portal.get("/clients").text)
    for text in seen:
        assert "FAKE-secret" not in text
        assert 'credentials"' not in text.replace("credentialsRotatedAt", "")

    admin_view = example.admin.portal_connection(client["id"])
    assert admin_view is not None
    canonical = json.dumps(NEW_CREDENTIALS, sort_keys=True, separators=(",", ":"))
    assert admin_view["credentialsFingerprint"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert "FAKE-secret" not in json.dumps(admin_view)


def test_a_replaced_connection_is_gone(example: RunningSandbox, portal: httpx.Client) -> None:
    client = create(portal)
    old = connect(portal, client["id"])
    new = connect(portal, client["id"], NEW_CREDENTIALS)
    assert new["id"] != old["id"]
    old_path = f"/clients/{client['id']}/connection/{old['id']}"
    assert_error(portal.patch(old_path, json={"credentials": CREDENTIALS}), 404)
    assert_error(portal.delete(old_path), 404)
    assert portal.get(f"/clients/{client['id']}/connection").json()["data"]["id"] == new["id"]
    assert example.admin.credentials_fingerprint(client["id"]) == example.admin.fingerprint(NEW_CREDENTIALS)


def test_disconnect(portal: httpx.Client) -> None:
    client = create(portal)
    connection = connect(portal, client["id"])
    path = f"/clients/{client['id']}/connection/{connection['id']}"
    assert portal.delete(path).status_code == 204
    assert_error(portal.get(f"/clients/{client['id']}/connection"), 404)
    assert_error(portal.delete(path), 404)
    after = portal.get(f"/clients/{client['id']}").json()["data"]
    assert (after["status"], after["system"]) == ("PENDING_CONNECTION", None)


@pytest.mark.parametrize(
    "body",
    [
        {"system": "fennoa", "erpCompanyId": "1", "credentials": {"a": "b"}},
        {"system": "procountor", "erpCompanyId": "", "credentials": {"a": "b"}},
        {"system": "procountor", "erpCompanyId": "1", "credentials": {}},
        {"system": "procountor", "erpCompanyId": "1", "credentials": "FAKE-secret-as-string"},
        {"system": "procountor", "erpCompanyId": "1"},
    ],
    ids=["system", "company", "empty-credentials", "string-credentials", "no-credentials"],
)
def test_connection_validates(portal: httpx.Client, body: dict[str, Any]) -> None:
    client = create(portal)
    message = assert_error(portal.put(f"/clients/{client['id']}/connection", json=body), 400)
    assert "FAKE-secret" not in message
