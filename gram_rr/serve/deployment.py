"""The Ray Serve deployment: replicas that each hold a :class:`JudgeService` behind its HTTP app."""

from __future__ import annotations

from typing import Any

from ray import serve
from ray.serve import Application

from gram_rr.engines.config import EngineConfig
from gram_rr.judge import JudgeConfig
from gram_rr.serve.config import ServeConfig
from gram_rr.serve.routes import build_app
from gram_rr.serve.service import JudgeService

APP_NAME = "gram_rr"


@serve.ingress()
class JudgeReplica:
    """One replica: builds its engine, serves :func:`build_app`, fails its health check once the engine failed."""

    def __init__(self, engine_config: EngineConfig, judge_config: JudgeConfig, config: ServeConfig) -> None:
        self.service = JudgeService.from_configs(engine_config, judge_config, config)

    def __serve_build_asgi_app__(self) -> Any:
        return build_app(self.service)

    async def check_health(self) -> None:
        self.service.check_health()


def application(engine_config: EngineConfig, judge_config: JudgeConfig, config: ServeConfig) -> Application:
    """The deployment with ``config.replicas`` replicas, ready for ``serve.run``."""
    deployment = serve.deployment(
        JudgeReplica,
        name="RewardReasoner",
        num_replicas=config.replicas,
        max_ongoing_requests=config.max_ongoing_requests,
        ray_actor_options={"num_cpus": config.replica_cpus(), "num_gpus": config.gpus_per_replica},
        health_check_period_s=config.health_check_period_s,
    )
    return deployment.bind(engine_config, judge_config, config)
