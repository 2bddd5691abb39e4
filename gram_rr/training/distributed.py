"""Run the same training (SFT, a Bradley-Terry reward model's or LDL's stage 1) as N data-parallel workers
through Ray Train's TorchTrainer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from collections.abc import Callable
from typing import Any

from gram_rr.ray_session import RaySession
from gram_rr.training.config import RayWorkers
from gram_rr.training.sft import METRICS_FILE, run_sft

DATASET_SUBDIR = "dataset"


def _worker(loop_config: dict[str, Any]) -> None:
    """One Ray Train worker: the process group is set up; train one rank with ``loop_config["run"]``."""
    from datasets import load_from_disk

    config = loop_config["config_class"](**loop_config["config"])
    config.num_threads = config.num_threads or config.resolved_cpus_per_worker()
    loop_config["run"](config, load_from_disk(loop_config["dataset"]), loop_config["output_dir"])


def train_distributed(
    config: RayWorkers, dataset, output_dir: str | os.PathLike, run: Callable[..., dict[str, Any]] = run_sft
) -> dict[str, Any]:
    """Train ``config.num_workers`` ranks (gloo DDP on CPUs, NCCL on GPUs; FSDP/ZeRO-3 by ``strategy``).

    Each rank calls ``run(config, dataset, output_dir)`` (:func:`run_sft`,
    :func:`gram_rr.training.reward.run_reward` for a scalar reward model, or
    :func:`gram_rr.ldl.train.run_attributes` for LDL's stage 1). ``config`` is a dataclass with
    ``num_workers``, ``cpus_per_worker``, ``use_gpu``, ``ray_address`` and ``num_threads``
    (:class:`gram_rr.training.config.TrainConfig`, :class:`gram_rr.ldl.LDLAttributeConfig`).

    The dataset is saved under ``output_dir/dataset`` for the workers to read, so on a
    multi-node cluster ``output_dir`` must be on storage every node sees. Rank 0 writes the
    model and ``metrics.json``; the metrics are read back from that file.
    """
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    data_dir = out / DATASET_SUBDIR
    staging = out / f".{DATASET_SUBDIR}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    dataset.save_to_disk(str(staging))
    shutil.rmtree(data_dir, ignore_errors=True)
    os.replace(staging, data_dir)

    # The caller's open Ray session if any (a self-training run's), else join ``ray_address`` or start a local Ray.
    with RaySession(address=config.ray_address):
        use_gpu = config.resolved_use_gpu()
        resources = {"CPU": config.resolved_cpus_per_worker()} | ({"GPU": 1} if use_gpu else {})
        trainer = TorchTrainer(
            _worker,
            train_loop_config={"config": asdict(config), "config_class": type(config), "run": run,
                               "dataset": str(data_dir), "output_dir": str(out)},
            torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
            scaling_config=ScalingConfig(num_workers=config.num_workers, use_gpu=use_gpu, resources_per_worker=resources),
            run_config=RunConfig(name="sft", storage_path=str(out / "ray")),
        )
        ctrl_c = signal.getsignal(signal.SIGINT)
        try:
            result = trainer.fit()
        finally:
            # fit() installs a Ctrl-C handler that aborts its run and never removes it; left in place,
            # Ctrl-C would be swallowed for the rest of the process (e.g. a self-training run).
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, ctrl_c)
    if result.error is not None:
        raise RuntimeError(f"distributed training failed: {result.error}") from result.error
    metrics_path = out / METRICS_FILE
    if not metrics_path.is_file():
        raise RuntimeError(f"distributed training finished without writing {metrics_path}")
    return json.loads(metrics_path.read_text())
