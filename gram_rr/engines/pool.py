"""A pool of engines as Ray actors: one batch in, sharded across engines, outputs in input order.

On a GPU cluster each engine gets ``tensor_parallel_size`` GPU bundles of one placement
group (tensor parallelism > 1 runs vLLM's Ray executor inside those bundles); on CPU
machines each engine gets a bundle of ``num_cpus_per_engine`` CPUs. Ray is joined at
``EngineConfig.ray_address`` or ``$RAY_ADDRESS``, else a local Ray is started. Every
node needs gram-rr installed (``pip install gram-rr``) so the actors can import it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from gram_rr.engines.base import Completion, Conversation, EngineBase, SamplingConfig
from gram_rr.engines.config import EngineConfig

T = TypeVar("T")
PLACEMENT_TIMEOUT_S = 300


class EngineActor:
    """Holds one local engine inside a Ray actor."""

    def __init__(self, config: EngineConfig, llm_kwargs: dict[str, Any], env: dict[str, str]) -> None:
        os.environ.update(env)
        from gram_rr.engines.factory import build_local_engine

        self.engine = build_local_engine(config, **llm_kwargs)

    def ready(self) -> bool:
        return True

    def generate(self, conversations: list[Conversation], sampling: SamplingConfig) -> list[list[Completion]]:
        return self.engine.generate(conversations, sampling)

    def score(self, conversations: list[Conversation | None], continuations: list[str]) -> list[float]:
        return self.engine.score(conversations, continuations)

    def close(self) -> None:
        self.engine.close()


def shard_bounds(count: int, shards: int) -> list[tuple[int, int]]:
    """Contiguous ``[start, end)`` ranges splitting ``count`` items into at most ``shards`` near-equal parts."""
    size, extra = divmod(count, shards)
    bounds, start = [], 0
    for i in range(shards):
        end = start + size + (1 if i < extra else 0)
        if end > start:
            bounds.append((start, end))
        start = end
    return bounds


_local_ray = {"started": False, "pools": 0}  # a Ray this module started, and the pools on it


def connect_ray(config: EngineConfig) -> None:
    """Use the running Ray, join ``config.ray_address`` / ``$RAY_ADDRESS``, or start a local Ray."""
    import ray

    if not ray.is_initialized():
        address = config.ray_address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address)
        else:
            needed = config.num_engines * config.cpus_per_engine()
            ray.init(num_cpus=max(os.cpu_count() or 1, needed), include_dashboard=False)
            _local_ray["started"] = True
    _local_ray["pools"] += 1


def release_ray() -> None:
    """Shut down the local Ray this module started once its last pool is closed."""
    import ray

    _local_ray["pools"] -= 1
    if _local_ray["started"] and _local_ray["pools"] == 0:
        ray.shutdown()
        _local_ray["started"] = False


def create_engine_actors(config: EngineConfig) -> tuple[list[Any], Any]:
    """Start ``config.num_engines`` engine actors in one placement group; returns (actors, group)."""
    import ray
    from ray.util.placement_group import placement_group, remove_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    tp = config.tensor_parallel_size
    use_gpu = ray.cluster_resources().get("GPU", 0) >= 1
    if use_gpu:
        bundles = [{"GPU": 1, "CPU": config.cpus_per_engine()}] * (config.num_engines * tp)
    elif tp > 1:
        raise ValueError("tensor_parallel_size > 1 needs GPUs, and this Ray cluster has none")
    else:
        bundles = [{"CPU": config.cpus_per_engine()}] * config.num_engines
    group = placement_group(bundles, strategy="PACK")
    try:
        ray.get(group.ready(), timeout=PLACEMENT_TIMEOUT_S)
    except ray.exceptions.GetTimeoutError as err:
        remove_placement_group(group)
        raise RuntimeError(
            f"Ray could not place {len(bundles)} bundles of {bundles[0]} in {PLACEMENT_TIMEOUT_S}s; the cluster has "
            f"{ray.available_resources()} free. Lower num_engines / tensor_parallel_size / num_cpus_per_engine."
        ) from err

    remote_actor = ray.remote(EngineActor)
    actors = []
    for i in range(config.num_engines):
        # Distinct seeds, so engines sampling the same prompt do not return the same text.
        engine_config = dataclasses.replace(config, num_engines=1, ray_address=None, seed=config.seed + i)
        llm_kwargs: dict[str, Any] = {}
        env: dict[str, str] = {}
        if use_gpu and tp > 1:
            # The actor only drives vLLM; its TP workers take the GPU bundles [i*tp, (i+1)*tp).
            options = {"num_cpus": 0, "num_gpus": 0}
            llm_kwargs["distributed_executor_backend"] = "ray"
            env["VLLM_RAY_BUNDLE_INDICES"] = ",".join(str(b) for b in range(i * tp, (i + 1) * tp))
        elif use_gpu:
            options = {"num_cpus": config.cpus_per_engine(), "num_gpus": 1}
        else:
            options = {"num_cpus": config.cpus_per_engine(), "num_gpus": 0}
        strategy = PlacementGroupSchedulingStrategy(
            placement_group=group, placement_group_bundle_index=i * tp, placement_group_capture_child_tasks=True
        )
        actors.append(remote_actor.options(scheduling_strategy=strategy, **options).remote(engine_config, llm_kwargs, env))
    return actors, group


class EnginePool(EngineBase):
    """``config.num_engines`` engines behind the Engine interface.

    A batch is cut into contiguous shards of near-equal prompt counts, one per engine,
    run concurrently, and put back together in input order. Each engine is seeded with
    ``config.seed + index``.
    """

    def __init__(self, config: EngineConfig) -> None:
        import ray

        self.config = config
        self.actors: list[Any] = []
        self.group: Any = None
        connect_ray(config)
        self._connected = True
        try:
            self.actors, self.group = create_engine_actors(config)
            ray.get([a.ready.remote() for a in self.actors])
        except BaseException:
            self.close()
            raise

    def generate(self, conversations: list[Conversation], sampling: SamplingConfig) -> list[list[Completion]]:
        return self._fan_out(len(conversations), lambda a, s, e: a.generate.remote(conversations[s:e], sampling))

    def score(self, conversations: list[Conversation | None], continuations: list[str]) -> list[float]:
        if len(conversations) != len(continuations):
            raise ValueError(f"score got {len(conversations)} conversations but {len(continuations)} continuations")
        return self._fan_out(
            len(conversations), lambda a, s, e: a.score.remote(conversations[s:e], continuations[s:e])
        )

    def _fan_out(self, count: int, call: Callable[[Any, int, int], Any]) -> list[T]:
        import ray

        bounds = shard_bounds(count, len(self.actors))
        shards: Sequence[list[T]] = ray.get([call(actor, s, e) for actor, (s, e) in zip(self.actors, bounds)])
        return [item for shard in shards for item in shard]

    def close(self) -> None:
        """Close every engine, kill the actors, remove the placement group; stop a local Ray started here."""
        import ray
        from ray.util.placement_group import remove_placement_group

        if not self._connected:
            return
        try:
            ray.get([a.close.remote() for a in self.actors], timeout=120)
        except (ray.exceptions.RayError, TimeoutError):
            pass  # the actors are killed below either way
        for actor in self.actors:
            ray.kill(actor)
        if self.group is not None:
            remove_placement_group(self.group)
        self.actors, self.group, self._connected = [], None, False
        release_ray()
