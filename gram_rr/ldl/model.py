"""The LDL reward model: a transformer backbone, per-attribute label-distribution heads and a gating layer.

    h        = the backbone's last hidden state at the last real token
    D_s(h)   = softmax(head_s(h)) over the rating scale's values       (stage 1, one per attribute s)
    w(h)     = softmax(gate(h)) over the attributes                    (stage 2)
    D(h)     = sum_s w_s D_s(h);   score = sum_i D_i(h) v_i            (the expectation: the reward)

A folder holds the backbone as an ordinary transformers checkpoint (``AutoModel``, safetensors),
its tokenizer, ``ldl_heads.safetensors`` (heads and gate) and ``ldl_config.json``; no model code
ships with it, so it loads without ``trust_remote_code``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from gram_rr.ldl.distribution import expectation, scale_values

CONFIG_FILE = "ldl_config.json"
HEADS_FILE = "ldl_heads.safetensors"


def is_ldl_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder written by :meth:`LDLRewardModel.save_pretrained`."""
    return (Path(path) / CONFIG_FILE).is_file()


@dataclass
class LDLSpec:
    """What ``ldl_config.json`` records: the attributes and the rating scale the heads predict over."""

    attributes: list[str] = field(metadata={"help": "Rated attributes, one distribution head each, in head order."})
    low: float = field(metadata={"help": "Lowest rating of the scale."})
    high: float = field(metadata={"help": "Highest rating of the scale."})
    bins: int = field(metadata={"help": "Scale values the distributions are over (evenly spaced, ends included)."})
    sigma: float = field(metadata={"help": "Width of the discrete Gaussian a rating was mapped to in training."})
    gated: bool = field(default=False, metadata={"help": "Whether stage 2 trained the gate (False: uniform weights)."})


@dataclass
class LDLOutput:
    """One forward pass: ``logits`` is the reward as a (batch, 1) column, as sequence classifiers return it."""

    logits: torch.Tensor
    distribution: torch.Tensor  # (batch, bins): the gated distribution
    attribute_distributions: torch.Tensor  # (batch, attributes, bins)
    gate_weights: torch.Tensor  # (batch, attributes)
    values: torch.Tensor  # (bins,): the rating scale's values

    @property
    def attribute_scores(self) -> torch.Tensor:
        """(batch, attributes): each attribute's expected rating."""
        return expectation(self.attribute_distributions, self.values)


class LDLRewardModel(torch.nn.Module):
    """Backbone + label-distribution heads + gate; ``forward`` returns :class:`LDLOutput`.

    ``config`` is the backbone's config with ``num_labels = 1`` (one output: the reward), so
    :class:`gram_rr.RewardModelScorer` takes this model as it takes a sequence classifier.
    Heads and gate stay float32 whatever the backbone's dtype.
    """

    def __init__(self, backbone: Any, spec: LDLSpec):
        super().__init__()
        self.backbone = backbone
        self.spec = spec
        hidden = backbone.config.hidden_size
        self.heads = torch.nn.Linear(hidden, len(spec.attributes) * spec.bins, dtype=torch.float32)
        self.gate = torch.nn.Linear(hidden, len(spec.attributes), dtype=torch.float32)
        torch.nn.init.zeros_(self.gate.weight)  # uniform weights until stage 2 trains the gate
        torch.nn.init.zeros_(self.gate.bias)
        self.register_buffer("values", scale_values(spec.low, spec.high, spec.bins), persistent=False)
        self.config = backbone.config
        self.config.num_labels = 1

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @classmethod
    def from_base(cls, model_path: str, spec: LDLSpec, dtype: torch.dtype = torch.float32) -> "LDLRewardModel":
        """A fresh model on the backbone of ``model_path`` (any transformers checkpoint; an LM head is dropped)."""
        from transformers import AutoModel

        return cls(AutoModel.from_pretrained(model_path, dtype=dtype), spec)

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, dtype: torch.dtype = torch.float32) -> "LDLRewardModel":
        """Load a folder written by :meth:`save_pretrained` (safetensors only, no remote code)."""
        from safetensors.torch import load_file
        from transformers import AutoModel

        folder = Path(folder)
        spec = LDLSpec(**json.loads((folder / CONFIG_FILE).read_text()))
        model = cls(AutoModel.from_pretrained(folder, dtype=dtype, use_safetensors=True), spec)
        state = load_file(str(folder / HEADS_FILE))
        missing = {"heads.weight", "heads.bias", "gate.weight", "gate.bias"} - set(state)
        if missing:
            raise ValueError(f"{folder / HEADS_FILE}: missing {sorted(missing)}")
        model.heads.load_state_dict({k.split(".", 1)[1]: v.float() for k, v in state.items() if k.startswith("heads.")})
        model.gate.load_state_dict({k.split(".", 1)[1]: v.float() for k, v in state.items() if k.startswith("gate.")})
        return model.eval()

    def save_pretrained(self, folder: str | os.PathLike, dtype: torch.dtype | None = None) -> None:
        """Write the backbone (in ``dtype``, default its own; converted in place), heads, gate (float32) and
        ``ldl_config.json`` to ``folder``."""
        from safetensors.torch import save_file

        folder = Path(folder)
        backbone = self.backbone if dtype is None else self.backbone.to(dtype)
        backbone.save_pretrained(folder, safe_serialization=True)
        tensors = {f"heads.{k}": v.detach().float().contiguous() for k, v in self.heads.state_dict().items()}
        tensors |= {f"gate.{k}": v.detach().float().contiguous() for k, v in self.gate.state_dict().items()}
        save_file(tensors, str(folder / HEADS_FILE))
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(self.spec), indent=2) + "\n")

    # -- forward ------------------------------------------------------------------------

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, hidden) float32: the last hidden state at each row's last real token (any padding side)."""
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        positions = torch.arange(attention_mask.size(1), device=attention_mask.device)
        last = (positions * attention_mask.to(positions.dtype)).argmax(dim=-1)
        return hidden[torch.arange(hidden.size(0), device=hidden.device), last].float()

    def attribute_log_probs(self, features: torch.Tensor) -> torch.Tensor:
        """(batch, attributes, bins): each attribute's predicted distribution, as log-probabilities."""
        logits = self.heads(features.float()).view(features.size(0), len(self.spec.attributes), self.spec.bins)
        return torch.log_softmax(logits, dim=-1)

    def head_outputs(self, features: torch.Tensor) -> LDLOutput:
        """Everything after the backbone, from :meth:`features` (stage 2 trains on cached features)."""
        attribute = self.attribute_log_probs(features).exp()
        weights = torch.softmax(self.gate(features.float()), dim=-1)
        distribution = (weights.unsqueeze(-1) * attribute).sum(dim=1)
        score = expectation(distribution, self.values)
        return LDLOutput(score.unsqueeze(-1), distribution, attribute, weights, self.values)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: Any) -> LDLOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        return self.head_outputs(self.features(input_ids, attention_mask))
