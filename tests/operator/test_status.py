"""``status`` on outputs and state captured from a real run (tests/operator/fixtures/), edited per test."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from provider.cli.status import client_statuses
from tests.operator.conftest import load_fixture, run_command

NOW = dt.datetime(2026, 11, 28, 22, 0, tzinfo=dt.UTC)


def integration(answers: dict[str, Any], name: str) -> dict[str, Any]:
    resource = next(r for r in answers["resources"] if r["urn"].endswith(f"::{name}"))
    outputs: dict[str, Any] = resource["outputs"]
    return outputs


def test_every_client_in_one_table_from_the_outputs_and_the_state(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run_command(capsys, "status")
    assert ran.code == 0, ran.err
    assert "2 clients, 0 with problems" in ran.out
    for text in ("Kahvila Kuppi Oy", "2077474-0", "Kirja-Kettu Oy", "1618033-3", "TRAINING", "unknown"):
        assert text in ran.out


def test_problems_set_the_exit_status_and_the_filters_narrow_it(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # The state (which a refresh updates) wins over the stack outputs (which only an up sets)...
    integration(fake_stack, "1618033-3-netvisor")["client_status"] = "FAILED"
    fake_stack["outputs"]["clients"]["1618033-3"]["status"] = "TRAINING"
    # ...which stay the fallback where the state says nothing (no predictions in the state here).
    fake_stack["outputs"]["clients"]["1618033-3"]["predictions"] = {"Projekti": "NOT_IN_ERP"}
    ran = run_command(capsys, "status", "--json")
    assert ran.code == 1
    rows = json.loads(ran.out)
    failed = next(row for row in rows if row["business_id"] == "1618033-3")
    assert failed["problems"] == ["stage FAILED", "Projekti predictions NOT_IN_ERP"]
    # Filtered to the healthy client only: nothing to alert on.
    ran = run_command(capsys, "status", "--json", "--erp", "procountor")
    assert ran.code == 0
    assert [row["business_id"] for row in json.loads(ran.out)] == ["2077474-0"]
    ran = run_command(capsys, "status", "--json", "--filter", "status=TRAINING")
    assert [row["business_id"] for row in json.loads(ran.out)] == ["2077474-0"]
    ran = run_command(capsys, "status", "--json", "--problems")
    assert [row["business_id"] for row in json.loads(ran.out)] == ["1618033-3"]


def test_credentials_older_than_roster_rotate_after_days_are_a_problem() -> None:
    outputs = load_fixture("stack-output.json")
    resources = load_fixture("stack-export.json")["deployment"]["resources"]
    for resource in resources:
        if resource["urn"].endswith("::2077474-0-procountor"):
            resource["outputs"]["connected_at"] = "2025-01-01T00:00:00Z"
            resource["outputs"]["credentials_rotated_at"] = "2026-06-01T08:00:00+00:00"
    # The age counts from the last rotation (from connecting, when never rotated).
    rows = {row.business_id: row for row in client_statuses(outputs, resources, 365, now=NOW)}
    assert rows["2077474-0"].age_days == 180
    assert rows["2077474-0"].problems == []
    rows = {row.business_id: row for row in client_statuses(outputs, resources, 90, now=NOW)}
    assert rows["2077474-0"].problems == ["credentials 180 days old (rotate after 90)"]
    assert rows["1618033-3"].problems == []


def test_credentials_changed_outside_the_stack_are_a_problem_for_the_nightly_status() -> None:
    """What a refresh records when the portal's credentials were changed outside the stack (a rotation whose
    answers were lost): a problem, so that `status` exits 1, not a quiet UNKNOWN."""
    outputs = load_fixture("stack-output.json")
    resources = load_fixture("stack-export.json")["deployment"]["resources"]
    for resource in resources:
        if resource["urn"].endswith("::2077474-0-procountor"):
            resource["outputs"]["erp_health"] = "CREDENTIALS_CHANGED"
    rows = {row.business_id: row for row in client_statuses(outputs, resources, None, now=NOW)}
    assert rows["2077474-0"].problems == ["ERP health: CREDENTIALS_CHANGED"]
    assert rows["1618033-3"].problems == []


def test_a_name_changed_in_the_portal_by_hand_is_a_problem_once_a_refresh_recorded_it() -> None:
    outputs = load_fixture("stack-output.json")
    resources = load_fixture("stack-export.json")["deployment"]["resources"]
    # The roster's names as the last `up` gave them (stack output rosterClients).
    outputs["rosterClients"] = {
        "2077474-0": {"name": "Kahvila Kuppi Oy", "protect": False, "retain": False},
        "1618033-3": {"name": "Kirja-Kettu Oy", "protect": False, "retain": False},
    }
    assert all(not row.problems for row in client_statuses(outputs, resources, None, now=NOW))
    for resource in resources:
        if resource["urn"].endswith("::1618033-3-company"):
            resource["outputs"]["name"] = "Renamed By Hand Oy"  # what `pulumi refresh` records
    rows = {row.business_id: row for row in client_statuses(outputs, resources, None, now=NOW)}
    assert rows["1618033-3"].problems == [
        "named 'Renamed By Hand Oy' in the portal, 'Kirja-Kettu Oy' in the roster (changed by hand? "
        "`pulumi up` puts the roster's back)"
    ]
    assert rows["2077474-0"].problems == []


def test_erp_health_is_shown_when_the_outputs_carry_it(fake_stack: dict[str, Any], capsys: Any) -> None:
    integration(fake_stack, "2077474-0-procountor")["erp_health"] = "billable interfaces are off"
    ran = run_command(capsys, "status", "--json", "--sort", "erp_health")
    rows = json.loads(ran.out)
    assert ran.code == 1
    assert [row["erp_health"] for row in rows] == ["billable interfaces are off", "unknown"]
    assert rows[0]["problems"] == ["ERP health: billable interfaces are off"]


def test_sorting_by_a_column_and_usage_errors(fake_stack: dict[str, Any], capsys: Any) -> None:
    ran = run_command(capsys, "status", "--json", "--sort", "name", "--reverse")
    assert [row["name"] for row in json.loads(ran.out)] == ["Kirja-Kettu Oy", "Kahvila Kuppi Oy"]
    ran = run_command(capsys, "status", "--sort", "colour")
    assert ran.code == 2 and "--sort 'colour': expected one of business_id, name" in ran.err
    ran = run_command(capsys, "status", "--filter", "colour=red")
    assert ran.code == 2 and "expected COLUMN=VALUE" in ran.err and "Traceback" not in ran.err
    fake_stack["config"] = {"roster:rotateAfterDays": "soon"}
    ran = run_command(capsys, "status")
    assert ran.code == 2 and "roster:rotateAfterDays" in ran.err


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def chromium() -> str | None:
    return next(
        (
            found
            for name in ("chromium", "chromium-browser", "google-chrome")
            if (found := shutil.which(name))
        ),
        None,
    )


def test_a_report_path_with_brackets_is_printed_as_it_is(
    fake_stack: dict[str, Any], capsys: Any, tmp_path: Path
) -> None:
    report = tmp_path / "report [bold]x[red].html"  # what rich would read as markup
    ran = run_command(capsys, "status", "--html", str(report))
    assert ran.code == 0, ran.err
    assert report.is_file() and f"HTML report written to {report}" in " ".join(ran.err.split())


def test_the_html_report_is_self_contained_escaped_and_renders_in_a_real_browser(
    fake_stack: dict[str, Any], capsys: Any, tmp_path: Path
) -> None:
    company = integration(fake_stack, "1618033-3-company")
    company["name"] = "Kirja-Kettu <script>alert(1)</script> & Co Oy"
    report = tmp_path / "roster.html"
    ran = run_command(capsys, "status", "--html", str(report))
    assert ran.code == 0, ran.err
    text = report.read_text(encoding="utf-8")
    parsed = _Collector()
    parsed.feed(text)
    parsed.close()
    shown = "".join(parsed.text)
    for business_id in fake_stack["outputs"]["clients"]:
        assert business_id in shown
    assert "Kirja-Kettu <script>alert(1)</script> & Co Oy" in shown  # shown as text...
    assert "script" not in parsed.tags  # ...never run
    assert "<link" not in text and "src=" not in text and "http" not in text.replace("http-equiv", "")
    assert "<style>" in text
    browser = chromium()
    if browser is None:
        pytest.skip("no chromium binary on PATH (apt-get install -y chromium) to open the report in")
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1280,900",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000


@pytest.mark.parametrize(
    "outputs",
    [
        [{"clients": {}}],  # a JSON list
        "clients",
        {"clients": ["2077474-0", "1618033-3"]},
        {"clients": {"2077474-0": "TRAINING"}},
    ],
)
def test_outputs_it_cannot_read_are_exit_2_never_an_empty_report(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str], outputs: Any
) -> None:
    fake_stack["outputs"] = outputs
    ran = run_command(capsys, "status")
    assert ran.code == 2, ran.out + ran.err
    assert ran.err.startswith("error: ") and "roster stack" in ran.err
    assert "0 clients" not in ran.out


def test_a_state_that_cannot_be_read_is_exit_2(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    fake_stack["resources"][3]["outputs"] = ["not", "a", "mapping"]
    ran = run_command(capsys, "status")
    assert ran.code == 2 and "no readable outputs" in ran.err


def test_a_first_up_that_failed_shows_the_clients_its_state_holds(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # The first `up` failed: no stack outputs at all; the state holds 3 registered clients (one made from a
    # copy of the fixture's company) and one connection, broken.
    fake_stack["outputs"] = {}
    companies = [r for r in fake_stack["resources"] if r["type"].endswith(":ClientCompany")]
    third = json.loads(json.dumps(companies[0]))
    third["urn"] = third["urn"].replace("2077474-0-company", "2925630-9-company")
    third["outputs"].update(business_id="2925630-9", name="Öljy-Äijät Oy", portal_id=7)
    fake_stack["resources"] = [
        r for r in fake_stack["resources"] if not r["type"].endswith(("NetvisorIntegration", ":Client"))
    ] + [third]
    integration(fake_stack, "2077474-0-procountor")["status"] = "FAILED"
    ran = run_command(capsys, "status", "--json")
    assert ran.code == 1, ran.err
    rows = {row["business_id"]: row for row in json.loads(ran.out)}
    assert sorted(rows) == ["1618033-3", "2077474-0", "2925630-9"]
    assert rows["2925630-9"]["portal_id"] == 7 and rows["2925630-9"]["name"] == "Öljy-Äijät Oy"
    assert rows["2077474-0"]["problems"] == ["connection FAILED"]
    assert rows["1618033-3"]["problems"] == ["connection NONE"]
    ran = run_command(capsys, "status")
    assert "3 clients, 3 with problems" in ran.out


def test_a_stack_with_neither_outputs_nor_clients_in_its_state_is_exit_2(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    fake_stack["outputs"], fake_stack["resources"] = {}, []
    ran = run_command(capsys, "status")
    assert ran.code == 2 and "run `pulumi up` first" in " ".join(ran.err.split())


def test_the_erp_option_takes_any_case(
    fake_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run_command(capsys, "status", "--json", "--erp", "Procountor")
    assert ran.code == 0, ran.err
    assert [row["business_id"] for row in json.loads(ran.out)] == ["2077474-0"]
