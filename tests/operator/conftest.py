"""Fixtures of the operator's command tests: running ``fabricai-roster`` in-process, a stack whose Pulumi
reads are answered from JSON captured from a real run (tests/operator/fixtures/), and the real Pulumi CLI
in a temporary project for the tests that need a real stack (``roster_project``, from
tests/support/pulumi_cli.py as tests/cli uses it: how the CLI is found or built, and when its absence skips).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from provider.cli.main import main
from tests.support.fake_pulumi import install_fake_pulumi
from tests.support.pulumi_cli import PulumiProject
from tests.support.pulumi_cli import pulumi_bin as pulumi_bin
from tests.support.pulumi_cli import pulumi_project as pulumi_project
from tests.support.pulumi_cli import roster_project as roster_project

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
# A project of the roster program driven through the real CLI (``roster_project``).
RosterProject = PulumiProject


@dataclass
class Ran:
    code: int
    out: str
    err: str


def run_command(capsys: pytest.CaptureFixture[str], *argv: str) -> Ran:
    """``fabricai-roster ARGV`` in this process: exit status, stdout, stderr."""
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as leaving:  # argparse's --help and usage errors
        code = int(leaving.code or 0)
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)


def run_piped(stdin: str, *argv: str) -> Ran:
    """``fabricai-roster ARGV`` in a process of its own whose standard input is a pipe holding ``stdin``
    (what a script gives it, not a person at a terminal)."""
    done = subprocess.run(
        [sys.executable, "-m", "provider.cli.main", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _config_entry(value: Any, secret: bool) -> dict[str, Any]:
    """One key of ``pulumi config --json``: the value as text, and parsed where it is not a string."""
    entry: dict[str, Any] = {
        "value": value if isinstance(value, str) else json.dumps(value),
        "secret": secret,
    }
    if not isinstance(value, str):
        entry["objectValue"] = value
    return entry


def _stack_answer(answers: dict[str, Any], args: list[str]) -> Any:
    """What the CLI prints for a read of the stack, from the test's (live) ``answers``."""
    if args[0] == "config":
        hidden = set(answers.get("secret", ()))
        shown = "--show-secrets" in args  # without it, as the CLI shows them, the secrets are left out here
        return {
            key: _config_entry(value, key in hidden)
            for key, value in answers["config"].items()
            if shown or key not in hidden
        }
    if args[:2] == ["stack", "output"]:
        return answers["outputs"]
    return {"deployment": {"resources": answers["resources"]}}


@pytest.fixture
def fake_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A stack answered from captured JSON instead of a real one: a stand-in ``pulumi`` first on PATH
    (tests/support/fake_pulumi.py) whose reads of the stack print what this mapping holds when they run.
    Tests edit the returned mapping (``config``: key -> value; ``secret``: the secret keys; ``outputs``;
    ``resources``)."""
    answers: dict[str, Any] = {
        "config": {},
        "outputs": load_fixture("stack-output.json"),
        "resources": load_fixture("stack-export.json")["deployment"]["resources"],
    }

    class Reads(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            args = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps(_stack_answer(answers, args)).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Reads)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    folder = tmp_path / "fake-pulumi"
    install_fake_pulumi(folder, answers_url=f"http://127.0.0.1:{server.server_address[1]}/")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    try:
        yield answers
    finally:
        server.shutdown()
        server.server_close()
        serving.join()


PORTAL_KEY = "FAKE-portal-org-key-0001"
SECRETS = {
    "fabricai:apiKey": PORTAL_KEY,
    "procountor:clientSecret": "FAKE-procountor-client-secret",
    "netvisor:partnerKey": "FAKE-nv-partner-key-fabricai",
}
PROCOUNTOR_KEYS = {
    "2077474-0": "FAKE-pc-key-kahvila-kuppi",
    "2925630-9": "FAKE-pc-key-oljy-aijat-1",
    "1202527-2": "FAKE-pc-key-lasku-laiska",
}
NETVISOR_KEY = "FAKE-nv-customer-key-tase-1"
KAHVILA = {"businessId": "2077474-0", "name": "Kahvila Kuppi Oy", "erp": "procountor"}
KIRJA_KETTU = {
    "businessId": "1618033-3",
    "name": "Kirja-Kettu Oy",
    "erp": "netvisor",
    "netvisorCredentials": "firm",
}


NETVISOR_SET = {"firm": {"customerId": "TT_tase_api_1", "customerKey": NETVISOR_KEY}}


def sandbox_config(url: str, clients: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack config (as ``pulumi config --json --show-secrets`` gives it) of a roster on this sandbox."""
    procountor = [c for c in clients if c["erp"] == "procountor"]
    netvisor = any(c["erp"] == "netvisor" for c in clients)
    return {
        "fabricai:portalUrl": f"{url}/portal",
        "procountor:baseUrl": f"{url}/procountor/api",
        "netvisor:baseUrl": f"{url}/netvisor",
        "procountor:clientId": "fabricai-roster-sandbox",
        "netvisor:partnerId": "FAI_fabricai",
        "netvisor:sender": "fabricai-roster tests",
        **SECRETS,
        "roster:clients": clients,
        "roster:procountorApiKeys": {c["businessId"]: PROCOUNTOR_KEYS[c["businessId"]] for c in procountor},
        # The shared credential set only when a client uses it: an unused one is a roster problem.
        **({"roster:netvisorCredentials": NETVISOR_SET} if netvisor else {}),
    }


ALL_SECRETS = (*SECRETS.values(), *PROCOUNTOR_KEYS.values(), NETVISOR_KEY)
