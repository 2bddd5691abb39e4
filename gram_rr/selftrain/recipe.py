"""The self-training recipe: one typed dataclass per YAML section."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from gram_rr.config import ConfigError, from_dict, load_yaml, to_dict
from gram_rr.engines.config import EngineConfig
from gram_rr.recipes import resolve_recipe
from gram_rr.train import TrainConfig

DEFAULT_RECIPE = "cpu-default"  # a shipped recipe (python -m gram_rr.recipes list)


def _check_few_labeled(value: dict | None, where: str) -> dict[str, int] | None:
    """``data.few_labeled`` maps group names to pair counts of at least 1."""
    for group, count in (value or {}).items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ConfigError(f"{where}.{group}: expected a number of pairs >= 1, got {count!r}")
    return value


@dataclass
class DataConfig:
    """Where the pairs come from and how many of each are used."""

    seed: str = field(default="data/demo/seed.jsonl", metadata={"help": "labeled pairs WITH rationales (trains the prover)"})
    labeled: str = field(default="data/demo/labeled.jsonl", metadata={"help": "labeled pairs without rationales (stage 0)"})
    unlabeled: str = field(default="data/demo/unlabeled.jsonl", metadata={"help": "unlabeled pairs, sliced into one batch per round"})
    test: str = field(default="data/demo/test.jsonl", metadata={"help": "held-out labeled pairs for evaluation"})
    seed_size: int | None = field(default=None, metadata={"range": (1, None), "help": "first N seed pairs (None: all)"})
    labeled_size: int | None = field(default=None, metadata={"range": (1, None), "help": "first N labeled pairs (None: all)"})
    unlabeled_per_round: int = field(default=64, metadata={"range": (1, None), "help": "new unlabeled pairs predicted in each round"})
    test_size: int | None = field(default=None, metadata={"range": (1, None), "help": "first N held-out pairs (None: all)"})
    labeled_groups: list[str] | None = field(
        default=None,
        metadata={"help": "use only seed and labeled pairs of these groups (metadata family, subset or domain: the "
                  "report's groups); None: all. Unlabeled and test pairs keep every group, so the report shows "
                  "what self-training adds on groups that have no labels"},
    )
    few_labeled: dict[str, int] | None = field(
        default=None,
        metadata={"check": _check_few_labeled,
                  "help": "groups outside labeled_groups that still get this many labeled pairs each (stage 0 only, no "
                  "seed rationales), e.g. {translate: 4}: a few labels for a group whose other pairs stay unlabeled"},
    )

    def __post_init__(self) -> None:
        if self.few_labeled and self.labeled_groups is None:
            raise ConfigError("data.few_labeled needs data.labeled_groups: without it every group is fully labeled")
        overlap = sorted(set(self.few_labeled or ()) & set(self.labeled_groups or ()))
        if overlap:
            raise ConfigError(f"data.few_labeled: {overlap} already in data.labeled_groups, which labels all their pairs")


@dataclass
class ProofConfig:
    """How the prover writes proofs (the paper's best-of-k proof selection)."""

    samples: int = field(default=4, metadata={"range": (1, None), "help": "k proofs sampled per pair; the best by -log p(z|s,l)/log p(z) is kept"})
    temperature: float = field(default=0.8, metadata={"range": (0.0, None), "help": "sampling temperature for proofs"})
    top_p: float = field(default=0.95, metadata={"range": (0.0, 1.0), "help": "nucleus mass for proofs"})
    max_new_tokens: int = field(default=256, metadata={"range": (1, None), "help": "token budget per proof; a cut-off proof is dropped"})


@dataclass
class PredictConfig:
    """How the reasoner pseudo-labels unlabeled pairs, and which predictions are kept."""

    votes: int = field(default=4, metadata={"range": (1, None), "help": "votes per order (one n=votes request)"})
    both_orders: bool = field(default=True, metadata={"help": "also judge with A and B swapped"})
    temperature: float = field(default=0.8, metadata={"range": (0.0, None), "help": "sampling temperature of the votes"})
    max_new_tokens: int = field(default=256, metadata={"range": (1, None), "help": "token budget per vote"})
    min_vote_share: float = field(
        default=0.75,
        metadata={"range": (0.0, 1.0), "help": "keep a pair when the winner's vote share (Verdict.confidence: its votes "
                  "over ALL votes, abstentions included) is at least this"},
    )
    require_order_agreement: bool = field(
        default=True, metadata={"help": "keep a pair only when the majority of each order picks the same response"}
    )
    select: Literal["votes", "probability"] = field(
        default="votes",
        metadata={"help": "which pseudo-labels are kept: votes (min_vote_share, require_order_agreement; label = "
                  "the majority) or probability (min_probability_margin; label = the side the pooled "
                  "answer-token probability favours; pairs without a probability are dropped)"},
    )
    min_probability_margin: float = field(
        default=0.25,
        metadata={"range": (0.0, 0.5), "help": "select=probability: keep a pair when |P(A better) - 0.5| >= this (0 to 0.5; "
                  "an exact 0.5 is never kept)"},
    )

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_probability_margin <= 0.5:
            raise ValueError(f"min_probability_margin must be in [0, 0.5], got {self.min_probability_margin}")


@dataclass
class FilterConfig:
    """Rule filters applied to every sampled proof before selection."""

    reject_contradictions: bool = field(
        default=True,
        metadata={"help": "drop proofs whose rationale calls the labelled response wrong or worse, or the other correct or "
                  "better (\"Response B is correct\" in a proof of A)"},
    )
    a_first: bool = field(
        default=True,
        metadata={"help": "drop proofs that name Response B before Response A: with every rationale A-first, the "
                  "reasoner's first verdict is always on A, and its prior is the label balance, not the prover's habits"},
    )
    min_rationale_words: int = field(default=8, metadata={"range": (0, None), "help": "drop proofs whose rationale is shorter (words)"})
    max_proof_tokens: int = field(default=224, metadata={"range": (1, None), "help": "drop proofs longer than this (tokens)"})
    copy_min_chars: int = field(
        default=80, metadata={"help": "drop proofs that contain a whole response verbatim, for responses at least this long"}
    )
    max_same_proof: int = field(
        default=1,
        metadata={"range": (1, None), "help": "pairs that may keep the same proof word for word; later ones are dropped "
                  "as duplicates (1: every proof once; a family whose pairs differ only in names can have one right "
                  "proof for many pairs)"},
    )
    balance_labels: bool = field(
        default=True,
        metadata={"help": "each label holds half: with order_augment=prove, each reasoner's training pairs lose a seeded "
                  "sample of the majority label's surplus; otherwise predicted pairs are A/B swapped"},
    )
    balance_by_group: bool = field(
        default=False,
        metadata={"help": "with order_augment=prove and balance_labels: balance the labels in every group (metadata "
                  "family, subset or domain) rather than overall, so no kind of pair teaches a position"},
    )


@dataclass
class EvalConfig:
    """Held-out evaluation after every reasoner stage."""

    votes: int = field(default=1, metadata={"range": (1, None), "help": "votes per order (1: greedy)"})
    both_orders: bool = field(default=True, metadata={"help": "judge each test pair in both orders"})
    max_new_tokens: int = field(default=256, metadata={"range": (1, None), "help": "token budget per judgment"})
    baseline: bool = field(default=True, metadata={"help": "also evaluate the untrained model first"})


def _prover_section(config: TrainConfig, key: str) -> TrainConfig:
    """The prover reads the label from its prompt: distractor payloads are for the reasoner only."""
    if config.distractor_share:
        raise ConfigError(f"{key}.distractor_share: {config.distractor_share} given; the prover takes none "
                          "(set reasoner_train.distractor_share instead)")
    return config


@dataclass
class SelfTrainRecipe:
    """GRAM-R2 self-training: prover, stage 0, then `rounds` rounds on unlabeled data."""

    output_dir: str = field(default="runs/cpu-default", metadata={"help": "run directory (must be shared storage on a cluster)"})
    model: str = field(default="smollm2-135m-instruct", metadata={"help": "base model for prover and reasoner"})
    seed: int = field(default=0, metadata={"help": "seed for sampling, shuffling and training"})
    rounds: int = field(default=3, metadata={"range": (0, None), "help": "self-training rounds after stage 0"})
    reasoner_init: Literal["base", "continue"] = field(
        default="continue",
        metadata={"help": "each round trains the reasoner from the base model on all data, or continues the last one"},
    )
    replay: int = field(
        default=32, metadata={"range": (0, None), "help": "with reasoner_init=continue: earlier examples mixed into each round's new data"}
    )
    round_learning_rate: float | None = field(
        default=None,
        metadata={"range": (0.0, None), "help": "peak learning rate of every round's reasoner SFT and of the control "
                  "(null: reasoner_train.learning_rate). A reasoner that continues from a converged stage 0 needs "
                  "a smaller step than one trained from the base model"},
    )
    reasoner_includes_seed: bool = field(default=True, metadata={"help": "stage 0 reasoner also trains on the seed rationales"})
    stage0_passes: int = field(
        default=1,
        metadata={"range": (1, None), "help": "runs of SFT that make reasoner 0, each starting from the last one's model "
                  "with a fresh learning-rate warmup and decay and its own data order; rounds and the control train "
                  "once (the control then continues past all of them)"},
    )
    order_augment: Literal["prove", "both", "random", "none"] = field(
        default="prove",
        metadata={"help": "A/B order of the reasoner's training data. prove: every pair the prover proves is proved in "
                  "both orders, each order's proof in the prover's own words (so rationales discuss Response A first, "
                  "as natural ones do); seed pairs and the prover's own SFT are used as given. both / random / none: "
                  "every prover and reasoner SFT gets rewritten swaps (each pair and its swap / one seeded random "
                  "order per pair / none); rewritten rationales discuss B first where the original discussed A"},
    )
    control: bool = field(
        default=True,
        metadata={"help": "after the last round, train and evaluate a same-compute control: the reasoner the rounds "
                  "started from, trained on as many pairs as the rounds used, drawn from stage-0 data only "
                  "(no pseudo-labels); the report compares it with the last round"},
    )
    use_ray: bool = field(
        default=True,
        metadata={"help": "generate on Ray engine actors and train through Ray Train (local Ray unless --ray-address); "
                  "false runs everything in this process"},
    )
    generation_chunk_pairs: int = field(
        default=4096,
        metadata={"range": (1, None), "help": "pairs per chunk of a predict or proofs stage: each finished chunk is "
                  "appended to the stage's chunks.jsonl, so a crash loses at most one chunk and memory holds one chunk's "
                  "generations; each chunk samples with its own seed. The default holds a CPU recipe's stage in one chunk"},
    )
    data: DataConfig = field(default_factory=DataConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    prover_train: TrainConfig = field(default_factory=TrainConfig, metadata={"check": _prover_section})
    reasoner_train: TrainConfig = field(default_factory=TrainConfig)
    proofs: ProofConfig = field(default_factory=ProofConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


# Fields that may change between invocations of the same run without invalidating it: where it
# runs and what it logs, never what it computes. (num_workers stays: it changes the global batch.)
_RUN_INDEPENDENT = ("rounds", "output_dir", "use_ray")
_SECTION_RUN_INDEPENDENT = {
    "engine": ("ray_address", "num_engines", "num_cpus_per_engine"),
    "prover_train": ("ray_address", "cpus_per_worker", "save_steps", "save_total_limit", "logging_steps", "report_to"),
    "reasoner_train": ("ray_address", "cpus_per_worker", "save_steps", "save_total_limit", "logging_steps", "report_to"),
}
# Fields added after runs began, with the value that gives the behaviour from before: at that value they are left
# out of the hash, so those runs keep theirs.
_HASHED_ONLY_WHEN_CHANGED = {
    "prover_train": {"trl": {}, "distractor_share": 0.0, "frozen_layers": 0, "prompt_gradient": True},
    "reasoner_train": {"trl": {}, "distractor_share": 0.0, "frozen_layers": 0, "prompt_gradient": True},
    "data": {"labeled_groups": None, "few_labeled": None},
    "filters": {"balance_by_group": False, "max_same_proof": 1},
}


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> SelfTrainRecipe:
    """Read a recipe (a file, or a shipped recipe's name), apply ``key=value`` overrides, and type-check it."""
    path = resolve_recipe(path)
    return from_dict(SelfTrainRecipe, load_yaml(path, overrides), where=str(path))


def recipe_hash(recipe: SelfTrainRecipe) -> str:
    """A fingerprint of everything that decides a run's results (not `rounds`, paths, cluster or logging settings)."""
    values = to_dict(recipe)
    for key in _RUN_INDEPENDENT:
        values.pop(key)
    for section, keys in _SECTION_RUN_INDEPENDENT.items():
        for key in keys:
            values[section].pop(key)
    for section, earlier in _HASHED_ONLY_WHEN_CHANGED.items():
        for key, value in earlier.items():
            if values[section][key] == value:
                del values[section][key]
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]
