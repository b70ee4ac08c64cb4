"""Client objects embed a summary of their connection, so one page of clients serves a whole refresh."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.server import RunningSandbox
from tests.sandbox.conftest import business_ids

SECRET_CREDENTIALS = {"apiKey": "FAKE-summary-secret-key"}
SUMMARY_KEYS = {"id", "system", "erpCompanyId", "status", "connectedAt", "credentialsRotatedAt"}


def _client(portal: httpx.Client, business_id: str) -> dict[str, Any]:
    response = portal.post("/clients", json={"name": "Yhteys Oy", "businessId": business_id})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["data"]
    return created


def test_a_client_without_connection_says_so(portal: httpx.Client) -> None:
    created = _client(portal, "2925630-9")
    assert created["connection"] is None
    assert portal.get(f"/clients/{created['id']}").json()["data"]["connection"] is None


def test_single_gets_and_list_pages_embed_the_connection_without_credentials(
    example: RunningSandbox, portal: httpx.Client
) -> None:
    ids = [_client(portal, business_id)["id"] for business_id in business_ids(3)]
    put = portal.put(
        f"/clients/{ids[1]}/connection",
        json={"system": "procountor", "erpCompanyId": "101", "credentials": SECRET_CREDENTIALS},
    )
    connection = put.json()["data"]
    rotated = portal.patch(
        f"/clients/{ids[1]}/connection/{connection['id']}", json={"credentials": {"apiKey": "FAKE-2"}}
    ).json()["data"]

    single = portal.get(f"/clients/{ids[1]}")
    page = portal.get("/clients", params={"limit": 50})
    for text in (single.text, page.text):
        assert SECRET_CREDENTIALS["apiKey"] not in text
        assert 'credentials"' not in text
    summary = single.json()["data"]["connection"]
    assert set(summary) == SUMMARY_KEYS
    assert summary == rotated
    listed = {client["id"]: client["connection"] for client in page.json()["data"]}
    assert listed == {ids[0]: None, ids[1]: rotated, ids[2]: None}


def test_the_summary_follows_replacement_and_disconnection(portal: httpx.Client) -> None:
    client_id = _client(portal, "2925630-9")["id"]
    body = {"system": "netvisor", "erpCompanyId": "2925630-9", "credentials": {"customerId": "c"}}
    first = portal.put(f"/clients/{client_id}/connection", json=body).json()["data"]
    second = portal.put(f"/clients/{client_id}/connection", json=body).json()["data"]
    assert (
        portal.get(f"/clients/{client_id}").json()["data"]["connection"]["id"] == second["id"] != first["id"]
    )
    assert portal.delete(f"/clients/{client_id}/connection/{second['id']}").status_code == 204
    assert portal.get(f"/clients/{client_id}").json()["data"]["connection"] is None
