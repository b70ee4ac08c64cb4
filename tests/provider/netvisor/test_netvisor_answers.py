"""What the Netvisor client does with answers it cannot use: unreadable, oversized, overlapping, late.

Every such answer ends in a ``NetvisorError`` subclass naming the company, never a raw exception; an
answer saying another request of the customer environment was in flight is waited out, never read as
rejected keys; a request our timeout abandoned does not overlap with its retry; and two processes on one
machine using one credential pair never have two requests in flight.
"""

from __future__ import annotations

import gzip
import html
import json
import os
import stat
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pydantic import SecretStr

from provider.errors import (
    AnswerTooLarge,
    ConfigurationError,
    CredentialsRejected,
    EnvironmentBusy,
    NetvisorError,
    UnreadableAnswer,
)
from provider.netvisor.client import Company, NetvisorClient
from provider.netvisor.pace import lock_file_name, lock_folder
from provider.netvisor.signing import Credentials
from provider.retry import RetryPolicy
from provider.settings import NetvisorSettings
from sandbox.scenario import EXAMPLE_SCENARIO_PATH, load_scenario
from sandbox.server import RunningSandbox
from tests.conftest import SandboxFactory
from tests.support.secret_scan import ECHO_FORM_NAMES, echo_forms, leaks

EXAMPLE = load_scenario(EXAMPLE_SCENARIO_PATH).netvisor
PARTNER = EXAMPLE.partners[0]
FIRM = EXAMPLE.customers[0]
FAST = RetryPolicy(max_attempts=4, initial_wait=0.005, max_wait=0.02, max_retry_after=0.02)
BETA = Company("1572860-0", "Beta Oy (1572860-0)")
LABEL = "Beta Oy (1572860-0): "
REAL = Path(__file__).parents[2] / "fixtures" / "real" / "netvisor"
ROOT = Path(__file__).parents[3]


def settings(base_url: str) -> NetvisorSettings:
    return NetvisorSettings(
        base_url=base_url, partner_id=PARTNER.id, partner_key=SecretStr(PARTNER.key), sender="roster tests"
    )


def firm() -> Credentials:
    return Credentials(customer_id=FIRM.id, customer_key=SecretStr(FIRM.key))


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> NetvisorClient:
    return NetvisorClient(
        settings("https://netvisor.test"), retry=FAST, transport=httpx.MockTransport(handler), **options
    )


def answering(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None, **options: Any
) -> NetvisorClient:
    # A stream, not ``content=``: httpx would otherwise decode (inflate) the body inside the mock already.
    return mock_client(
        lambda request: httpx.Response(status, stream=httpx.ByteStream(body), headers=headers), **options
    )


def ok(payload: str) -> bytes:
    status = "<ResponseStatus><Status>OK</Status><TimeStamp>4.3.2025 9:08:10</TimeStamp></ResponseStatus>"
    return f"<Root>{status}{payload}</Root>".encode()


def failed(text: str) -> bytes:
    return ok("").replace(b"<Status>OK</Status>", f"<Status>FAILED</Status><Status>{text}</Status>".encode())


# -- payloads the client reads, in the real shapes --------------------------------------------------------
def test_the_real_chart_with_groups_reads_through_the_client() -> None:
    accounts = answering((REAL / "accountlist.nv.xml").read_bytes()).accounts(firm(), BETA)
    assert [a.number for a in accounts if not a.is_group] == ["1910", "4000", "4450"]
    assert sum(a.is_group for a in accounts) == 2


def test_dimensions_spelled_netvisorkey_either_way_through_the_client() -> None:
    for name in ("dimensionlist_NetvisorKey.nv.xml", "dimensionlist_Netvisorkey.nv.xml"):
        found = answering((REAL / name).read_bytes()).dimensions(firm(), BETA)
        assert [d.name for d in found] == ["Kustannuspaikka", "Vanha projekti"]


@pytest.mark.parametrize(
    ("body", "resource"),
    [
        (
            ok(
                "<AccountList><Accounts><Account><NetvisorKey>1</NetvisorKey><Number/></Account>"
                "</Accounts></AccountList>"
            ),
            "accounts",
        ),
        (
            ok("<DimensionNameList><DimensionName><Name>X</Name></DimensionName></DimensionNameList>"),
            "dimensions",
        ),
        (
            ok(
                "<PurchaseInvoiceList><PurchaseInvoice><NetvisorKey>1</NetvisorKey><InvoiceDate>2025-13-01"
                "</InvoiceDate><Sum>1</Sum></PurchaseInvoice></PurchaseInvoiceList>"
            ),
            "purchase_invoices",
        ),
        (
            ok(
                "<PurchaseInvoiceList><PurchaseInvoice><NetvisorKey>1</NetvisorKey><InvoiceDate>2025-01-01"
                "</InvoiceDate><Sum>Infinity</Sum></PurchaseInvoice></PurchaseInvoiceList>"
            ),
            "purchase_invoices",
        ),
        (b"<html><body>Service Unavailable</body></html>", "accounts"),
        (b"<Root><ResponseStatus><Status>MAYBE</Status></ResponseStatus></Root>", "accounts"),
        (b"<Root>" + b"<a>" * 100_000, "accounts"),
        (b"\xff\xfe\x00garbage", "dimensions"),
    ],
)
def test_a_payload_the_client_cannot_read_is_a_netvisor_error_naming_the_company(
    body: bytes, resource: str
) -> None:
    client = answering(body)
    with pytest.raises(UnreadableAnswer) as unreadable:
        getattr(client, resource)(firm(), BETA)
    assert isinstance(unreadable.value, NetvisorError)
    assert str(unreadable.value).startswith(LABEL)
    assert unreadable.value.__cause__ is None and unreadable.value.__suppress_context__


# -- bounded answers -----------------------------------------------------------------------------------
def test_an_answer_over_the_size_limit_is_refused() -> None:
    body = ok("<AccountList><Accounts>" + "<Account/>" * 2000 + "</Accounts></AccountList>")
    with pytest.raises(AnswerTooLarge, match="decompressed") as refused:
        answering(body, max_answer_bytes=10_000).accounts(firm(), BETA)
    assert str(refused.value).startswith(LABEL)


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    chunks: list[bytes] = []

    def endless() -> Any:
        for _ in range(10_000):
            chunks.append(b"x")
            yield b"<a>" * 1000

    client = mock_client(
        lambda request: httpx.Response(200, content=endless(), headers={"Content-Length": "999999999"}),
        max_compressed_bytes=100_000,
    )
    with pytest.raises(AnswerTooLarge, match="on the wire"):
        client.accounts(firm(), BETA)
    assert len(chunks) == 0


def test_a_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(b" " * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    client = answering(bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(AnswerTooLarge, match="decompressed"):
        client.accounts(firm(), BETA)


def test_a_compressed_answer_over_the_wire_limit_is_refused() -> None:
    noise = os.urandom(300_000)
    client = answering(
        zlib.compress(noise), max_compressed_bytes=100_000, headers={"Content-Encoding": "deflate"}
    )
    with pytest.raises(AnswerTooLarge, match="on the wire"):
        client.accounts(firm(), BETA)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_answer_within_bounds_is_read(encoding: str) -> None:
    body = (REAL / "accountlist.nv.xml").read_bytes()
    packed = gzip.compress(body) if encoding == "gzip" else zlib.compress(body)
    assert len(answering(packed, headers={"Content-Encoding": encoding}).accounts(firm(), BETA)) == 5


@pytest.mark.parametrize(
    ("encoding", "body"), [("gzip", b"<Root/>"), ("br", b"\x1b\x00"), ("gzip, gzip", b"")]
)
def test_a_false_or_unsupported_content_encoding_is_unreadable(encoding: str, body: bytes) -> None:
    with pytest.raises(UnreadableAnswer, match=r"Content-Encoding|gzip|ends early") as unreadable:
        answering(body, headers={"Content-Encoding": encoding}).accounts(firm(), BETA)
    assert str(unreadable.value).startswith(LABEL)


def test_only_encodings_the_client_can_bound_are_asked_for() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Accept-Encoding"])
        return httpx.Response(200, content=(REAL / "accountlist.nv.xml").read_bytes())

    mock_client(handler).accounts(firm(), BETA)
    assert seen == ["gzip, deflate"]


# -- overlap answers ----------------------------------------------------------------------------------------
OVERLAPS = [
    "TECHNICAL_ERROR :: Another request for this customer environment is still being processed",
    "AUTHENTICATION_FAILED :: Simultaneous requests to the same customer environment",
    "AUTHENTICATION_FAILED :: Samanaikainen pyyntö samaan asiakasympäristöön",
]


@pytest.mark.parametrize("text", OVERLAPS)
def test_an_overlap_answer_is_waited_out_and_retried(text: str) -> None:
    answers = [failed(text), failed(text), (REAL / "accountlist.nv.xml").read_bytes()]
    transactions: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        transactions.append(request.headers["X-Netvisor-Authentication-TransactionId"])
        return httpx.Response(200, content=answers.pop(0))

    assert len(mock_client(handler).accounts(firm(), BETA)) == 5
    assert len(set(transactions)) == 3


@pytest.mark.parametrize("status", [200, 401, 429])
def test_an_overlap_that_never_ends_is_never_reported_as_bad_credentials(status: int) -> None:
    with pytest.raises(EnvironmentBusy) as busy:
        answering(failed(OVERLAPS[1]), status).accounts(firm(), BETA)
    assert not isinstance(busy.value, CredentialsRejected)
    assert busy.value.retryable
    message = str(busy.value)
    assert message.startswith(LABEL) and "one request at a time" in message and FIRM.id in message


def test_a_real_key_rejection_is_still_one() -> None:
    body = (REAL / "failed_authentication_failed.xml").read_bytes()
    with pytest.raises(CredentialsRejected):
        answering(body).accounts(firm(), BETA)


# -- a request that outlives our timeout -----------------------------------------------------------------
@pytest.fixture
def slow(sandbox: SandboxFactory, example_scenario: dict[str, Any]) -> RunningSandbox:
    """Each Netvisor request stays in flight 600 ms at the sandbox, whether its client waits or not."""
    example_scenario["netvisor"]["processingDelayMs"] = 600
    return sandbox(example_scenario)


def violations(running: RunningSandbox) -> int:
    count: int = running.admin.stats()["services"]["netvisor"]["concurrencyViolations"]
    return count


def test_the_retry_of_a_timed_out_request_does_not_overlap_with_it(slow: RunningSandbox) -> None:
    client = NetvisorClient(
        settings(slow.service_url("netvisor")), retry=FAST, request_timeout=0.3, abandoned_hold=0.6
    )
    with pytest.raises(NetvisorError, match="did not answer in time"):
        client.accounts(firm(), BETA)  # every attempt times out; each retry waits for the abandoned one
    client.close()
    stats = slow.admin.stats()["services"]["netvisor"]
    assert stats["requests"]["accountlist.nv"] == FAST.max_attempts
    assert violations(slow) == 0


def test_control_without_the_hold_the_retry_overlaps(slow: RunningSandbox) -> None:
    client = NetvisorClient(
        settings(slow.service_url("netvisor")), retry=FAST, request_timeout=0.3, abandoned_hold=0
    )
    with pytest.raises(NetvisorError):
        client.accounts(firm(), BETA)
    client.close()
    assert violations(slow) > 0


# -- across processes on one machine -----------------------------------------------------------------------
WORKER = """
import json, sys
from pydantic import SecretStr
from provider.netvisor.client import Company, NetvisorClient
from provider.netvisor.signing import Credentials
from provider.retry import RetryPolicy
from provider.settings import NetvisorSettings
args = json.loads(sys.argv[1])
client = NetvisorClient(
    NetvisorSettings(base_url=args["url"], partner_id=args["partner"], partner_key=SecretStr(args["pkey"]),
                     sender="second stack"),
    retry=RetryPolicy(max_attempts=1),
)
credentials = Credentials(customer_id=args["customer"], customer_key=SecretStr(args["ckey"]))
for _ in range(args["count"]):
    client.accounts(credentials, Company("1572860-0", "Beta Oy (1572860-0)"))
print("done")
"""


def test_two_processes_on_one_credential_pair_take_turns(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    """Two stacks of one firm run at once on one pair: the file lock keeps Netvisor's rule between them."""
    example_scenario["netvisor"]["processingDelayMs"] = 120
    running = sandbox(example_scenario)
    url = running.service_url("netvisor")
    args = {"url": url, "partner": PARTNER.id, "pkey": PARTNER.key, "customer": FIRM.id, "ckey": FIRM.key}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps({**args, "count": 4})],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outcomes
    stats = running.admin.stats()["services"]["netvisor"]
    assert stats["requests"]["accountlist.nv"] == 8
    assert stats["concurrencyViolations"] == 0 and stats["maxInFlightPerCustomer"] == 1


def test_the_lock_file_is_private_and_does_not_name_the_customer() -> None:
    folder = lock_folder()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and folder.stat().st_uid == os.getuid()
    name = lock_file_name("https://integration.netvisor.fi", FIRM.id)
    assert FIRM.id not in name and name.startswith("netvisor-") and name.endswith(".lock")
    assert name != lock_file_name("https://integration.netvisor.fi", FIRM.id + "x")


def test_an_unusable_lock_folder_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fabricai-roster").write_text("not a folder")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    client = answering((REAL / "accountlist.nv.xml").read_bytes())
    with pytest.raises(ConfigurationError, match="XDG_RUNTIME_DIR") as unusable:
        client.accounts(firm(), BETA)
    assert str(unusable.value).startswith(LABEL)


def test_the_lock_folder_follows_xdg_runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    answering((REAL / "accountlist.nv.xml").read_bytes()).accounts(firm(), BETA)
    assert [path.name for path in (tmp_path / "fabricai-roster").iterdir()] == [
        lock_file_name("https://netvisor.test", FIRM.id)
    ]


# -- a service echoing our keys back never gets them into a message ---------------------------------------
ECHO_CUSTOMER_KEY = "Kéy/+&= sälaisuus-7f3a"
ECHO_PARTNER_KEY = "Pärtner+key/==9c1d"


@pytest.mark.parametrize("form", range(len(ECHO_FORM_NAMES)), ids=ECHO_FORM_NAMES)
@pytest.mark.parametrize("where", ["text", "code", "sum", "status", "encoding", "gave up"])
def test_keys_echoed_in_any_encoding_never_reach_a_message(form: int, where: str) -> None:
    echoes = " ".join(
        echo_forms(ECHO_CUSTOMER_KEY)[form : form + 1] + echo_forms(ECHO_PARTNER_KEY)[form : form + 1]
    )
    escaped = html.escape(echoes)
    headers: dict[str, str] = {}
    status = 200
    if where == "text":
        body = failed(f"AUTHENTICATION_FAILED :: MAC string was {escaped}")
    elif where == "code":
        body = failed(f"{escaped} :: weird")
    elif where == "sum":
        body = ok(
            "<PurchaseInvoiceList><PurchaseInvoice><NetvisorKey>1</NetvisorKey><InvoiceDate>2025-01-01"
            f"</InvoiceDate><Sum>{escaped}</Sum></PurchaseInvoice></PurchaseInvoiceList>"
        )
    elif where == "status":
        body = f"<Root><ResponseStatus><Status>{escaped}</Status></ResponseStatus></Root>".encode()
    elif where == "encoding":
        body, headers = b"x", {"Content-Encoding": quote(echoes)}
    else:
        body, status = failed(f"TECHNICAL_ERROR :: echo {escaped}"), 503
    client = NetvisorClient(
        NetvisorSettings(
            base_url="https://netvisor.test",
            partner_id=PARTNER.id,
            partner_key=SecretStr(ECHO_PARTNER_KEY),
            sender="roster tests",
        ),
        retry=FAST,
        transport=httpx.MockTransport(
            lambda request: httpx.Response(status, stream=httpx.ByteStream(body), headers=headers)
        ),
    )
    credentials = Credentials(customer_id=FIRM.id, customer_key=SecretStr(ECHO_CUSTOMER_KEY))
    with pytest.raises(NetvisorError) as failed_with:
        client.purchase_invoices(credentials, BETA)
    error = failed_with.value
    seen = f"{error} {error.code} {error!r}"
    assert not leaks(seen, (ECHO_CUSTOMER_KEY, ECHO_PARTNER_KEY)), (where, seen)


def test_an_answer_trickling_past_the_timeout_is_cut_at_the_total_deadline() -> None:
    """Each chunk arrives well within the read timeout, but the whole answer would take seconds."""
    sent: list[int] = []

    def trickle() -> Any:
        for index in range(40):
            time.sleep(0.05)
            sent.append(index)
            yield b" "

    client = mock_client(
        lambda request: httpx.Response(200, stream=_Stream(trickle())),
        request_timeout=0.3,
        abandoned_hold=0,
    )
    started = time.monotonic()
    with pytest.raises(NetvisorError, match="did not answer in time") as late:
        client.accounts(firm(), BETA)
    assert late.value.retryable and str(late.value).startswith(LABEL)
    assert time.monotonic() - started < FAST.max_attempts * 0.3 + 1.0
    assert len(sent) < 40 * FAST.max_attempts


class _Stream(httpx.SyncByteStream):
    def __init__(self, chunks: Any) -> None:
        self._chunks = chunks

    def __iter__(self) -> Any:
        yield from self._chunks
