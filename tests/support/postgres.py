"""A real PostgreSQL server for one test, for Pulumi's PostgreSQL state backend (``pulumi login postgres://``).

    def test_x(postgres_backend: str) -> None:   # postgres://postgres@127.0.0.1:<port>/pulumi_state?sslmode=disable
        ...

    with postgres_server() as url:  # the same server outside pytest (benchmarks/cli_roster.py)
        ...

The server is run by pytest-postgresql's executor (the library starts ``pg_ctl``, waits until the server
accepts connections, stops it and removes its data folder) with the binaries of Debian's ``postgresql``
package, which lie off PATH in /usr/lib/postgresql/<version>/bin. Only one thing is ours: PostgreSQL refuses
to run as root, and CI runs as root, so there ``pg_ctl`` is called through a two-line wrapper that runs it as
the ``postgres`` user the package creates, with the server's folders handed to that user. The library's own
fixture (``postgresql_proc``) cannot be used as it is for that reason: it keeps its folders under pytest's
temporary folder, which only root may enter.

Where no server binaries exist the test is skipped with the reason, except when
FABRICAI_ROSTER_REQUIRE_POSTGRES=1 (CI sets it, and installs the package): then it fails, so a CI run can
never pass without the team test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

DEBIAN_BINARIES = Path("/usr/lib/postgresql")
DATABASE = "pulumi_state"
START_TIMEOUT_SECONDS = 120


def _unavailable(reason: str) -> None:
    if os.environ.get("FABRICAI_ROSTER_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"a PostgreSQL server is required here (FABRICAI_ROSTER_REQUIRE_POSTGRES=1): {reason}")
    pytest.skip(reason)


def find_pg_ctl() -> Path | None:
    """``pg_ctl`` of the newest PostgreSQL installed the Debian way, else the one on PATH."""
    if DEBIAN_BINARIES.is_dir():
        versions = sorted(
            (p for p in DEBIAN_BINARIES.iterdir() if (p / "bin" / "pg_ctl").is_file() and p.name.isdigit()),
            key=lambda p: int(p.name),
        )
        if versions:
            return versions[-1] / "bin" / "pg_ctl"
    on_path = shutil.which("pg_ctl")
    return Path(on_path) if on_path else None


def _as_postgres_user(pg_ctl: Path, folder: Path, unavailable: Callable[[str], None]) -> Path:
    """A ``pg_ctl`` that runs the real one as the ``postgres`` user (PostgreSQL refuses root)."""
    runuser = shutil.which("runuser")
    if runuser is None:
        unavailable("running as root, and no runuser to start PostgreSQL as the postgres user")
    wrapper = folder / "pg_ctl"
    wrapper.write_text(f'#!/bin/sh\nexec {runuser} -u postgres -- {pg_ctl} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper


@contextmanager
def postgres_server(unavailable: Callable[[str], None] = _unavailable) -> Iterator[str]:
    """A PostgreSQL server of its own, with an empty database; yields Pulumi's backend URL for it.
    ``unavailable(reason)`` is called (and must raise) where no server can be run."""
    # Imported here: a machine without the dev extras still collects the other tests.
    from port_for import get_port
    from pytest_postgresql.executors.proc import PostgreSQLExecutor
    from pytest_postgresql.janitor import DatabaseJanitor

    pg_ctl = find_pg_ctl()
    if pg_ctl is None:
        unavailable("no PostgreSQL server binaries (Debian: apt-get install postgresql)")
        return
    # Not under pytest's temporary folder (root only): the postgres user must reach the data and the socket.
    folder = Path(tempfile.mkdtemp(prefix="fabricai-postgres-"))
    executable = pg_ctl
    if os.geteuid() == 0:
        executable = _as_postgres_user(pg_ctl, folder, unavailable)
        shutil.chown(folder, user="postgres")
    port = get_port(None)
    assert isinstance(port, int)
    executor = PostgreSQLExecutor(
        executable=str(executable),
        host="127.0.0.1",
        port=port,
        datadir=str(folder / "data"),
        unixsocketdir=str(folder),
        logfile=str(folder / "server.log"),
        startparams="-w",
        dbname=DATABASE,
        user="postgres",
        timeout=START_TIMEOUT_SECONDS,
    )
    try:
        executor.start()
        with DatabaseJanitor(user="postgres", host="127.0.0.1", port=port, dbname=DATABASE):
            # Trust authentication on 127.0.0.1, as pytest-postgresql sets it up without a password.
            yield f"postgres://postgres@127.0.0.1:{port}/{DATABASE}?sslmode=disable"
    finally:
        if executor.running():
            executor.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_backend() -> Iterator[str]:
    """A PostgreSQL server of this test's own (``postgres_server``)."""
    with postgres_server() as url:
        yield url
