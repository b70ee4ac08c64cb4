"""One request at a time per Netvisor customer environment: across threads and across processes.

Netvisor's rule: one request at a time per customer environment (one customer id), wait for the answer
before sending the next. Inside one provider process a lock per (host, customer id) serialises the
engine's threads. Across processes on one machine (two stacks of one firm on one credential pair, two
``pulumi up`` at once) an exclusive ``fcntl.flock`` on a file serialises them too: the file lives in a
folder only this user can use (``$XDG_RUNTIME_DIR/fabricai-roster``, else
``<temp dir>/fabricai-roster-<uid>``) and is named by a hash of the host and customer id, never the id
itself. Across machines nothing is shared: see docs/SANDBOX_NETVISOR.md ("Across machines").

A lock file is never deleted (deleting one while another process waits on it would let two holders in);
they are empty and few (one per credential pair).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from provider.context import process_context

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: only the in-process lock applies (documented)
    fcntl = None  # type: ignore[assignment]

_POLL_SECONDS = 0.05


class LockTimeout(Exception):
    """Another process held the customer environment's lock longer than we wait."""


class LockUnavailable(Exception):
    """The lock folder or file cannot be used (not writable, not ours)."""


def lock_folder() -> Path:
    """The per-user folder of the lock files, created private (0700) and checked to be ours."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and Path(runtime).is_dir():
        folder = Path(runtime) / "fabricai-roster"
    else:
        folder = Path(tempfile.gettempdir()) / f"fabricai-roster-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    status = folder.lstat()
    if status.st_uid != os.getuid() or not folder.is_dir() or folder.is_symlink():
        raise PermissionError(f"{folder} is not a folder of this user; remove it or set XDG_RUNTIME_DIR")
    return folder


def lock_file_name(base_url: str, customer_id: str) -> str:
    digest = hashlib.sha256(f"{base_url}\n{customer_id}".encode()).hexdigest()[:32]
    return f"netvisor-{digest}.lock"


class EnvironmentGate:
    """The lock of one customer environment: a thread lock, then the machine-wide file lock."""

    def __init__(self, base_url: str, customer_id: str) -> None:
        self._thread_lock = threading.Lock()
        self._name = lock_file_name(base_url, customer_id)

    @classmethod
    def of(cls, base_url: str, customer_id: str) -> EnvironmentGate:
        """The process-wide gate of one customer environment (kept in provider.context)."""
        key = (base_url, customer_id)
        return process_context().netvisor_gates.get(key, lambda: cls(base_url, customer_id))

    @contextmanager
    def held(self, wait_seconds: float) -> Iterator[None]:
        """Hold the environment: no other thread of this process, no other process of this user."""
        if not self._thread_lock.acquire(timeout=wait_seconds):
            raise LockTimeout(f"another thread held the lock for more than {wait_seconds:.0f} s")
        try:
            if fcntl is None:
                yield
                return
            try:
                fd = os.open(lock_folder() / self._name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            except OSError as error:
                raise LockUnavailable(f"{type(error).__name__}: {error.strerror or error}") from None
            try:
                deadline = time.monotonic() + wait_seconds
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise LockTimeout(
                                f"another process held the lock for more than {wait_seconds:.0f} s"
                            ) from None
                        time.sleep(_POLL_SECONDS)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        finally:
            self._thread_lock.release()
