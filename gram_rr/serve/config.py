"""The service's own settings (the judge and engine have theirs: ``judge.*`` and ``engine.*``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class ServeConfig:
    """Where the service listens, how many replicas it runs, how requests are batched and what
    ``/get_reward`` remembers for queries without labels."""

    replicas: int = field(default=1, metadata={"help": "replicas of the judge deployment, each with its own engine"})
    host: str = field(default="127.0.0.1", metadata={"help": "HTTP host (0.0.0.0 to listen on every interface)"})
    port: int = field(default=8000, metadata={"help": "HTTP port"})
    ray_address: str = field(
        default="", metadata={"help": "Ray cluster to join (also read from RAY_ADDRESS); empty: start a local Ray"}
    )
    max_batch_size: int = field(
        default=64,
        metadata={"help": "most requests in one engine call (one compare_many); also Serve's @serve.batch size"},
    )
    batch_wait_s: float = field(
        default=0.02, metadata={"help": "how long a batch waits for more requests after its first one"}
    )
    request_timeout_s: float = field(
        default=600.0, metadata={"help": "end-to-end HTTP request timeout (Serve answers 408 after it)"}
    )
    max_ongoing_requests: int = field(
        default=256, metadata={"help": "requests one replica accepts at once (more wait in Serve's queue)"}
    )
    cpus_per_replica: float = field(
        default=0.0, metadata={"help": "Ray CPUs per replica (its torch threads); 0: this machine's CPUs / replicas"}
    )
    gpus_per_replica: float = field(
        default=0.0, metadata={"help": "Ray GPUs per replica (engine.tensor_parallel_size for vLLM on GPUs)"}
    )
    health_check_period_s: float = field(
        default=10.0, metadata={"help": "how often Serve checks a replica; a failed engine fails it and is replaced"}
    )
    reward_memory_prompts: int = field(
        default=4096,
        metadata={"help": "/get_reward without labels: questions whose earlier responses a replica remembers "
                  "(the least recently seen is forgotten first)"},
    )
    reward_memory_responses: int = field(
        default=4,
        metadata={"help": "/get_reward without labels: earlier responses remembered per question; a new response "
                  "is judged against all of them (one comparison each, both orders)"},
    )

    def __post_init__(self) -> None:
        if min(self.replicas, self.max_batch_size, self.max_ongoing_requests, self.reward_memory_prompts,
               self.reward_memory_responses) < 1:
            raise ValueError(
                "replicas, max_batch_size, max_ongoing_requests, reward_memory_prompts and reward_memory_responses "
                "must be >= 1"
            )
        if self.batch_wait_s < 0 or self.request_timeout_s <= 0 or self.cpus_per_replica < 0 or self.gpus_per_replica < 0:
            raise ValueError("batch_wait_s, cpus_per_replica and gpus_per_replica must be >= 0, request_timeout_s > 0")

    def replica_cpus(self) -> float:
        """``cpus_per_replica``, or this machine's CPUs shared among the replicas (at least 1)."""
        return self.cpus_per_replica or max(1, (os.cpu_count() or 1) // self.replicas)
