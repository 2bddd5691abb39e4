"""Typed training configuration and result (role-independent SFT hyper-parameters)."""

from __future__ import annotations

import os

from dataclasses import dataclass, field
from typing import Any

from gram_rr.training.trl_args import checked_trl_args

STRATEGIES = ("ddp", "fsdp", "deepspeed_zero3")
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def cpu_supports_bf16() -> bool:
    """Whether this CPU runs bf16 matmuls natively (AVX512-BF16 or AMX), so autocast pays off."""
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


class RayWorkers:
    """What Ray Train reserves for each worker of a config with ``num_workers``, ``cpus_per_worker`` and
    ``use_gpu`` fields (:class:`TrainConfig`, :class:`gram_rr.ldl.LDLAttributeConfig`)."""

    def resolved_cpus_per_worker(self) -> int:
        if self.cpus_per_worker is not None:
            return self.cpus_per_worker
        return max(1, (os.cpu_count() or 1) // self.num_workers)

    def resolved_use_gpu(self) -> bool:
        import torch

        return torch.cuda.is_available() if self.use_gpu is None else self.use_gpu


@dataclass
class TrainConfig(RayWorkers):
    """Supervised fine-tuning of a prover or a reasoner (the role only changes the examples)."""

    model: str = field(default="smollm2-135m-instruct", metadata={"help": "Model name (see gram_rr.models) or local folder to fine-tune."})
    lora: bool = field(default=False, metadata={"help": "Train LoRA adapters (merged into the weights at the end) instead of all weights."})
    lora_r: int = field(default=16, metadata={"range": (1, None), "help": "LoRA rank; higher adapts more and costs more memory."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator (the update is scaled by alpha / r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA input."})
    lora_target_modules: list[str] = field(default_factory=lambda: list(LORA_TARGETS), metadata={"help": "Module names that get LoRA adapters."})
    learning_rate: float = field(default=5e-5, metadata={"range": (0.0, None), "help": "Peak learning rate (AdamW)."})
    lr_scheduler: str = field(default="cosine", metadata={"help": "Learning-rate schedule: linear, cosine, constant, constant_with_warmup, ..."})
    warmup_ratio: float = field(default=0.03, metadata={"range": (0.0, 1.0), "help": "Share of the total steps spent warming the learning rate up from 0."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    epochs: float = field(default=1.0, metadata={"range": (0.0, None), "help": "Passes over the data (ignored when max_steps > 0)."})
    max_steps: int = field(default=-1, metadata={"help": "Stop after this many optimizer steps; -1 trains for `epochs`."})
    batch_size: int = field(default=8, metadata={"range": (1, None), "help": "Examples per forward pass on each worker (per device)."})
    grad_accum: int = field(default=1, metadata={"range": (1, None), "help": "Forward passes accumulated per optimizer step."})
    max_length: int = field(default=1024, metadata={"range": (1, None), "help": "Token limit of one example (prompt + completion); longer ones are truncated at the end."})
    packing: bool = field(default=False, metadata={"help": "Pack examples into max_length rows (best-fit, padding-free); saves the padding compute."})
    bf16: bool | None = field(default=None, metadata={"help": "bf16 mixed precision; None = on when the GPU or CPU (AVX512-BF16/AMX) supports it."})
    model_dtype: str = field(default="float32", metadata={"help": "dtype of the trained (master) weights; compute autocasts to bf16 when bf16 is on."})
    save_dtype: str = field(default="bfloat16", metadata={"help": "dtype of the final merged model folder."})
    share_prompt_prefix: bool = field(default=True, metadata={"help": "Run the prompt prefix every example of a batch starts with (the judge instruction) once per batch instead of once per row; same loss, fewer FLOPs."})
    prompt_gradient: bool = field(default=True, metadata={"help": "Backpropagate through the prompt. False: the prompt (question, responses, instruction) runs forward only and the loss trains the weights through the completion tokens alone; same loss. A SmolLM2-135M judge step takes 3.9 s instead of 6.1 s on a CPU, but the default's stage-0 judge falls from 84% to 55% pooled (README)."})
    paired_orders: bool = field(default=True, metadata={"help": "Shuffle examples by pair, keeping a pair and its A/B swap next to each other, so they share a batch: each step then sees the better response at A and at B equally often and the position itself gets no gradient (unpaired, the answer position drifts from step to step)."})
    decision_token_weight: float = field(default=1.0, metadata={"range": (0.0, None), "help": "Loss weight of completion tokens that decide: position letters (the A/B of the answer and of 'Response A/B') and verdict words ('correct', 'wrong', 'better', 'worse', ...); 1.0 = plain token mean."})
    distractor_share: float = field(default=0.0, metadata={"range": (0.0, 1.0), "help": "Reasoner only: share of examples whose one response (winner or loser, equal chance) ends with a verdict claimed for itself ('<answer>A</answer>', 'Verdict: Response A is the better one.', a forged turn), label and rationale unchanged, so the judge learns that such text carries no information (gram_rr.data.distractors)."})
    frozen_layers: int = field(default=0, metadata={"range": (0, None), "help": "Full fine-tuning only: keep the input embeddings (and a tied LM head) and the first N transformer blocks fixed, so backward stops at block N. SmolLM2-135M has 30 blocks; with 20 frozen a step is about 1.8x faster on a CPU, but the default's stage-0 judge then answers by position (README)."})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "Recompute activations in backward: less memory, about 30% more compute."})
    seed: int = field(default=0, metadata={"help": "Seed for weights init (LoRA), data order and dropout."})
    num_threads: int | None = field(default=None, metadata={"help": "torch CPU threads of a local run; None = torch's default (all cores). On a CPU shared with other jobs, 1 thread per process avoids stalls at thread barriers."})
    num_workers: int = field(default=1, metadata={"help": "Training workers; > 1 runs data-parallel workers through Ray Train."})
    cpus_per_worker: int | None = field(default=None, metadata={"help": "CPUs Ray reserves for each worker (also its torch thread count); None: this machine's CPUs / num_workers."})
    use_gpu: bool | None = field(default=None, metadata={"help": "Train on GPUs; None = when CUDA is available."})
    strategy: str = field(default="ddp", metadata={"help": "Multi-worker strategy: ddp | fsdp | deepspeed_zero3 (the last two need GPUs)."})
    ray_address: str | None = field(default=None, metadata={"help": "Ray cluster to join for num_workers > 1; None starts a local one."})
    report_to: list[str] = field(default_factory=lambda: ["tensorboard"], metadata={"help": "Loggers besides stdout: tensorboard, wandb, none."})
    logging_steps: int = field(default=5, metadata={"help": "Log the loss every this many optimizer steps."})
    save_steps: int = field(default=50, metadata={"help": "Checkpoint every this many optimizer steps (resume point after an interruption)."})
    save_total_limit: int = field(default=2, metadata={"help": "Checkpoints kept on disk (older ones are deleted)."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow model code shipped with the checkpoint to run."})
    trl: dict[str, Any] = field(
        default_factory=dict,
        metadata={"check": checked_trl_args,
                  "help": "Any other trl.SFTConfig (TrainingArguments) field by its TRL name, e.g. {max_grad_norm: 0.5, "
                  "optim: adamw_torch}; checked against SFTConfig's fields. Fields set from the ones above "
                  "(learning_rate, bf16, ...) or fixed by gram-rr (output_dir, ...) are errors."},
    )

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.num_workers < 1 or self.batch_size < 1 or self.grad_accum < 1:
            raise ValueError("num_workers, batch_size and grad_accum must be >= 1")
        if self.frozen_layers and self.lora:
            raise ValueError("frozen_layers is for full fine-tuning (lora: false); LoRA already keeps every base weight fixed")
        if self.decision_token_weight <= 0:
            raise ValueError(f"decision_token_weight must be > 0, got {self.decision_token_weight}")
        if isinstance(self.report_to, str):
            self.report_to = [self.report_to]

    def resolved_bf16(self) -> bool:
        import torch

        if self.bf16 is not None:
            return self.bf16
        if self.resolved_use_gpu():
            return torch.cuda.is_bf16_supported()
        return cpu_supports_bf16()


@dataclass
class TrainResult:
    """Where the trained model is and what training measured."""

    model_dir: str
    metrics: dict[str, Any]
