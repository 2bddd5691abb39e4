"""Two replicas for real: ``python -m gram_rr.serve --replicas 2`` on a local Ray, concurrent clients.

The server runs the tiny model as in :mod:`test_serve` (transformers engine, float32); every
answer names the replica that gave it (header ``x-replica-id``), and each replica's ``/info``
counts what it judged.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest

from gram_rr.engines import EngineConfig
from gram_rr.engines.hf import HFEngine
from gram_rr.judge import JudgeConfig, RewardReasoner
from gram_rr.serve.client import request_json
from gram_rr.serve.launch import ServerProcess
from gram_rr.serve.routes import REPLICA_HEADER
from test_serve import MAX_MODEL_LEN, MAX_NEW_TOKENS, same_answers, server_args

pytestmark = pytest.mark.ray

REQUESTS = 16


def call(url: str, body: dict | None = None) -> tuple[int, str, dict]:
    """GET ``url`` (``body`` None) or POST ``body``: the status, the answering replica's id and the decoded answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return response.status, response.headers[REPLICA_HEADER], json.loads(response.read())


def replica_infos(url: str, replicas: int, tries: int = 60) -> dict[str, dict]:
    """``/info`` of each replica, by id: asked until ``replicas`` distinct replicas answered (Serve picks one per request)."""
    infos: dict[str, dict] = {}
    for _ in range(tries):
        _, replica, info = call(f"{url}/info")
        assert info["replica"]["id"] == replica  # the header names the replica that answered
        infos[replica] = info
        if len(infos) == replicas:
            break
        time.sleep(0.2)
    return infos


def test_two_replicas_share_concurrent_requests_and_answer_each_once(tiny_model_dir, tmp_path):
    pairs = [(f"Question {k}: what is {k} times 3?", f"{3 * k}", f"{3 * k - 1}, roughly") for k in range(REQUESTS)]
    answers: list = [None] * REQUESTS
    with ServerProcess(server_args(tiny_model_dir, "--replicas", "2"), tmp_path / "server.log") as server:
        assert len(replica_infos(server.url, 2)) == 2, server.log_tail()  # both replicas are up and routed to
        start = threading.Barrier(REQUESTS)

        def client(k: int) -> None:
            question, a, b = pairs[k]
            start.wait()
            answers[k] = call(f"{server.url}/compare", {"pairs": [{"question": question, "a": a, "b": b}],
                                                         "rationales": True})

        threads = [threading.Thread(target=client, args=(k,)) for k in range(REQUESTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        infos = replica_infos(server.url, 2)
        assert request_json(f"{server.url}/health") == {"status": "ok"}
    assert all(answer is not None and answer[0] == 200 for answer in answers)
    served = [replica for _, replica, _ in answers]
    assert set(served) == set(infos) and len(infos) == 2  # both replicas answered some of the requests
    for replica, info in infos.items():  # each request judged once, by the replica that answered it
        assert info["replica"]["jobs"] == info["replica"]["pairs"] == served.count(replica)
    engine = HFEngine(EngineConfig(backend="hf", model=tiny_model_dir, dtype="float32", max_model_len=MAX_MODEL_LEN))
    with RewardReasoner(engine, JudgeConfig(max_new_tokens=MAX_NEW_TOKENS)) as local:
        expected = local.compare_many(pairs)
    assert all(same_answers(body["verdicts"][0], verdict) for (_, _, body), verdict in zip(answers, expected))
