"""Debian's redis-server for a test: a directory and a socket of its own, nothing saved,
stopped when the test ends."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

REDIS_SERVER = shutil.which("redis-server")
MISSING = "redis-server is missing: scripts/test installs Debian's redis-server"


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Starts redis-server on a unix socket, no TCP port; yields its REDIS_URL."""
    assert REDIS_SERVER, MISSING
    # Under /tmp: a unix socket's path holds at most 107 bytes, and pytest's are long.
    directory = tempfile.mkdtemp(prefix="billing-redis-")
    path = f"{directory}/redis.sock"
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", "0", "--unixsocket", path, "--unixsocketperm", "700"]
        + ["--save", "", "--appendonly", "no", "--dir", directory, "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, "redis-server exited at start"
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
                sock.connect(path)
                break
            assert time.monotonic() < deadline, "redis-server did not start in 10 s"
            time.sleep(0.05)
        yield f"unix://{path}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)
