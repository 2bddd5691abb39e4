"""An engine that fails: the request is a 503 and Serve replaces the replica (its health check fails).

The server runs with ``judge.max_new_tokens=0``, which transformers' ``generate`` refuses: a real
engine error, raised inside the replica on every generation.
"""

from __future__ import annotations

import time

import pytest

from gram_rr.serve.client import RemoteJudge, ServiceError, request_json
from gram_rr.serve.launch import ServerProcess

pytestmark = pytest.mark.ray


def test_engine_failure_is_503_and_the_replica_is_replaced(tiny_model_dir, tmp_path):
    args = ["--model", tiny_model_dir, "--engine", "hf", "--health-check-period-s", "1", "judge.max_new_tokens=0"]
    with ServerProcess(args, tmp_path / "server.log") as server:
        first = request_json(f"{server.url}/info")["replica"]["id"]
        with pytest.raises(ServiceError) as err:
            RemoteJudge(server.url).compare("q", "a", "b")
        assert err.value.status == 503 and "engine failed" in err.value.error
        deadline, replica = time.monotonic() + 300, first
        while replica == first and time.monotonic() < deadline:
            time.sleep(2)
            try:
                replica = request_json(f"{server.url}/info", timeout_s=10)["replica"]["id"]
            except (OSError, ServiceError):
                pass  # no healthy replica for a moment
        assert replica != first, server.log_tail()
        assert request_json(f"{server.url}/health") == {"status": "ok"}  # the new replica has not failed yet
