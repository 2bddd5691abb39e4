"""RaySession: nested sessions share one Ray, started and stopped once; a Ray we did not start is left running."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gram_rr.ray_session import CLEANER_LOGGER, STATE_API_WARNING, RaySession

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

# Joins the Ray at argv[1] (num_cpus only applies to a Ray it would start), prints the cluster's CPUs and
# address, then whether it is still connected after its session closed. Ray's driver may also print
# autoscaler events of the cluster it joined (e.g. the infeasible request above), so results carry a tag.
JOIN = """
import sys
import ray
from gram_rr.ray_session import RaySession

with RaySession(address=sys.argv[1], num_cpus=7):
    print("RESULT", int(ray.cluster_resources()["CPU"]), ray.get_runtime_context().gcs_address)
print("RESULT", ray.is_initialized())
"""


@pytest.fixture()
def ray_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts ray.init and ray.shutdown calls (the real ones still run)."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    calls = {"init": 0, "shutdown": 0}
    for name in calls:
        real = getattr(ray, name)

        def counted(*args, _name=name, _real=real, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(ray, name, counted)
    return calls


@ray.remote(num_cpus=0)
def cleaner_passes(messages: list[str]) -> list[bool]:
    """In a Ray worker: which warnings of Ray Train's placement-group cleaner its logger lets through."""
    import logging

    logger = logging.getLogger(CLEANER_LOGGER)
    return [bool(logger.filter(logging.LogRecord(CLEANER_LOGGER, logging.WARNING, __file__, 0, m, None, None)))
            for m in messages]


@ray.remote(num_cpus=0)
def worker_env(name: str) -> str | None:
    import os

    return os.environ.get(name)


def group_state(group) -> str:
    from ray.util import placement_group_table

    return placement_group_table(group)["state"]


def test_nested_sessions_start_ray_once_and_stop_it_at_the_outermost_exit(ray_calls: dict[str, int]) -> None:
    assert not ray.is_initialized()
    with RaySession(num_cpus=2) as outer:
        assert ray.cluster_resources()["CPU"] == 2
        assert ray.get(cleaner_passes.remote([f"{STATE_API_WARNING}. Continuing.", "Cleaning up placement group"])) == [
            False, True]  # the local Ray's workers drop only the cleaner's state-API warning
        assert ray.get(worker_env.remote("RAY_TRAIN_ENABLE_PRINT_PATCH")) == "0"  # no print patch: no dill bytecode
        with RaySession(num_cpus=1) as inner:  # reuses the running Ray
            group = inner.placement_group([{"CPU": 1}])
            assert group_state(group) == "CREATED"
        inner.close()  # closing twice is a no-op
        assert group_state(group) == "REMOVED"
        assert ray.is_initialized() and ray_calls == {"init": 1, "shutdown": 0}

        with pytest.raises(RuntimeError, match=r"could not place 1 bundles of \{'CPU': 3\}.*Use fewer CPUs\.$"):
            outer.placement_group([{"CPU": 3}], advice="Use fewer CPUs.", timeout_s=1)
        assert outer.groups == [] and {g["state"] for g in ray.util.placement_group_table().values()} == {"REMOVED"}

        # Another process given this Ray's address joins it instead of starting one, and leaves it running.
        address = ray.get_runtime_context().gcs_address
        joined = subprocess.run([sys.executable, "-c", JOIN, address], capture_output=True, text=True, timeout=180)
        assert joined.returncode == 0, joined.stderr[-2000:]
        results = [line.split()[1:] for line in joined.stdout.splitlines() if line.startswith("RESULT ")]
        assert results == [["2", address], ["True"]], joined.stdout[-2000:]
        assert ray.cluster_resources()["CPU"] == 2
    assert not ray.is_initialized() and ray_calls == {"init": 1, "shutdown": 1}


def test_a_ray_started_by_the_caller_is_left_running(ray_calls: dict[str, int]) -> None:
    ray.init(num_cpus=1, include_dashboard=False)
    try:
        with RaySession(num_cpus=2) as session:
            group = session.placement_group([{"CPU": 1}])
        assert group_state(group) == "REMOVED"
        assert ray.is_initialized() and ray.cluster_resources()["CPU"] == 1
        assert ray_calls == {"init": 1, "shutdown": 0}
    finally:
        ray.shutdown()
