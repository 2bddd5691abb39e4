"""Two data-parallel CPU workers through Ray Train (gloo DDP) on the tiny in-process model."""

from __future__ import annotations

import json
import signal

import pytest

from gram_rr.data.records import PreferencePair
from gram_rr.train import TrainConfig, sft_examples, train_sft


@pytest.fixture()
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.mark.ray
def test_two_cpu_workers_loss_falls_and_checkpoint_loads(tiny_model_dir, tmp_path, ray_cluster):
    from transformers import AutoModelForCausalLM

    pairs = [
        PreferencePair(id=f"r{i}", question=f"What is {i} * 2?", response_a=f"{2 * i}", response_b=f"{2 * i + 2}",
                       label="A", rationale=f"{i} * 2 = {2 * i}, as Response A says.")
        for i in range(8)
    ]
    config = TrainConfig(model=tiny_model_dir, num_workers=2, batch_size=2, max_steps=4, learning_rate=2e-3,
                         lr_scheduler="constant", warmup_ratio=0.0, logging_steps=1, report_to=["none"])
    ctrl_c = signal.getsignal(signal.SIGINT)
    result = train_sft(config, sft_examples(pairs, "reasoner"), tmp_path / "run")
    assert signal.getsignal(signal.SIGINT) is ctrl_c  # Ctrl-C still stops the caller after training
    metrics = result.metrics
    assert metrics == json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["steps"] == 4
    assert metrics["last_loss"] < metrics["first_loss"] - 0.3, metrics["losses"]
    # Both ranks fed the counter: tokens seen are gathered over the 2 workers (2 x 2 examples per step).
    assert metrics["num_input_tokens_seen"] > 4 * 2 * 2 * 400  # each example is over 400 tokens
    AutoModelForCausalLM.from_pretrained(result.model_dir)
