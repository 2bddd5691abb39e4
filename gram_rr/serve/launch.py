"""The reward service in a subprocess, up until the context exits (tests and the benchmark use it)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from gram_rr.serve.client import ServiceError, request_json


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``python -m gram_rr.serve ARGS --port PORT`` in its own process group, logging to ``log_path``.

    Entering waits until ``GET /health`` answers 200 (or raises with the log's tail when the
    process exits or ``startup_timeout_s`` passes); exiting sends SIGTERM (the server deletes
    its application and stops the Ray it started) and kills the group if it lingers.
    """

    def __init__(self, args: Sequence[str], log_path: str | Path, port: int | None = None,
                 startup_timeout_s: float = 600.0) -> None:
        self.args = list(args)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_path)
        self.startup_timeout_s = startup_timeout_s
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "ServerProcess":
        env = {**os.environ, "RAY_ADDRESS": ""}  # a local Ray of its own, never a cluster from the caller's env
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gram_rr.serve", *self.args, "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                request_json(f"{self.url}/health", timeout_s=5)
                return self
            except (OSError, ServiceError):
                time.sleep(1)
        self.stop()
        raise RuntimeError(f"the server was not healthy after {self.startup_timeout_s}s:\n{self.log_tail()}")

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, grace_s: float = 60.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
