"""A pool of engines as Ray actors: one batch in, sharded across engines, outputs in input order.

On a GPU cluster each engine gets ``tensor_parallel_size`` GPU bundles of one placement
group (tensor parallelism > 1 runs vLLM's Ray executor inside those bundles); on CPU
machines each engine gets a bundle of ``num_cpus_per_engine`` CPUs. Ray is joined at
``EngineConfig.ray_address`` or ``$RAY_ADDRESS``, else a local Ray is started (a
:class:`~gram_rr.ray_session.RaySession`, shared with the caller's if one is open). Every
node needs gram-rr installed (``pip install gram-rr``) so the actors can import it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from gram_rr.engines.base import Completion, Conversation, EngineBase, SamplingConfig
from gram_rr.engines.config import EngineConfig
from gram_rr.ray_session import RaySession

T = TypeVar("T")


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


def engine_ray_session(config: EngineConfig) -> RaySession:
    """An unopened session joining ``config.ray_address`` / ``$RAY_ADDRESS``, else a local Ray fitting every engine."""
    return RaySession(
        address=config.ray_address, num_cpus=max(os.cpu_count() or 1, config.num_engines * config.cpus_per_engine())
    )


def create_engine_actors(config: EngineConfig, session: RaySession) -> list[Any]:
    """Start ``config.num_engines`` engine actors in one placement group of the open ``session``."""
    import ray
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    tp = config.tensor_parallel_size
    use_gpu = ray.cluster_resources().get("GPU", 0) >= 1
    if use_gpu:
        bundles = [{"GPU": 1, "CPU": config.cpus_per_engine()}] * (config.num_engines * tp)
    elif tp > 1:
        raise ValueError("tensor_parallel_size > 1 needs GPUs, and this Ray cluster has none")
    else:
        bundles = [{"CPU": config.cpus_per_engine()}] * config.num_engines
    group = session.placement_group(
        bundles, strategy="PACK", advice="Lower num_engines / tensor_parallel_size / num_cpus_per_engine."
    )

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
    return actors


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
        self.session = engine_ray_session(config).open()
        try:
            self.actors = create_engine_actors(config, self.session)
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
        """Close every engine, kill the actors, then close the Ray session (its placement group, a Ray it started)."""
        import ray

        if not self.session.is_open:
            return
        try:
            ray.get([a.close.remote() for a in self.actors], timeout=120)
        except (ray.exceptions.RayError, TimeoutError):
            pass  # the actors are killed below either way
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []
        self.session.close()
