"""train_sft on the tiny in-process model: loss falls, merged folder loads, LoRA merges, resume works."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gram_rr.data.records import PreferencePair
from gram_rr.train import TrainConfig, sft_examples, train_sft


def _pairs(n: int = 8) -> list[PreferencePair]:
    pairs = []
    for i in range(n):
        right, wrong = f"{i} + {i} = {2 * i}", f"{i} + {i} = {2 * i + 1}"
        pair = PreferencePair(
            id=f"t{i}", question=f"What is {i} + {i}?", response_a=right, response_b=wrong, label="A",
            rationale=f"Response A adds correctly: {i} + {i} = {2 * i}.",
        )
        pairs.append(pair if i % 2 == 0 else pair.swapped())
    return pairs


def _config(model: str, **overrides) -> TrainConfig:
    values = dict(model=model, batch_size=2, learning_rate=2e-3, warmup_ratio=0.0, lr_scheduler="constant",
                  logging_steps=1, save_steps=100, report_to=["none"])
    return TrainConfig(**(values | overrides))


def _load(folder: str):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder)


def test_full_finetune_loss_falls_and_merged_folder_loads(tiny_model_dir, tmp_path):
    dataset = sft_examples(_pairs(), "reasoner")
    result = train_sft(_config(tiny_model_dir, max_steps=6), dataset, tmp_path / "run")
    metrics = result.metrics
    assert metrics["steps"] == 6 and len(metrics["losses"]) >= 6
    assert metrics["last_loss"] < metrics["first_loss"] - 0.5, metrics["losses"]
    folder = Path(result.model_dir)
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    model = _load(result.model_dir)
    assert model.dtype == torch.bfloat16
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["steps"] == 6
    # A finished run is returned as it is, without training again.
    again = train_sft(_config(tiny_model_dir, max_steps=6), dataset, tmp_path / "run")
    assert again.metrics == metrics


def test_lora_adapters_are_merged_into_plain_weights(tiny_model_dir, tmp_path):
    config = _config(tiny_model_dir, max_steps=3, lora=True, lora_r=4, lora_alpha=8, learning_rate=1e-2)
    result = train_sft(config, sft_examples(_pairs(4), "prover"), tmp_path / "lora")
    merged, base = _load(result.model_dir), _load(tiny_model_dir)
    names = [name for name, _ in merged.named_parameters()]
    assert not any("lora" in name for name in names) and names == [n for n, _ in base.named_parameters()]
    changed = [n for n, p in merged.named_parameters() if not torch.equal(p, dict(base.named_parameters())[n])]
    assert any("q_proj" in n for n in changed), "the LoRA update reached the attention weights"
    assert not any("embed_tokens" in n for n in changed), "only adapted modules change"


def test_resume_after_interruption_continues_from_last_checkpoint(tiny_model_dir, tmp_path, monkeypatch):
    import trl

    dataset = sft_examples(_pairs(), "reasoner")
    config = _config(tiny_model_dir, max_steps=4, save_steps=2)
    original = trl.SFTTrainer.training_step
    calls = {"n": 0}

    def counted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("simulated interruption during step 4")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(trl.SFTTrainer, "training_step", counted)
    with pytest.raises(KeyboardInterrupt):
        train_sft(config, dataset, tmp_path / "run")
    assert not (tmp_path / "run" / "model").exists(), "no final model after an interruption"
    assert (tmp_path / "run" / "checkpoints" / "checkpoint-2").is_dir()

    result = train_sft(config, dataset, tmp_path / "run")
    assert calls["n"] == 4 + 2, "the rerun trains only steps 3 and 4"
    assert result.metrics["resumed_from"].endswith("checkpoint-2")
    assert result.metrics["steps"] == 4
    assert [e["step"] for e in result.metrics["losses"]] == [1, 2, 3, 4], "history restored from the checkpoint"
    _load(result.model_dir)


def test_gpu_strategies_are_refused_on_cpu(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match="needs GPUs"):
        train_sft(_config(tiny_model_dir, strategy="fsdp", use_gpu=False), sft_examples(_pairs(2), "prover"), tmp_path)


def test_frozen_layers_keep_embeddings_and_lower_blocks_fixed(tiny_model_dir, tmp_path):
    base = _load(tiny_model_dir)
    blocks = base.config.num_hidden_layers
    assert blocks >= 2
    result = train_sft(_config(tiny_model_dir, max_steps=3, frozen_layers=1), sft_examples(_pairs(4), "reasoner"),
                       tmp_path / "frozen")
    trained = dict(_load(result.model_dir).named_parameters())
    initial = dict(base.named_parameters())

    def changed(name: str) -> bool:
        # The merged folder is bf16: compare at that precision.
        return not torch.equal(trained[name], initial[name].to(torch.bfloat16))

    fixed = [n for n in trained if n.startswith(("model.embed_tokens.", "model.layers.0."))]
    moved = [n for n in trained if n.startswith(f"model.layers.{blocks - 1}.") and "weight" in n and "norm" not in n]
    assert fixed and moved
    assert not any(changed(n) for n in fixed), [n for n in fixed if changed(n)]
    assert all(changed(n) for n in moved), [n for n in moved if not changed(n)]


def test_frozen_layers_is_checked(tiny_model_dir):
    from gram_rr.training.freezing import freeze_lower_layers

    with pytest.raises(ValueError, match="full fine-tuning"):
        TrainConfig(frozen_layers=2, lora=True)

    class NoBlocks(torch.nn.Module):
        base_model = torch.nn.Linear(2, 2)

    with pytest.raises(ValueError, match="no `layers` list"):
        freeze_lower_layers(NoBlocks(), 1)
    model = _load(tiny_model_dir)
    for count in (-1, model.config.num_hidden_layers + 1):
        with pytest.raises(ValueError, match=rf"frozen_layers={count}: .* has {model.config.num_hidden_layers} transformer blocks"):
            freeze_lower_layers(model, count)
