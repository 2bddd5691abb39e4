"""One training process: TRL SFTTrainer (+ PEFT LoRA), checkpoints, resume, merged atomic output."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gram_rr.atomic import is_complete, mark_complete, write_json
from gram_rr.models import resolve_model
from gram_rr.training.config import TrainConfig
from gram_rr.training.examples import tokenized_examples
from gram_rr.training.freezing import freeze_lower_layers
from gram_rr.training.trl_args import checked_trl_args

MODEL_SUBDIR = "model"
CHECKPOINT_SUBDIR = "checkpoints"
METRICS_FILE = "metrics.json"


def finished_result(output_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The metrics of a run that already wrote its final model in ``output_dir``, else None."""
    out = Path(output_dir)
    if is_complete(out / MODEL_SUBDIR) and (out / METRICS_FILE).is_file():
        return json.loads((out / METRICS_FILE).read_text())
    return None


def sft_args(config: TrainConfig, checkpoint_dir: Path):
    """The ``trl.SFTConfig`` for ``config`` (its ``trl`` mapping passed through, checked)."""
    from trl import SFTConfig

    return SFTConfig(
        **trainer_args(config, checkpoint_dir),
        max_length=config.max_length,
        packing=config.packing,
        padding_free=config.packing,
        completion_only_loss=True,
        include_num_input_tokens_seen="non_padding",
        **checked_trl_args(config.trl),
    )


def trainer_args(config: TrainConfig, checkpoint_dir: Path) -> dict[str, Any]:
    """The ``transformers.TrainingArguments`` settings every gram-rr trainer shares (SFT and reward models)."""
    use_gpu = config.resolved_use_gpu()
    return dict(
        output_dir=str(checkpoint_dir),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # a float < 1 is a ratio of the total steps
        weight_decay=config.weight_decay,
        bf16=config.resolved_bf16(),
        use_cpu=not use_gpu,
        gradient_checkpointing=config.gradient_checkpointing,
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        report_to=[r for r in config.report_to if r != "none"] or "none",
        dataloader_num_workers=0,
        trust_remote_code=config.trust_remote_code,
        disable_tqdm=False,
        **strategy_args(config, use_gpu),
    )


def strategy_args(config: TrainConfig, use_gpu: bool) -> dict[str, Any]:
    """The multi-worker strategy's TrainingArguments fields (FSDP or DeepSpeed ZeRO-3; none for DDP)."""
    if config.strategy != "ddp" and not use_gpu:
        raise ValueError(f"strategy {config.strategy!r} needs GPUs; use strategy=ddp on CPUs")
    extra: dict[str, Any] = {}
    if config.strategy == "fsdp":
        extra["fsdp"] = "full_shard auto_wrap"
        extra["fsdp_config"] = {"use_orig_params": config.lora, "activation_checkpointing": config.gradient_checkpointing}
    elif config.strategy == "deepspeed_zero3":
        extra["deepspeed"] = {
            "zero_optimization": {"stage": 3, "stage3_gather_16bit_weights_on_model_save": True},
            "bf16": {"enabled": "auto"},
            "train_micro_batch_size_per_gpu": "auto",
            "gradient_accumulation_steps": "auto",
            "train_batch_size": "auto",
            "gradient_clipping": "auto",
        }
    return extra


def build_trainer(config: TrainConfig, dataset, checkpoint_dir: str | os.PathLike):
    """A ready SFT trainer (``trl.SFTTrainer`` subclass) for ``config`` (seeded; LoRA adapters attached when configured).

    ``dataset`` (from :func:`gram_rr.training.examples.sft_examples`) is tokenized here, by
    :func:`~gram_rr.training.examples.tokenized_examples`, not by TRL.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    from gram_rr.training.trainer import CompletionSFTTrainer

    set_seed(config.seed)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    model_path = resolve_model(config.model)
    tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=config.trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(
        model_path, dtype=getattr(torch, config.model_dtype), trust_remote_code=config.trust_remote_code
    )
    freeze_lower_layers(model, config.frozen_layers)
    return CompletionSFTTrainer(
        model=model,
        args=sft_args(config, Path(checkpoint_dir)),
        train_dataset=tokenized_examples(dataset, tokenizer),
        processing_class=tokenizer,
        peft_config=_lora_config(config),
        share_prompt_prefix=config.share_prompt_prefix,
        prompt_gradient=config.prompt_gradient,
        decision_token_weight=config.decision_token_weight,
        example_groups=_example_groups(config, dataset),
    )


def _example_groups(config: TrainConfig, dataset) -> list[str] | None:
    """The pair of every example when ``paired_orders`` can keep pairs together (not with packing)."""
    if not config.paired_orders or config.packing or "pair" not in dataset.column_names:
        return None
    return list(dataset["pair"])


def last_complete_checkpoint(checkpoint_dir: Path) -> str | None:
    """The newest ``checkpoint-N`` whose trainer state (written last) is readable; half-written newer ones are removed.

    A run killed while writing a checkpoint leaves a folder without (or with a torn)
    ``trainer_state.json``; resuming from it would crash, so it is dropped and the one before is used.
    """
    steps = sorted(
        (int(path.name.split("-")[1]), path)
        for path in checkpoint_dir.glob("checkpoint-*")
        if path.is_dir() and path.name.split("-")[1].isdigit()
    )
    for _, path in reversed(steps):
        try:
            json.loads((path / "trainer_state.json").read_text())
            return str(path)
        except (OSError, ValueError):
            shutil.rmtree(path, ignore_errors=True)
    return None


def run_sft(config: TrainConfig, dataset, output_dir: str | os.PathLike) -> dict[str, Any]:
    """Train in this process (alone, or as one rank of a torch.distributed group).

    Checkpoints go to ``output_dir/checkpoints`` and a rerun resumes from the last one;
    rank 0 writes the merged model to ``output_dir/model`` and ``output_dir/metrics.json``.
    """
    out = Path(output_dir).resolve()
    checkpoint_dir = out / CHECKPOINT_SUBDIR
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    trainer = build_trainer(config, dataset, checkpoint_dir)
    resume = last_complete_checkpoint(checkpoint_dir)
    output = trainer.train(resume_from_checkpoint=resume)
    final_weights = checkpoint_dir / "final"
    trainer.save_model(str(final_weights))  # collective under FSDP / ZeRO-3: every rank calls it
    metrics = _summarize(output.metrics, trainer.state.log_history, resume, checkpoint_dir)
    if trainer.is_world_process_zero():
        _export_merged(config, resolve_model(config.model), final_weights, out / MODEL_SUBDIR)
        write_json(out / METRICS_FILE, metrics)
        shutil.rmtree(final_weights, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    return metrics


def _lora_config(config: TrainConfig):
    if not config.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.lora_target_modules),
        task_type="CAUSAL_LM",
    )


def _export_merged(config: TrainConfig, base_path: str, trained: Path, target: Path) -> None:
    """Load the trained weights (merging LoRA into the base), save in ``save_dtype``, rename into place."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = getattr(torch, config.save_dtype)
    remote = config.trust_remote_code
    if config.lora:
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32, trust_remote_code=remote)
        model = PeftModel.from_pretrained(base, str(trained)).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(str(trained), dtype=torch.float32, trust_remote_code=remote)
    model = model.to(dtype)
    tokenizer = AutoTokenizer.from_pretrained(str(trained), trust_remote_code=remote)
    publish_model(model, tokenizer, target, safe_serialization=True)


def publish_model(model, tokenizer, target: Path, **save_kwargs: Any) -> None:
    """Save ``model`` and ``tokenizer`` to a temporary folder beside ``target``, mark it complete and rename it
    into place (an existing ``target`` is replaced); ``save_kwargs`` go to ``model.save_pretrained``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(staging, **save_kwargs)
        tokenizer.save_pretrained(staging)
        mark_complete(staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _summarize(train_metrics: dict, log_history: list[dict], resumed_from: str | None, checkpoint_dir: Path) -> dict:
    losses = [{"step": e["step"], "loss": e["loss"]} for e in log_history if "loss" in e]
    metrics = {k: v for k, v in train_metrics.items() if isinstance(v, (int, float))}
    metrics.update(
        losses=losses,
        first_loss=losses[0]["loss"] if losses else None,
        last_loss=losses[-1]["loss"] if losses else None,
        steps=log_history[-1]["step"] if log_history else 0,
        resumed_from=resumed_from,
        tensorboard_dir=str(checkpoint_dir / "runs"),
    )
    return metrics
