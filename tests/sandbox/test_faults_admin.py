"""Fault injection, /admin, persistence, the scenario format and the `python -m sandbox` command."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.scenario import EXAMPLE_SCENARIO_PATH, ScenarioError, parse_scenario
from sandbox.server import RunningSandbox, run_in_thread
from tests.conftest import SandboxFactory
from tests.sandbox.conftest import HEALTHY_KEY, PORTAL_KEY, bearer, portal_client, request_token

REPO = EXAMPLE_SCENARIO_PATH.parents[1]


def _clients_url(running: RunningSandbox) -> str:
    return f"{running.service_url('portal')}/clients"


# ---- faults ----


def test_latency_is_added(example: RunningSandbox) -> None:
    example.admin.set_faults("portal", latencyMs=120)
    started = time.perf_counter()
    httpx.get(_clients_url(example), headers=bearer(PORTAL_KEY))
    assert time.perf_counter() - started >= 0.1


@pytest.mark.parametrize("status", [503, 502, 500])
def test_error_rate_answers_5xx_before_processing(example: RunningSandbox, status: int) -> None:
    example.admin.set_faults("portal", errorRate=1, errorStatus=status)
    with portal_client(example) as portal:
        response = portal.post(
            "/clients", json={"name": "Öljy-Äijät Oy", "businessId": "FI29256309", "country": "FI"}
        )
        assert response.status_code == status
        example.admin.clear_faults("portal")
        assert portal.get("/clients").json()["count"] == 0


def test_rate_limit_rate_answers_429_with_retry_after(example: RunningSandbox) -> None:
    example.admin.set_faults("procountor", rateLimitRate=1, retryAfterSeconds=7)
    response = request_token(example.service_url("procountor"), HEALTHY_KEY)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert example.admin.stats()["faults"]["procountor"]["injected"] == {"rateLimit": 1}


def test_a_429_can_come_without_retry_after(example: RunningSandbox) -> None:
    example.admin.set_faults("portal", rateLimitRate=1, retryAfterSeconds=None)
    response = httpx.get(_clients_url(example), headers=bearer(PORTAL_KEY))
    assert response.status_code == 429 and "Retry-After" not in response.headers


def test_a_late_answer_comes_after_the_write_was_made(example: RunningSandbox) -> None:
    """A client that gives up before the answer never learns that its registration happened."""
    example.admin.set_faults("portal", answerDelayMs=600)
    with portal_client(example) as portal:
        with pytest.raises(httpx.ReadTimeout):
            portal.post(
                "/clients",
                json={"name": "Öljy-Äijät Oy", "businessId": "FI29256309", "country": "FI"},
                timeout=0.2,
            )
        example.admin.clear_faults("portal")
        assert portal.get("/clients").json()["count"] == 1
    example.admin.set_faults("portal", answerDelayMs=150)
    started = time.perf_counter()
    answer = httpx.get(_clients_url(example), headers=bearer(PORTAL_KEY))
    assert answer.status_code == 200 and time.perf_counter() - started >= 0.14


def test_dropped_get_breaks_the_response(example: RunningSandbox) -> None:
    example.admin.set_faults("portal", dropRate=1)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(_clients_url(example), headers=bearer(PORTAL_KEY))


def test_dropped_write_is_processed_but_unanswered(example: RunningSandbox) -> None:
    example.admin.set_faults("portal", dropRate=1)
    with portal_client(example) as portal:
        with pytest.raises(httpx.RemoteProtocolError):
            portal.post(
                "/clients", json={"name": "Öljy-Äijät Oy", "businessId": "FI29256309", "country": "FI"}
            )
        example.admin.clear_faults("portal")
        assert portal.get("/clients").json()["count"] == 1


def _statuses(running: RunningSandbox, count: int) -> list[int]:
    return [httpx.get(_clients_url(running), headers=bearer(PORTAL_KEY)).status_code for _ in range(count)]


def test_seeded_faults_repeat(example: RunningSandbox) -> None:
    example.admin.set_faults("portal", errorRate=0.5, seed=42)
    first = _statuses(example, 16)
    example.admin.set_faults("portal", errorRate=0.5, seed=42)
    assert _statuses(example, 16) == first
    assert set(first) == {200, 503}


def test_faults_come_from_the_scenario_and_reset_restores_them(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    example_scenario["faults"] = {"portal": {"errorRate": 1, "errorStatus": 502}}
    running = sandbox(example_scenario)
    assert _statuses(running, 1) == [502]
    running.admin.clear_faults("portal")
    assert _statuses(running, 1) == [200]
    running.admin.reset()
    assert running.admin.faults()["portal"]["settings"]["errorStatus"] == 502
    assert _statuses(running, 1) == [502]


def test_faults_never_apply_to_admin(example: RunningSandbox) -> None:
    for service in ("portal", "procountor", "netvisor"):
        example.admin.set_faults(service, errorRate=1)
    assert set(example.admin.stats()["services"]) == {"portal", "procountor", "netvisor"}
    example.admin.reset()
    assert _statuses(example, 1) == [200]


def test_admin_refuses_bad_fault_settings(example: RunningSandbox) -> None:
    base = f"{example.url}/admin/faults"
    assert httpx.put(f"{base}/nosuch", json={}).status_code == 404
    assert httpx.put(f"{base}/portal", json={"errorRate": 2}).status_code == 400
    assert httpx.put(f"{base}/portal", json={"typo": 1}).status_code == 400


# ---- admin stats and reset ----


def test_stats_count_requests_per_service_and_path(example: RunningSandbox) -> None:
    example.admin.set_faults("portal", errorRate=1)
    _statuses(example, 2)
    request_token(example.service_url("procountor"), HEALTHY_KEY)
    stats = example.admin.stats()
    assert stats["requests"]["portal"] == {"total": 2, "byPath": {"/portal/clients": 2}}
    assert stats["requests"]["procountor"]["byPath"] == {"/procountor/api/oauth/token": 1}
    assert stats["services"]["procountor"]["tokensIssued"] == 1
    assert stats["faults"]["portal"]["injected"] == {"error": 2}


def test_reset_returns_to_the_seed(example: RunningSandbox) -> None:
    procountor = example.service_url("procountor")
    headers = bearer(request_token(procountor, HEALTHY_KEY).json()["access_token"])
    with portal_client(example) as portal:
        portal.post("/clients", json={"name": "Öljy-Äijät Oy", "businessId": "FI29256309", "country": "FI"})
        example.admin.reset()
        assert portal.get("/clients").json()["count"] == 0
        created = portal.post(
            "/clients", json={"name": "Öljy-Äijät Oy", "businessId": "FI29256309", "country": "FI"}
        )
        assert created.json()["data"]["id"] == 1
    assert httpx.get(f"{procountor}/api/company", headers=headers).status_code == 401
    assert example.admin.stats()["requests"]["procountor"]["total"] == 1


def test_admin_connection_is_404_without_one(example: RunningSandbox) -> None:
    assert example.admin.portal_connection(1) is None


# ---- persistence ----


def test_restart_with_the_same_state_keeps_portal_records(
    tmp_path: Path, example_scenario: dict[str, Any]
) -> None:
    state = tmp_path / "kept.db"
    scenario = example_scenario
    scenario["portal"]["clients"] = [{"name": "Seed Oy", "businessId": "1572860-0"}]
    key = {"apiKey": "FAKE-pc-key-oljy-aijat-1"}
    with run_in_thread(scenario, state) as first, portal_client(first) as portal:
        client = portal.post(
            "/clients", json={"name": "Öljy-Äijät Oy", "businessId": "FI29256309", "country": "FI"}
        ).json()["data"]
        put = portal.put(
            f"/clients/{client['id']}/connection", json={"system": "procountor", "credentials": key}
        )
        assert put.status_code == 201, put.text
    with run_in_thread(scenario, state) as second, portal_client(second) as portal:
        page = portal.get("/clients").json()
        assert [c["businessId"] for c in page["data"]] == [
            "FI15728600",
            "FI29256309",
        ]  # seeded once, not twice
        assert portal.get(f"/clients/{client['id']}/connection").status_code == 200
        assert second.admin.credentials_fingerprint(client["id"]) == second.admin.fingerprint(key)
    with run_in_thread(scenario, tmp_path / "new.db") as fresh, portal_client(fresh) as portal:
        assert portal.get("/clients").json()["count"] == 1


# ---- scenario format ----


@pytest.mark.parametrize(
    ("scenario", "mentions"),
    [
        ({"portal": {"apiKey": ["x"]}}, "portal.apiKey"),
        ({"procountor": {"companies": [{"id": 1, "name": "A", "businessId": "2925630-8"}]}}, "businessId"),
        (
            {
                "procountor": {
                    "companies": [
                        {
                            "id": 1,
                            "name": "A",
                            "businessId": "2925630-9",
                            "apiKeys": [{"key": "k", "clientId": "c", "userName": "nobody"}],
                        }
                    ]
                }
            },
            "nobody",
        ),
        (
            {
                "procountor": {
                    "companies": [
                        {
                            "id": 1,
                            "name": "A",
                            "businessId": "2925630-9",
                            "users": [{"userName": "u", "rightsOverrides": {"x.y": "ALL_RIGHTS"}}],
                        }
                    ]
                }
            },
            "x.y",
        ),
        ({"faults": {"portal": {"errorRate": 3}}}, "faults.portal.errorRate"),
        ({"faults": {"erp": {}}}, "faults.erp"),
    ],
)
def test_bad_scenarios_fail_readably(scenario: dict[str, Any], mentions: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(scenario)
    assert mentions in str(raised.value)


# ---- the command ----


def test_python_m_sandbox_prints_its_url_and_serves_everything(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        "0",
        "--state",
        str(tmp_path / "s.db"),
        "--scenario",
        str(EXAMPLE_SCENARIO_PATH),
    ]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline().strip()
        assert first_line.startswith("sandbox listening on http://127.0.0.1:")
        url = first_line.rsplit(" ", 1)[1]
        with httpx.Client(base_url=url, timeout=10, transport=httpx.HTTPTransport(retries=20)) as client:
            assert client.get("/portal/clients", headers=bearer(PORTAL_KEY)).status_code == 200
            form = {
                "grant_type": "client_credentials",
                "client_id": "fabricai-roster-sandbox",
                "client_secret": "FAKE-procountor-client-secret",
                "api_key": HEALTHY_KEY,
            }
            assert client.post("/procountor/api/oauth/token", data=form).status_code == 200
            client.get("/netvisor/")
            requests = client.get("/admin/stats").json()["requests"]
            assert {name: counts["total"] for name, counts in requests.items()} == {
                "portal": 1,
                "procountor": 1,
                "netvisor": 1,
            }
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_python_m_sandbox_reports_a_bad_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("portal:\n  trainingSecs: 5\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            "0",
            "--scenario",
            str(bad),
            "--state",
            str(tmp_path / "s.db"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "portal.trainingSecs" in result.stderr
    assert "Traceback" not in result.stderr


def _sandbox_command(state: Path, scenario: Path = EXAMPLE_SCENARIO_PATH) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        "0",
        "--scenario",
        str(scenario),
        "--state",
        str(state),
    ]


def test_python_m_sandbox_creates_the_state_files_folder(tmp_path: Path) -> None:
    state = tmp_path / "fresh-clone" / ".work" / "sandbox.sqlite3"
    process = subprocess.Popen(
        _sandbox_command(state), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("sandbox listening on http://127.0.0.1:")
        assert state.is_file()
    finally:
        process.terminate()
        process.communicate(timeout=10)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("a-file/state.sqlite3", "cannot create sandbox state file"),
        ("not-sqlite.sqlite3", "cannot open sandbox state file"),
    ],
)
def test_python_m_sandbox_reports_an_unusable_state_file_in_one_line(
    tmp_path: Path, state: str, expected: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    (tmp_path / "not-sqlite.sqlite3").write_text("not a database " * 100, encoding="utf-8")
    result = subprocess.run(
        _sandbox_command(tmp_path / state), cwd=REPO, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(expected)
    assert str(tmp_path / state) in result.stderr


def test_python_m_sandbox_reports_a_missing_scenario_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-scenario.yaml"
    result = subprocess.run(
        _sandbox_command(tmp_path / "s.db", missing),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"cannot read sandbox scenario {missing}: No such file or directory\n"


def test_python_m_sandbox_on_a_busy_port_says_so_and_leaves_no_state(tmp_path: Path) -> None:
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    state = tmp_path / "state.sqlite3"
    command = _sandbox_command(state)
    command[command.index("--port") + 1] = str(port)
    try:
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=30, check=False)
    finally:
        busy.close()
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"cannot listen on 127.0.0.1:{port}")
    assert not state.exists()


@pytest.mark.parametrize("suffix", ["connection", "dimensions", "training"])
def test_admin_portal_ids_beyond_any_id_are_404_not_500(example: RunningSandbox, suffix: str) -> None:
    method = {"connection": "GET", "dimensions": "POST", "training": "PUT"}[suffix]
    response = httpx.request(
        method, f"{example.url}/admin/portal/clients/{'9' * 20}/{suffix}", json={"status": "DEPLOYED"}
    )
    assert response.status_code == 404, response.text
    assert set(response.json()) == {"error"}


def test_a_state_file_from_before_verifications_keeps_its_connections(
    tmp_path: Path, example_scenario: dict[str, Any]
) -> None:
    """A connection stored before connections kept a verification reads back with ``verification: null``."""
    import sqlite3

    state = tmp_path / "old.db"
    with sqlite3.connect(state) as old:
        old.executescript(
            """
            CREATE TABLE portal_clients (id INTEGER PRIMARY KEY AUTOINCREMENT, business_id TEXT,
                name TEXT NOT NULL, country TEXT NOT NULL, system TEXT NOT NULL, status TEXT NOT NULL,
                teams TEXT NOT NULL, tags TEXT NOT NULL, overrides TEXT, extra TEXT NOT NULL,
                created_at REAL NOT NULL, updated_at REAL NOT NULL);
            CREATE TABLE portal_connections (id TEXT PRIMARY KEY, client_id INTEGER NOT NULL UNIQUE,
                system TEXT NOT NULL, erp_company_id TEXT NOT NULL, credentials TEXT NOT NULL,
                connected_at REAL NOT NULL, credentials_rotated_at REAL);
            CREATE TABLE portal_seeded (done INTEGER NOT NULL);
            INSERT INTO portal_seeded VALUES (1);
            INSERT INTO portal_clients VALUES (1, '2925630-9', 'Öljy-Äijät Oy', 'FI', 'procountor', 'ACTIVE',
                '[]', '{}', NULL, '{}', 1.0, 1.0);
            INSERT INTO portal_connections VALUES ('conn_old', 1, 'procountor', '101',
                '{"apiKey": "FAKE-pc-key-oljy-aijat-1"}', 1.0, NULL);
            """
        )
    with run_in_thread(example_scenario, state) as running, portal_client(running) as portal:
        connection = portal.get("/clients/1/connection").json()["data"]
        assert connection["id"] == "conn_old" and connection["verification"] is None
        again = portal.post("/clients/1/connection/conn_old/verify")
        assert again.status_code == 200 and again.json()["data"]["verdict"] == "PASSED"
        assert portal.get("/clients/1/connection").json()["data"]["verification"] == again.json()["data"]
