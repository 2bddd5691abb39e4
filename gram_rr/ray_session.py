"""The one owner of this process's Ray: join a cluster or start a local one, shared by nested users.

The self-training runner, each engine pool and each distributed training open a
:class:`RaySession`; sessions nest, so they all share one Ray. Only a local Ray that a session
started is shut down, when the last open session closes; a Ray started by the caller, or a
joined cluster, is left as it is. Placement groups made through a session are removed when it
closes.
"""

from __future__ import annotations

import os
from typing import Any

PLACEMENT_TIMEOUT_S = 300
CLEANER_LOGGER = "ray.train.v2._internal.execution.controller.placement_group_cleaner"
STATE_API_WARNING = "Failed to query Ray Train Controller actor state"
# Every worker of this process's Ray job: the hook below, and Ray Train's print patch off. That patch sends a
# print to the log even while a library captures stdout to read it, as dill does with ``dis.dis`` when
# ``datasets`` hashes a map function: pages of bytecode in the training log.
RUNTIME_ENV = {"worker_process_setup_hook": "gram_rr.ray_session.quiet_state_api_warning",
               "env_vars": {"RAY_TRAIN_ENABLE_PRINT_PATCH": "0"}}

_shared = {"open": 0, "started": False}  # sessions open now; whether one of them started the local Ray


def quiet_state_api_warning() -> None:
    """Ray worker setup: drop Ray Train's "cannot query the controller" warning.

    Without a dashboard (a local Ray has none) there is no state API, so Ray Train's placement-group
    cleaner logs that warning about once a second for as long as training runs (over half of a
    self-training run's log). The placement groups are still removed, by the session that made them.
    """
    import logging

    logging.getLogger(CLEANER_LOGGER).addFilter(lambda record: not record.getMessage().startswith(STATE_API_WARNING))


class RaySession:
    """A hold on this process's Ray, as a context manager (or :meth:`open` / :meth:`close`).

    Opening reuses a running Ray, else joins ``address`` (or ``$RAY_ADDRESS``), else starts a
    local Ray with ``num_cpus`` CPUs (``None``: Ray counts this machine's) and no dashboard.
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.groups: list[Any] = []
        self.is_open = False

    def open(self) -> RaySession:
        import ray

        if not ray.is_initialized():
            address = self.address or os.environ.get("RAY_ADDRESS")
            if address:
                ray.init(address=address, runtime_env=RUNTIME_ENV)
            else:
                ray.init(num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=True, runtime_env=RUNTIME_ENV)
                _shared["started"] = True
        _shared["open"] += 1
        self.is_open = True
        return self

    def close(self) -> None:
        """Remove this session's placement groups; shut down a local Ray a session started if none is left open."""
        import ray
        from ray.util.placement_group import remove_placement_group

        if not self.is_open:
            return
        self.is_open = False
        try:
            for group in self.groups:
                remove_placement_group(group)
            self.groups = []
        finally:
            _shared["open"] -= 1
            if _shared["started"] and _shared["open"] == 0:
                ray.shutdown()
                _shared["started"] = False

    def __enter__(self) -> RaySession:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def placement_group(self, bundles: list[dict[str, float]], strategy: str = "PACK", advice: str = "",
                        timeout_s: float = PLACEMENT_TIMEOUT_S) -> Any:
        """A ready placement group of ``bundles``, removed when this session closes.

        Raises ``RuntimeError`` (ending with ``advice``) when Ray cannot place it in ``timeout_s``.
        """
        import ray
        from ray.util.placement_group import placement_group, remove_placement_group

        if not self.is_open:
            raise RuntimeError("open the RaySession before making placement groups on it")
        group = placement_group(bundles, strategy=strategy)
        try:
            ray.get(group.ready(), timeout=timeout_s)
        except ray.exceptions.GetTimeoutError as err:
            remove_placement_group(group)
            raise RuntimeError(
                f"Ray could not place {len(bundles)} bundles of {bundles[0]} in {timeout_s}s; the cluster has "
                f"{ray.available_resources()} free. {advice}".rstrip()
            ) from err
        self.groups.append(group)
        return group
