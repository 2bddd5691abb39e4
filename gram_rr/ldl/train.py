"""Train an LDL reward model in two stages (seed 000): label distributions per attribute, then the gate.

    stage 1  rated responses -> backbone (optional) + heads; loss = KL(discrete Gaussian of the rating || head)
    stage 2  preference pairs -> gate only (backbone and heads frozen, features computed once);
             loss = -log sigmoid(score(chosen) - score(rejected)), score = E[gated distribution]

The run folder gets ``attributes/`` (after stage 1: uniform gate), ``model/`` (the finished model)
and ``metrics.json``; each folder is written under a temporary name and renamed into place, and a
rerun skips a finished stage. With ``num_workers > 1`` stage 1 runs as Ray Train workers
(:func:`gram_rr.training.distributed.train_distributed`, as the SFT and Bradley-Terry roles do:
gloo on CPUs, NCCL on GPUs); each optimizer step splits its batch between the workers and sums
their gradients, so it is the one-worker step. Stage 2 (the gate on cached features) runs here.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from gram_rr.atomic import is_complete, write_json
from gram_rr.data.ratings import RatedResponse
from gram_rr.data.records import PreferencePair
from gram_rr.ldl.config import LDLAttributeConfig, LDLGatingConfig
from gram_rr.ldl.distribution import discrete_gaussian, kl_loss, scale_values
from gram_rr.ldl.model import LDLRewardModel, LDLSpec
from gram_rr.models import resolve_model
from gram_rr.scalar_tokens import response_ids
from gram_rr.training.sft import publish_model

ATTRIBUTES_SUBDIR = "attributes"
MODEL_SUBDIR = "model"
METRICS_FILE = "metrics.json"


def _device(use_gpu: bool) -> torch.device:
    return torch.device("cuda" if use_gpu else "cpu")


def _use_bf16(flag: bool | None, device: torch.device) -> bool:
    from gram_rr.training.config import cpu_supports_bf16

    if flag is not None:
        return flag
    return torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_supports_bf16()


def _rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of workers of its torch.distributed group ((0, 1) alone)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _sum_over_workers(tensors: Sequence[torch.Tensor]) -> None:
    """Sum each tensor, in place, over the workers of the torch.distributed group (alone: unchanged)."""
    import torch.distributed as dist

    if _rank_and_world()[1] > 1:
        for tensor in tensors:
            dist.all_reduce(tensor)


def rated_dataset(rated: Sequence[RatedResponse]):
    """``rated`` as a ``datasets.Dataset`` (one JSON ``record`` column) for Ray Train's workers."""
    from datasets import Dataset

    return Dataset.from_dict({"record": [json.dumps(dataclasses.asdict(item)) for item in rated]})


def rated_from_dataset(dataset) -> list[RatedResponse]:
    """The rated responses of a :func:`rated_dataset`."""
    return [RatedResponse(**json.loads(record)) for record in dataset["record"]]


def _padded(rows: Sequence[list[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ``input_ids`` and ``attention_mask`` of ``rows``."""
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = torch.tensor(row)
        mask[r, : len(row)] = 1
    return ids.to(device), mask.to(device)


def _pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


@torch.no_grad()
def cached_features(model: LDLRewardModel, rows: Sequence[list[int]], pad_id: int, batch_size: int, bf16: bool) -> torch.Tensor:
    """(len(rows), hidden) float32 last-token features, computed in length-sorted batches (eval mode).
    With several workers each computes every n-th row's and they are summed into the whole table."""
    rank, world = _rank_and_world()
    mine = list(range(rank, len(rows), world))
    features = torch.zeros((len(rows), model.config.hidden_size), device=model.device)
    features[mine] = _features(model, [rows[k] for k in mine], pad_id, batch_size, bf16).to(model.device)
    _sum_over_workers([features])
    return features.cpu()


def _features(model: LDLRewardModel, rows: Sequence[list[int]], pad_id: int, batch_size: int, bf16: bool) -> torch.Tensor:
    """(len(rows), hidden) float32 features of ``rows`` on the CPU, computed here."""
    model.eval()
    device = model.device
    order = sorted(range(len(rows)), key=lambda k: len(rows[k]))
    features = torch.zeros((len(rows), model.config.hidden_size))
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        ids, mask = _padded([rows[k] for k in batch], pad_id, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            features[batch] = model.features(ids, mask).float().cpu()
    return features


def _start_from_rank_zero(model: torch.nn.Module) -> None:
    """Every worker takes rank 0's weights (as DDP does), whatever its own initialisation."""
    import torch.distributed as dist

    if _rank_and_world()[1] > 1:
        for tensor in model.state_dict().values():
            dist.broadcast(tensor, 0)


def _summed_gradients(parameters: Sequence[torch.nn.Parameter], loss: torch.Tensor) -> torch.Tensor:
    """Sum the gradients of ``parameters`` over the workers (a worker without rows adds zeros);
    returns ``loss`` summed likewise (alone: both unchanged)."""
    loss = loss.detach().clone()
    if _rank_and_world()[1] > 1:
        for parameter in parameters:
            if parameter.grad is None:
                parameter.grad = torch.zeros_like(parameter)
        _sum_over_workers([parameter.grad for parameter in parameters] + [loss])
    return loss


def train_attributes(config: LDLAttributeConfig, rated: Sequence[RatedResponse], target: Path) -> dict[str, Any]:
    """Stage 1: fit the distribution heads (and the backbone when ``train_backbone``) to ``rated``; save to ``target``.

    As one worker of a torch.distributed group, each step's batch is split between the workers
    (every n-th row), their gradients are summed and rank 0 saves the model."""
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    if not rated:
        raise ValueError("stage 1 needs rated responses")
    missing = sorted({name for item in rated for name in config.attributes if name not in item.ratings})
    if missing:
        raise ValueError(f"the rated responses lack the attribute(s) {missing}")
    torch.manual_seed(config.seed)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    started = time.perf_counter()
    path = resolve_model(config.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    spec = LDLSpec(list(config.attributes), config.low, config.high, config.bins, config.sigma)
    model = LDLRewardModel.from_base(path, spec).to(_device(config.resolved_use_gpu()))
    _start_from_rank_zero(model)
    bf16 = _use_bf16(config.bf16, model.device)
    values = scale_values(config.low, config.high, config.bins)
    ratings = torch.tensor([[item.ratings[name] for name in config.attributes] for item in rated])
    targets = discrete_gaussian(ratings, values, config.sigma).to(model.device)
    rows = [response_ids(tokenizer, item.prompt, item.response, config.max_length) for item in rated]
    pad_id = _pad_id(tokenizer)
    features = None
    if not config.train_backbone:
        model.backbone.requires_grad_(False)
        features = cached_features(model, rows, pad_id, config.batch_size, bf16).to(model.device)
    groups = [{"params": model.heads.parameters(), "lr": config.head_learning_rate}]
    if config.train_backbone:
        groups.append({"params": model.backbone.parameters(), "lr": config.learning_rate})
    optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(rows) / config.batch_size)
    total = steps_per_epoch * config.epochs
    schedule = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total), total)
    generator = torch.Generator().manual_seed(config.seed)
    rank, world = _rank_and_world()
    trained = [parameter for group in optimizer.param_groups for parameter in group["params"]]
    losses = []
    model.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(rows), generator=generator).tolist()
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            mine = batch[rank::world]
            loss = torch.zeros((), device=model.device)
            if mine:
                if features is None:
                    ids, mask = _padded([rows[k] for k in mine], pad_id, model.device)
                    with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=bf16):
                        batch_features = model.features(ids, mask)
                else:
                    batch_features = features[mine]
                # this worker's share of the batch mean; summed over the workers, the batch mean
                loss = kl_loss(model.attribute_log_probs(batch_features), targets[mine]) * (len(mine) / len(batch))
                loss.backward()
            loss = _summed_gradients(trained, loss)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(round(loss.item(), 6))
    if rank == 0:
        publish_model(model.eval(), tokenizer, target, dtype=getattr(torch, config.save_dtype))
    return {"responses": len(rows), "steps": len(losses), "first_loss": losses[0], "last_loss": losses[-1],
            "epoch_losses": _epoch_means(losses, steps_per_epoch), "bf16": bf16,
            "seconds": round(time.perf_counter() - started, 1)}


def run_attributes(config: LDLAttributeConfig, dataset, output_dir: str | os.PathLike) -> dict[str, Any]:
    """Stage 1 as one Ray Train worker (the ``run`` of :func:`gram_rr.training.distributed.train_distributed`):
    the rated responses of ``dataset`` (:func:`rated_dataset`) into ``output_dir/attributes``; rank 0
    writes ``output_dir/metrics.json`` (``{"attributes": ...}``, as :func:`train_ldl` does)."""
    out = Path(output_dir)
    stage1 = train_attributes(config, rated_from_dataset(dataset), out / ATTRIBUTES_SUBDIR)
    if _rank_and_world()[0] == 0:
        write_json(out / METRICS_FILE, {"attributes": stage1})
    return stage1


def _epoch_means(losses: list[float], per_epoch: int) -> list[float]:
    return [round(sum(chunk) / len(chunk), 6) for chunk in (losses[i : i + per_epoch] for i in range(0, len(losses), per_epoch))]


def train_gating(
    config: LDLGatingConfig, folder: Path, pairs: Sequence[PreferencePair], target: Path, save_dtype: str = "bfloat16"
) -> dict[str, Any]:
    """Stage 2: load the stage-1 model from ``folder``, fit its gate to ``pairs`` (Bradley-Terry on the
    expected rating) with backbone and heads frozen, and save the finished model to ``target``."""
    from transformers import AutoTokenizer

    from gram_rr.training.reward import preference_triples

    torch.manual_seed(config.seed)
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = LDLRewardModel.from_pretrained(folder, dtype=torch.float32).to(_device(torch.cuda.is_available()))
    model.requires_grad_(False)
    model.gate.requires_grad_(True)
    triples = preference_triples(pairs)
    if not triples:
        raise ValueError("stage 2 needs labeled preference pairs")
    unique: dict[tuple[str, str], int] = {}
    rows = []
    index = []
    for question, chosen, rejected, _ in triples:
        sides = []
        for response in (chosen, rejected):
            key = (repr(question), response)
            if key not in unique:
                unique[key] = len(rows)
                rows.append(response_ids(tokenizer, question, response, config.max_length))
            sides.append(unique[key])
        index.append(sides)
    bf16 = _use_bf16(config.bf16, model.device)
    features = cached_features(model, rows, _pad_id(tokenizer), config.feature_batch_size, bf16).to(model.device)
    pair_index = torch.tensor(index, device=model.device)

    @torch.no_grad()
    def whole_set() -> tuple[float, float]:
        """BT loss and accuracy over every pair (full batch)."""
        scores = model.head_outputs(features).logits[:, 0]
        margins = scores[pair_index[:, 0]] - scores[pair_index[:, 1]]
        return -torch.nn.functional.logsigmoid(margins).mean().item(), (margins > 0).float().mean().item()

    initial_loss, initial_accuracy = whole_set()
    optimizer = torch.optim.AdamW(model.gate.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    losses = []
    for _ in range(config.epochs):
        order = torch.randperm(len(index), generator=generator)
        epoch = []
        for start in range(0, len(order), config.batch_size):
            batch = pair_index[order[start : start + config.batch_size].to(model.device)]
            chosen = model.head_outputs(features[batch[:, 0]]).logits[:, 0]
            rejected = model.head_outputs(features[batch[:, 1]]).logits[:, 0]
            loss = -torch.nn.functional.logsigmoid(chosen - rejected).mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            epoch.append(loss.item())
        losses.append(round(sum(epoch) / len(epoch), 6))
    final_loss, accuracy = whole_set()
    with torch.no_grad():
        weights = model.head_outputs(features).gate_weights.mean(dim=0).tolist()
    model.spec.gated = True
    publish_model(model.eval(), tokenizer, target, dtype=getattr(torch, save_dtype))
    return {"pairs": len(triples), "epoch_losses": losses, "first_loss": losses[0], "last_loss": losses[-1],
            "initial_loss": round(initial_loss, 6), "final_loss": round(final_loss, 6),
            "initial_accuracy": round(initial_accuracy, 4), "train_accuracy": round(accuracy, 4),
            "mean_gate_weights": dict(zip(model.spec.attributes, (round(w, 4) for w in weights))),
            "seconds": round(time.perf_counter() - started, 1)}


def train_ldl(
    attributes: LDLAttributeConfig,
    gating: LDLGatingConfig,
    rated: Sequence[RatedResponse],
    pairs: Sequence[PreferencePair],
    output_dir: str | os.PathLike,
) -> dict[str, Any]:
    """Both stages into ``output_dir``; returns the metrics (also in ``metrics.json``), finished stages skipped.
    Stage 1 runs through Ray Train when ``attributes.num_workers > 1`` (the rated responses are saved
    under ``output_dir/dataset`` for the workers, Ray's records under ``output_dir/ray``)."""
    out = Path(output_dir).resolve()
    metrics_path = out / METRICS_FILE
    metrics: dict[str, Any] = {}
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text())
    stage1, final = out / ATTRIBUTES_SUBDIR, out / MODEL_SUBDIR
    if not is_complete(stage1) or "attributes" not in metrics:
        if attributes.num_workers > 1:
            from gram_rr.training.distributed import train_distributed

            metrics = train_distributed(attributes, rated_dataset(rated), out, run=run_attributes)
        else:
            metrics = {"attributes": train_attributes(attributes, rated, stage1)}
            write_json(metrics_path, metrics)
    if not is_complete(final) or "gating" not in metrics:
        metrics["gating"] = train_gating(gating, stage1, pairs, final, attributes.save_dtype)
        write_json(metrics_path, metrics)
    return {"model_dir": str(final), "attributes_dir": str(stage1), **metrics}
