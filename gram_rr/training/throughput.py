"""Training throughput: our SFT (TRL SFTTrainer) vs a plain PyTorch loop on the same model and data."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from typing import Any

from gram_rr.data.records import PreferencePair
from gram_rr.engines.tokens import completion_ids
from gram_rr.models import resolve_model
from gram_rr.training.config import TrainConfig
from gram_rr.training.examples import sft_examples


def padding_share(lengths: Sequence[int], batch_size: int) -> float:
    """Share of the token slots that are padding when consecutive examples are padded per batch."""
    padded = real = 0
    for start in range(0, len(lengths), batch_size):
        batch = lengths[start : start + batch_size]
        padded += max(batch) * len(batch)
        real += sum(batch)
    return (padded - real) / padded if padded else 0.0


def _plain_loop(config: TrainConfig, rows: list[tuple[list[int], int]], warmup: int, steps: int) -> float:
    """Tokens/s of a hand-written loop: right padding, prompt masked, AdamW, bf16 autocast."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(config.seed)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    model = AutoModelForCausalLM.from_pretrained(resolve_model(config.model), dtype=getattr(torch, config.model_dtype))
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    pad = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    tokens = 0
    started = 0.0
    for step in range(warmup + steps):
        start = (step * config.batch_size) % len(rows)
        batch = [rows[(start + i) % len(rows)] for i in range(config.batch_size)]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((len(batch), width), pad)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, (ids, prompt_len) in enumerate(batch):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            labels[i, prompt_len : len(ids)] = torch.tensor(ids[prompt_len:])
            mask[i, : len(ids)] = 1
        if step == warmup:
            started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.resolved_bf16()):
            loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= warmup:
            tokens += int(mask.sum())
    return tokens / (time.perf_counter() - started)


def _sft(config: TrainConfig, dataset, warmup: int, steps: int) -> float:
    """Tokens/s of our SFTTrainer setup, timed between optimizer steps (TRL's exact token count)."""
    from transformers import TrainerCallback

    from gram_rr.training.sft import build_trainer

    marks: list[tuple[float, int]] = []

    class Clock(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "num_tokens" in logs:
                marks.append((time.perf_counter(), int(float(logs["num_tokens"]))))

    run = TrainConfig(**{**vars(config), "max_steps": warmup + steps, "logging_steps": 1, "save_steps": 10**9,
                         "report_to": ["none"], "warmup_ratio": 0.0})
    with tempfile.TemporaryDirectory(prefix="gram_rr_bench_") as tmp:
        trainer = build_trainer(run, dataset, tmp)
        trainer.add_callback(Clock())
        trainer.train()
    (t0, n0), (t1, n1) = marks[warmup - 1], marks[-1]
    return (n1 - n0) / (t1 - t0)


def train_throughput(
    pairs: Sequence[PreferencePair],
    role: str = "prover",
    model: str = "smollm2-135m-instruct",
    batch_size: int = 4,
    steps: int = 3,
    warmup: int = 1,
    repeats: int = 2,
    max_length: int = 1024,
    num_threads: int | None = None,
) -> dict[str, Any]:
    """Training tokens/s (real, non-padding tokens) of: our SFT, our SFT with packing, a plain loop.

    Each method runs ``warmup + steps`` optimizer steps, ``repeats`` times in alternation
    (best run kept: the machine is shared). Same model, examples, batch size, fp32 master
    weights and bf16 autocast when the CPU supports it. ``padding_share`` is the share of
    token slots that padded batches waste and packing avoids.
    """
    from transformers import AutoTokenizer

    if warmup < 1:
        raise ValueError("warmup must be >= 1 (the first step includes one-time setup)")
    config = TrainConfig(model=model, batch_size=batch_size, max_length=max_length, num_threads=num_threads)
    dataset = sft_examples(list(pairs), role)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(model))
    rows = [completion_ids(tokenizer, row["prompt"], row["completion"]) for row in dataset]  # as our SFT tokenizes
    packed = TrainConfig(**{**vars(config), "packing": True})
    results: dict[str, list[float]] = {"plain": [], "sft": [], "sft_packed": []}
    for _ in range(repeats):
        results["plain"].append(_plain_loop(config, rows, warmup, steps))
        results["sft"].append(_sft(config, dataset, warmup, steps))
        results["sft_packed"].append(_sft(packed, dataset, warmup, steps))
    best = {name: max(values) for name, values in results.items()}
    lengths = [len(ids) for ids, _ in rows]
    return {
        "model": model,
        "role": role,
        "examples": len(rows),
        "mean_tokens_per_example": sum(lengths) / len(lengths),
        "batch_size": batch_size,
        "steps": steps,
        "bf16": config.resolved_bf16(),
        "plain_tokens_per_s": best["plain"],
        "sft_tokens_per_s": best["sft"],
        "sft_packed_tokens_per_s": best["sft_packed"],
        "sft_vs_plain": best["sft"] / best["plain"],
        "sft_packed_vs_plain": best["sft_packed"] / best["plain"],
        "padding_share": padding_share(lengths, batch_size),
        "runs": results,
        "torch_threads": _threads(),
    }


def _threads() -> int:
    import torch

    return torch.get_num_threads()
