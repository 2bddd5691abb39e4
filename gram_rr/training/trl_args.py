"""TrainConfig's ``trl`` mapping: any other ``trl.SFTConfig`` field, checked against TRL's own fields.

TrainConfig names the hyper-parameters gram-rr documents and defaults itself; every other
SFTConfig / TrainingArguments field (``max_grad_norm``, ``optim``, ...) passes through ``trl``
under its TRL name. A key that is not an SFTConfig field, a value of the wrong type or an
unknown choice, and a field that :func:`gram_rr.training.sft.sft_args` already sets are errors
that name the key.
"""

from __future__ import annotations

import difflib
import enum
import functools
import typing
from typing import Any

from gram_rr.config import ConfigError, _coerce

# SFTConfig fields that sft_args fills from a TrainConfig field (set that field instead) ...
FROM_TRAIN_CONFIG = {
    "num_train_epochs": "epochs",
    "max_steps": "max_steps",
    "per_device_train_batch_size": "batch_size",
    "gradient_accumulation_steps": "grad_accum",
    "learning_rate": "learning_rate",
    "lr_scheduler_type": "lr_scheduler",
    "warmup_steps": "warmup_ratio",
    "weight_decay": "weight_decay",
    "max_length": "max_length",
    "packing": "packing",
    "padding_free": "packing",
    "bf16": "bf16",
    "use_cpu": "use_gpu",
    "gradient_checkpointing": "gradient_checkpointing",
    "seed": "seed",
    "data_seed": "seed",
    "logging_steps": "logging_steps",
    "save_steps": "save_steps",
    "save_total_limit": "save_total_limit",
    "report_to": "report_to",
    "trust_remote_code": "trust_remote_code",
    "fsdp": "strategy",
    "fsdp_config": "strategy",
    "deepspeed": "strategy",
}
# ... or fixes, because the run's checkpoints, resume, loss and metrics depend on the value.
FIXED = {
    "output_dir": "checkpoints go to the run folder's checkpoints/",
    "save_strategy": "a checkpoint every save_steps is the resume point",
    "completion_only_loss": "the loss covers the completion only",
    "logging_first_step": "metrics.json records the first loss",
    "include_num_input_tokens_seen": "metrics count the trained tokens",
    "dataloader_num_workers": "batches are built in the training process",
    "disable_tqdm": "the progress bar is the live view of a run",
}


@functools.cache
def trl_config_fields(config_name: str = "SFTConfig") -> dict[str, Any]:
    """Every field of ``trl.<config_name>`` (TrainingArguments' included) and its type hint."""
    import trl

    return typing.get_type_hints(getattr(trl, config_name))


def sft_config_fields() -> dict[str, Any]:
    """Every ``trl.SFTConfig`` field (TrainingArguments' included) and its type hint."""
    return trl_config_fields("SFTConfig")


def checked_trl_args(values: dict[str, Any] | None, where: str = "trl", config_name: str = "SFTConfig") -> dict[str, Any]:
    """``values`` typed by ``trl.<config_name>``'s hints; ConfigError for unknown, managed or mistyped keys."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping of trl.{config_name} fields, got {values!r}")
    fields = trl_config_fields(config_name)
    section = where.rpartition(".")[0]
    checked = {}
    for key, value in values.items():
        if key in FROM_TRAIN_CONFIG:
            instead = f"{section}.{FROM_TRAIN_CONFIG[key]}" if section else FROM_TRAIN_CONFIG[key]
            raise ConfigError(f"{where}.{key}: gram-rr sets it from {instead}; set that instead")
        if key in FIXED:
            raise ConfigError(f"{where}.{key}: gram-rr sets it itself ({FIXED[key]})")
        if key not in fields:
            raise ConfigError(f"{where}: unknown key {key!r}, not a trl.{config_name} field{_suggest(key, fields)}")
        checked[key] = _coerce(fields[key], value, f"{where}.{key}")
        _check_choice(fields[key], checked[key], f"{where}.{key}")
    return checked


def _check_choice(hint: Any, value: Any, where: str) -> None:
    """A string for an enum-typed field (optim, logging_strategy, ...) must be one of the enum's values."""
    for option in typing.get_args(hint):
        if isinstance(option, type) and issubclass(option, enum.Enum) and isinstance(value, str):
            choices = [member.value for member in option]
            if value not in choices:
                hint_text = _suggest(value, choices) or f"; one of {choices}"
                raise ConfigError(f"{where}: {value!r} is not a valid {option.__name__}{hint_text}")


def _suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=3)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
