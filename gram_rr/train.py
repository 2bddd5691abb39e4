"""Supervised fine-tuning of the prover or the reasoner (TRL SFTTrainer + PEFT; Ray Train for N workers),
or a scalar reward model: Bradley-Terry (TRL RewardTrainer, role ``scalar``) or LDL (role ``ldl``).

    python -m gram_rr.train --recipe recipes/cpu-default.yaml --role reasoner \
        --data data/demo/seed.jsonl --output runs/sft epochs=2 lora=true
    python -m gram_rr.train --recipe recipes/scalar/cpu-scalar.yaml --role scalar --data data/demo/seed.jsonl --output runs/bt
    python -m gram_rr.train --recipe recipes/scalar/cpu-scalar.yaml --role ldl --ratings runs/ratings.jsonl \\
        --data data/demo/seed.jsonl --output runs/ldl ldl_gating.epochs=50
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gram_rr.data.columns import add_column_arguments
from gram_rr.data.distractors import add_distractors
from gram_rr.data.swap import ORDER_AUGMENT_MODES, augment_with_swaps
from gram_rr.training.config import TrainConfig, TrainResult
from gram_rr.training.examples import ROLES, sft_examples
from gram_rr.training.sft import MODEL_SUBDIR, finished_result, run_sft

__all__ = ["TrainConfig", "TrainResult", "sft_examples", "train_sft", "with_role_distractors", "main"]
SCALAR_ROLES = ("scalar", "ldl")
logger = logging.getLogger(__name__)


def train_sft(config: TrainConfig, dataset, output_dir: str | os.PathLike, use_ray: bool = False) -> TrainResult:
    """Fine-tune ``config.model`` on ``dataset`` (from :func:`sft_examples`).

    Training runs in this process, or through Ray Train when ``config.num_workers > 1`` or
    ``use_ray`` (then even one worker trains in its own process, which returns its memory).

    ``output_dir/model`` receives a merged safetensors folder (transformers and vLLM load
    it); ``output_dir/checkpoints`` holds resumable checkpoints: rerunning after an
    interruption continues from the last one, and rerunning a finished run returns it.
    """
    out = Path(output_dir).resolve()
    metrics = finished_result(out)
    if metrics is not None:
        logger.warning("%s already holds a finished model; returning it (delete the folder to retrain)", out)
    else:
        if config.num_workers > 1 or use_ray:
            from gram_rr.training.distributed import train_distributed

            metrics = train_distributed(config, dataset, out)
        else:
            metrics = run_sft(config, dataset, out)
    return TrainResult(model_dir=str(out / MODEL_SUBDIR), metrics=metrics)


def with_role_distractors(pairs: list, role: str, config: TrainConfig) -> tuple[list, dict[str, int]]:
    """``pairs`` with ``config.distractor_share`` of them carrying a self-claimed verdict (reasoner only;
    :func:`gram_rr.data.distractors.add_distractors`) and the counts; a prover config asking for them is refused."""
    if config.distractor_share and role != "reasoner":
        raise ValueError(f"distractor_share is for the reasoner's training data; the {role} got {config.distractor_share}")
    return add_distractors(pairs, config.distractor_share, seed=config.seed)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gram_rr.train",
        description="Fine-tune a prover or a reasoner on preference pairs with rationales, or train a scalar "
        "reward model (Bradley-Terry: --role scalar; LDL: --role ldl).",
        epilog="Overrides are key=value pairs for the role's train section, e.g. epochs=2 lora=true "
        "(or prover_train.epochs=2; scalar_train.* for --role scalar); for --role ldl they name the stage's "
        "section: ldl_attributes.epochs=3 ldl_gating.learning_rate=0.05.",
    )
    parser.add_argument("--recipe", help="Recipe YAML; its <role>_train: (or train:) section fills the TrainConfig.")
    parser.add_argument("--role", required=True, choices=ROLES + SCALAR_ROLES, help="Which model to train.")
    parser.add_argument(
        "--data", required=True,
        help="Preference pairs (any load_pairs format): labels and rationales for prover/reasoner, labels for "
        "scalar and for ldl's stage 2.",
    )
    parser.add_argument("--ratings", help="--role ldl: HelpSteer2-style rated responses for stage 1 (gram_rr.data.ratings).")
    add_column_arguments(parser)
    parser.add_argument("--output", required=True, help="Run folder: checkpoints/, model/, metrics.json.")
    parser.add_argument(
        "--order-augment", choices=ORDER_AUGMENT_MODES, default="both",
        help="A/B swaps: both (each pair and its swap, rationale rewritten), random (one seeded random order "
        "per pair) or none (default: %(default)s). Not used by scalar and ldl, which score one response at a time.",
    )
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the train section.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from gram_rr.data import load_pairs
    from gram_rr.training.recipe import load_train_config

    args = build_parser().parse_args(argv)
    if args.role in SCALAR_ROLES:
        return train_scalar_role(args)
    config = load_train_config(args.recipe, args.role, args.overrides)
    data = load_pairs(args.data, columns=args.columns, labels=args.label_values)
    pairs, swaps = augment_with_swaps(data, args.order_augment, seed=config.seed)
    order_augment = {"mode": args.order_augment, **swaps, "examples": len(pairs)}
    print(f"order augmentation: {json.dumps(order_augment)}", file=sys.stderr)
    pairs, distractors = with_role_distractors(pairs, args.role, config)
    result = train_sft(config, sft_examples(pairs, args.role), args.output)
    summary = {k: v for k, v in result.metrics.items() if k != "losses"}
    print(json.dumps({"model_dir": result.model_dir, "order_augment": order_augment, "distractors": distractors,
                      **summary}, indent=2))
    return 0


def train_scalar_role(args: argparse.Namespace) -> int:
    """``--role scalar`` (Bradley-Terry, :mod:`gram_rr.training.reward`) or ``--role ldl`` (:mod:`gram_rr.ldl`)."""
    from gram_rr.data import load_pairs

    if args.role == "ldl":
        from gram_rr.data.ratings import load_ratings
        from gram_rr.ldl.config import load_ldl_configs
        from gram_rr.ldl.train import train_ldl

        if not args.ratings:
            raise ValueError("--role ldl needs --ratings (rated responses for stage 1)")
        attributes, gating = load_ldl_configs(args.recipe, args.overrides)
        rated = load_ratings(args.ratings, attributes.attributes, (attributes.low, attributes.high))
        pairs = load_pairs(args.data, columns=args.columns, labels=args.label_values)
        metrics = train_ldl(attributes, gating, rated, pairs, args.output)
        print(json.dumps(metrics, indent=2))
        return 0
    from gram_rr.training.recipe import load_train_config
    from gram_rr.training.reward import ScalarTrainConfig, reward_examples, train_reward

    if args.ratings:
        raise ValueError("--ratings is for --role ldl")
    config = load_train_config(args.recipe, args.role, args.overrides, config_class=ScalarTrainConfig)
    pairs = load_pairs(args.data, columns=args.columns, labels=args.label_values)
    result = train_reward(config, reward_examples(pairs), args.output)
    summary = {k: v for k, v in result.metrics.items() if k != "losses"}
    print(json.dumps({"model_dir": result.model_dir, **summary}, indent=2))
    return 0


if __name__ == "__main__":
    from gram_rr.cli_errors import run_cli

    sys.exit(run_cli(main))
