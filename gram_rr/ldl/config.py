"""The two LDL stages' configs, each a recipe section: ``ldl_attributes`` (stage 1) and ``ldl_gating`` (stage 2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gram_rr.config import apply_overrides, from_dict, interpolate, load_yaml
from gram_rr.data.ratings import HELPSTEER2_ATTRIBUTES, RATING_SCALE
from gram_rr.recipes import resolve_recipe
from gram_rr.training.config import RayWorkers

ATTRIBUTES_SECTION = "ldl_attributes"
GATING_SECTION = "ldl_gating"


@dataclass
class LDLAttributeConfig(RayWorkers):
    """Stage 1: per-attribute heads learn each rating's label distribution (KL to a discrete Gaussian).

    With ``num_workers > 1`` stage 1 runs as data-parallel Ray Train workers through the launcher the
    SFT and Bradley-Terry roles use (:func:`gram_rr.training.distributed.train_distributed`).
    """

    model: str = field(default="smollm2-135m-instruct", metadata={"help": "Base model (gram_rr.models name or local folder); its LM head is dropped."})
    attributes: list[str] = field(default_factory=lambda: list(HELPSTEER2_ATTRIBUTES), metadata={"help": "Rated attributes to learn, one head each; every rated record must rate them all."})
    low: float = field(default=RATING_SCALE[0], metadata={"help": "Lowest rating of the scale."})
    high: float = field(default=RATING_SCALE[1], metadata={"help": "Highest rating of the scale."})
    bins: int = field(default=9, metadata={"range": (2, None), "help": "Scale values the distributions are over, evenly spaced with both ends (9 on 0-4: steps of 0.5)."})
    sigma: float = field(default=0.5, metadata={"range": (1e-6, None), "help": "Standard deviation (rating units) of the discrete Gaussian a rating becomes; smaller = closer to a one-hot label."})
    train_backbone: bool = field(default=True, metadata={"help": "Fine-tune the backbone's weights with the heads (False: heads only, on frozen features computed once)."})
    learning_rate: float = field(default=5e-5, metadata={"range": (0.0, None), "help": "Peak learning rate of the backbone (AdamW, linear decay)."})
    head_learning_rate: float = field(default=1e-3, metadata={"range": (0.0, None), "help": "Learning rate of the distribution heads."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    warmup_ratio: float = field(default=0.1, metadata={"range": (0.0, 1.0), "help": "Share of the steps spent warming the learning rate up from 0."})
    epochs: int = field(default=2, metadata={"range": (1, None), "help": "Passes over the rated responses."})
    batch_size: int = field(default=8, metadata={"range": (1, None), "help": "Rated responses per optimizer step."})
    max_length: int = field(default=1024, metadata={"range": (8, None), "help": "Token limit of one input; longer ones keep their last tokens (as the scorer does)."})
    bf16: bool | None = field(default=None, metadata={"help": "bf16 autocast of the backbone; None = on when the CPU (AVX512-BF16/AMX) or GPU supports it."})
    save_dtype: str = field(default="bfloat16", metadata={"help": "dtype of the saved backbone (heads and gate stay float32)."})
    num_threads: int | None = field(default=None, metadata={"help": "torch CPU threads; None = torch's default (with workers: cpus_per_worker)."})
    seed: int = field(default=0, metadata={"help": "Seed of the heads' initialisation and the data order."})
    num_workers: int = field(default=1, metadata={"range": (1, None), "help": "Stage-1 training workers; > 1 runs data-parallel workers through Ray Train (each step's batch is split between them and their gradients summed, so the step is the one-worker step)."})
    cpus_per_worker: int | None = field(default=None, metadata={"help": "CPUs Ray reserves for each worker (also its torch thread count); None: this machine's CPUs / num_workers."})
    use_gpu: bool | None = field(default=None, metadata={"help": "Train stage 1 on a GPU (one per worker); None = when CUDA is available."})
    ray_address: str | None = field(default=None, metadata={"help": "Ray cluster to join for num_workers > 1; None starts a local one."})

    def __post_init__(self) -> None:
        if not self.attributes or len(set(self.attributes)) != len(self.attributes):
            raise ValueError(f"attributes must be distinct and at least one, got {self.attributes}")
        if not self.high > self.low:
            raise ValueError(f"high must be above low, got [{self.low}, {self.high}]")
        if self.num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {self.num_workers}")


@dataclass
class LDLGatingConfig:
    """Stage 2: a gating layer, trained on preference pairs with the Bradley-Terry loss on the expected rating,
    weights the attribute distributions into one (backbone and heads frozen; features computed once)."""

    learning_rate: float = field(default=1e-2, metadata={"range": (0.0, None), "help": "Learning rate of the gate (AdamW)."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay of the gate."})
    epochs: int = field(default=30, metadata={"range": (1, None), "help": "Passes over the pairs (cheap: the gate reads cached features)."})
    batch_size: int = field(default=32, metadata={"range": (1, None), "help": "Pairs per optimizer step."})
    feature_batch_size: int = field(default=8, metadata={"range": (1, None), "help": "Responses per backbone forward when caching features."})
    max_length: int = field(default=1024, metadata={"range": (8, None), "help": "Token limit of one input; longer ones keep their last tokens (as the scorer does)."})
    bf16: bool | None = field(default=None, metadata={"help": "bf16 autocast of the backbone while caching features; None = when the hardware supports it."})
    seed: int = field(default=0, metadata={"help": "Seed of the pair order."})


def load_ldl_configs(
    recipe: str | Path | None, overrides: Sequence[str] = ()
) -> tuple[LDLAttributeConfig, LDLGatingConfig]:
    """Both stages' configs from a recipe's ``ldl_attributes`` / ``ldl_gating`` sections plus
    ``ldl_attributes.key=value`` / ``ldl_gating.key=value`` overrides (missing sections: defaults)."""
    path = resolve_recipe(recipe) if recipe is not None else None
    tree = load_yaml(path) if path is not None else {}
    apply_overrides(tree, overrides, sections=(ATTRIBUTES_SECTION, GATING_SECTION))
    tree = interpolate(tree)
    where = f"{path}." if path is not None else ""
    return (
        from_dict(LDLAttributeConfig, tree.get(ATTRIBUTES_SECTION), f"{where}{ATTRIBUTES_SECTION}"),
        from_dict(LDLGatingConfig, tree.get(GATING_SECTION), f"{where}{GATING_SECTION}"),
    )
