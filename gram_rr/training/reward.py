"""Bradley-Terry scalar reward models: TRL RewardTrainer on AutoModelForSequenceClassification (num_labels=1).

The role ``scalar`` of ``python -m gram_rr.train``. It shares the SFT roles' machinery: the
recipe section and overrides (:func:`gram_rr.training.recipe.load_train_config`), LoRA or full
fine-tuning, checkpoints and resume, Ray Train for ``num_workers > 1``
(:func:`gram_rr.training.distributed.train_distributed`). Responses are tokenized by
:func:`gram_rr.scalar_tokens.response_ids`, as :class:`gram_rr.RewardModelScorer` scores them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gram_rr.atomic import write_json
from gram_rr.data.records import PreferencePair
from gram_rr.models import resolve_model
from gram_rr.pair_prompt import Question, pair_parts, question_messages
from gram_rr.training.config import TrainConfig, TrainResult
from gram_rr.training.freezing import freeze_lower_layers
from gram_rr.training.sft import (
    CHECKPOINT_SUBDIR,
    METRICS_FILE,
    MODEL_SUBDIR,
    _summarize,
    finished_result,
    last_complete_checkpoint,
    publish_model,
)
from gram_rr.training.trl_args import checked_trl_args


def checked_reward_args(values: dict[str, Any] | None, where: str = "trl") -> dict[str, Any]:
    """A ScalarTrainConfig's ``trl`` mapping, checked against ``trl.RewardConfig``'s fields."""
    return checked_trl_args(values, where, config_name="RewardConfig")


@dataclass
class ScalarTrainConfig(TrainConfig):
    """Bradley-Terry training of a scalar reward model: TrainConfig's fields, less the SFT-only ones.

    ``packing``, ``decision_token_weight``, ``prompt_gradient``, ``share_prompt_prefix`` and
    ``paired_orders`` shape SFT examples and their token loss; a reward model scores whole
    responses, so the first three must keep their defaults and the last two are not used.
    """

    trl: dict[str, Any] = field(
        default_factory=dict,
        metadata={"check": checked_reward_args,
                  "help": "Any other trl.RewardConfig (TrainingArguments) field by its TRL name, e.g. "
                  "{center_rewards_coefficient: 0.01, max_grad_norm: 0.5}; checked against RewardConfig's fields."},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.packing:
            raise ValueError("packing is an SFT setting; a scalar reward model trains on whole responses")
        if self.decision_token_weight != 1.0:
            raise ValueError("decision_token_weight is an SFT setting; a scalar reward model has no answer tokens")
        if not self.prompt_gradient:
            raise ValueError("prompt_gradient is an SFT setting; a scalar reward model scores the whole text")


def preference_triples(pairs: Sequence[PreferencePair]) -> list[tuple[Question, str, str, str]]:
    """``(question, chosen, rejected, pair id)`` of every labeled pair; an unlabeled pair is an error."""
    triples = []
    for pair in pairs:
        if pair.label is None:
            raise ValueError(f"pair {pair.id!r} has no label; a reward model trains on labeled pairs")
        question, response_a, response_b = pair_parts(pair)
        chosen, rejected = (response_a, response_b) if pair.label == "A" else (response_b, response_a)
        triples.append((question, chosen, rejected, pair.id))
    return triples


def reward_examples(pairs: Sequence[PreferencePair]):
    """A ``datasets.Dataset`` in TRL's conversational preference format with an explicit prompt:
    ``prompt`` (the question's messages), ``chosen`` / ``rejected`` (one assistant message each), ``pair``."""
    from datasets import Dataset

    if not pairs:
        raise ValueError("no pairs to train a reward model on")
    rows = [
        {"prompt": question_messages(question), "chosen": [{"role": "assistant", "content": chosen}],
         "rejected": [{"role": "assistant", "content": rejected}], "pair": pair_id}
        for question, chosen, rejected, pair_id in preference_triples(pairs)
    ]
    return Dataset.from_list(rows)


def tokenized_reward_examples(dataset, tokenizer, max_length: int):
    """``dataset`` (from :func:`reward_examples`) as ``chosen_ids`` / ``rejected_ids``, which RewardTrainer
    takes as they are: contents stay text, long inputs keep their last ``max_length`` ids (as scored)."""
    from datasets import Dataset

    from gram_rr.scalar_tokens import response_ids

    def ids(example, side: str) -> list[int]:
        return response_ids(tokenizer, example["prompt"], example[side][0]["content"], max_length)

    return Dataset.from_list([{"chosen_ids": ids(e, "chosen"), "rejected_ids": ids(e, "rejected")} for e in dataset])


def reward_args(config: ScalarTrainConfig, checkpoint_dir: Path):
    """The ``trl.RewardConfig`` for ``config``: the settings every trainer shares
    (:func:`gram_rr.training.sft.trainer_args`); its ``trl`` mapping passed through, checked."""
    from trl import RewardConfig

    from gram_rr.training.sft import trainer_args

    return RewardConfig(
        **trainer_args(config, checkpoint_dir),
        max_length=None,  # inputs are cut to config.max_length as the scorer cuts them, never dropped
        **checked_reward_args(config.trl),
    )


def _lora_config(config: ScalarTrainConfig):
    if not config.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.lora_target_modules),
        task_type="SEQ_CLS",  # the reward head ("score") is trained in full and saved with the adapters
        modules_to_save=["score"],
    )


def _load_classifier(path: str, config: ScalarTrainConfig, dtype=None):
    """``AutoModelForSequenceClassification`` with one output on ``path`` (a causal LM's new head is random)."""
    import torch
    from transformers import AutoModelForSequenceClassification
    from trl.trainer.reward_trainer import suppress_seqcls_warning

    with suppress_seqcls_warning():
        return AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=1, dtype=dtype or getattr(torch, config.model_dtype),
            trust_remote_code=config.trust_remote_code,
        )


def build_reward_trainer(config: ScalarTrainConfig, dataset, checkpoint_dir: str | os.PathLike):
    """A ready ``trl.RewardTrainer`` (seeded; LoRA adapters attached when configured) on ``dataset``
    (from :func:`reward_examples`), tokenized here by :func:`tokenized_reward_examples`."""
    import torch
    from transformers import AutoTokenizer, set_seed
    from trl import RewardTrainer

    set_seed(config.seed)  # before the head is initialised
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    model_path = resolve_model(config.model)
    tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=config.trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = _load_classifier(model_path, config)
    freeze_lower_layers(model, config.frozen_layers)
    model.config.pad_token_id = tokenizer.pad_token_id
    return RewardTrainer(
        model=model,
        args=reward_args(config, Path(checkpoint_dir)),
        train_dataset=tokenized_reward_examples(dataset, tokenizer, config.max_length),
        processing_class=tokenizer,
        peft_config=_lora_config(config),
    )


def run_reward(config: ScalarTrainConfig, dataset, output_dir: str | os.PathLike) -> dict[str, Any]:
    """Train in this process (alone, or as one rank of a torch.distributed group).

    Checkpoints go to ``output_dir/checkpoints`` and a rerun resumes from the last one; rank 0
    writes the reward model (LoRA merged) to ``output_dir/model`` and ``output_dir/metrics.json``.
    """
    out = Path(output_dir).resolve()
    checkpoint_dir = out / CHECKPOINT_SUBDIR
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    trainer = build_reward_trainer(config, dataset, checkpoint_dir)
    resume = last_complete_checkpoint(checkpoint_dir)
    output = trainer.train(resume_from_checkpoint=resume)
    final_weights = checkpoint_dir / "final"
    trainer.save_model(str(final_weights))  # collective under FSDP / ZeRO-3: every rank calls it
    metrics = _summarize(output.metrics, trainer.state.log_history, resume, checkpoint_dir)
    accuracies = [e["accuracy"] for e in trainer.state.log_history if "accuracy" in e]
    metrics.update(first_accuracy=accuracies[0] if accuracies else None, last_accuracy=accuracies[-1] if accuracies else None)
    if trainer.is_world_process_zero():
        export_reward_model(config, resolve_model(config.model), final_weights, out / MODEL_SUBDIR)
        write_json(out / METRICS_FILE, metrics)
        shutil.rmtree(final_weights, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    return metrics


def export_reward_model(config: ScalarTrainConfig, base_path: str, trained: Path, target: Path) -> None:
    """Load the trained classifier (merging LoRA into the base), save it in ``save_dtype`` with its
    tokenizer and ``pad_token_id`` as a safetensors folder, and rename it into place."""
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(trained), trust_remote_code=config.trust_remote_code)
    if config.lora:
        from peft import PeftModel

        base = _load_classifier(base_path, config, dtype=torch.float32)
        model = PeftModel.from_pretrained(base, str(trained)).merge_and_unload()
    else:
        model = _load_classifier(str(trained), config, dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    model = model.to(getattr(torch, config.save_dtype))
    publish_model(model, tokenizer, target, safe_serialization=True)


def train_reward(config: ScalarTrainConfig, dataset, output_dir: str | os.PathLike, use_ray: bool = False) -> TrainResult:
    """Train a Bradley-Terry reward model on ``dataset`` (from :func:`reward_examples`), as
    :func:`gram_rr.train.train_sft` trains SFT: here, or through Ray Train when ``num_workers > 1`` or
    ``use_ray``; ``output_dir/model`` gets a safetensors sequence classifier that
    :class:`gram_rr.RewardModelScorer` and ``AutoModelForSequenceClassification`` load; a finished run is returned."""
    out = Path(output_dir).resolve()
    metrics = finished_result(out)
    if metrics is None:
        if config.num_workers > 1 or use_ray:
            from gram_rr.training.distributed import train_distributed

            metrics = train_distributed(config, dataset, out, run=run_reward)
        else:
            metrics = run_reward(config, dataset, out)
    return TrainResult(model_dir=str(out / MODEL_SUBDIR), metrics=metrics)
