"""A load test: single-pair ``/compare`` requests from concurrent clients, with each request's latency."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from gram_rr.pair_prompt import PairLike, pair_parts
from gram_rr.serve.client import ServiceError, request_json


@dataclass
class LoadResult:
    """Wall time of the whole load, and per request (in sending order) its latency and HTTP status."""

    seconds: float
    latencies: list[float]
    statuses: list[int]

    def percentile(self, q: float) -> float:
        """The nearest-rank ``q``-th percentile latency (``q`` in (0, 100])."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def run_load(url: str, pairs: Sequence[PairLike], clients: int, timeout_s: float = 600.0) -> LoadResult:
    """Post every pair alone to ``url/compare``; ``clients`` threads each send their next request as soon
    as their previous one is answered, until no pair is left."""
    latencies = [0.0] * len(pairs)
    statuses = [0] * len(pairs)
    next_index = iter(range(len(pairs)))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                k = next(next_index, None)
            if k is None:
                return
            question, a, b = pair_parts(pairs[k])
            start = time.perf_counter()
            try:
                request_json(f"{url}/compare", {"pairs": [{"question": question, "a": a, "b": b}]}, timeout_s)
                statuses[k] = 200
            except ServiceError as err:
                statuses[k] = err.status
            latencies[k] = time.perf_counter() - start

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(time.perf_counter() - start, latencies, statuses)
