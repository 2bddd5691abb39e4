"""Scalar reward-model baselines: Bradley-Terry vs LDL (and LDL's stage 1 alone) on the same pairs.

    python scripts/scalar_baselines.py [--datasets demo,llmbar,pandalm] [--train-limit N] [--test-limit N] \\
        [--out runs/scalar-baselines] [--splits-out DIR] [scalar_train.epochs=1 ldl_attributes.epochs=1 ...]

Per data set, on the default SmolLM2-135M-Instruct with the recipe ``recipes/scalar/cpu-scalar.yaml``:
- ``demo``: the reasoner's stage-0 budget of ``recipes/cpu-default.yaml`` (the first 96 seed + 96 labeled
  pairs of ``data/demo``) for training, its first 64 test pairs held out;
- ``llmbar`` (the five ``LLMBar_*`` files, RewardBench's Chat Hard) and ``pandalm`` (ties dropped) from
  ``../shared/data``: a seeded shuffle, the last ``--test-share`` held out.
Models: ``bt`` (TRL RewardTrainer, full fine-tuning), ``ldl`` (both stages) and ``ldl-stage1`` (the
attribute heads with the uniform gate, before stage 2). LDL's stage 1 reads ratings derived from the
training pairs' labels (:mod:`gram_rr.data.demo_ratings`: synthetic, not human ratings). Held-out
accuracy: the chosen response's reward strictly above the rejected one's (a tie is wrong). Training
seconds are wall-clock on this machine, as loaded as it is (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GRAM_RR_SHARED_DATA", REPO.parent / "shared" / "data"))
RECIPE = REPO / "recipes" / "scalar" / "cpu-scalar.yaml"
LLMBAR = ["Natural", "Adversarial_Neighbor", "Adversarial_GPTInst", "Adversarial_GPTOut", "Adversarial_Manual"]


def splits(name: str, args: argparse.Namespace) -> tuple[list, list]:
    """Training and held-out labeled pairs of data set ``name``."""
    from gram_rr.data import load_pairs

    if name == "demo":
        train = list(load_pairs(REPO / "data/demo/seed.jsonl"))[:96] + list(load_pairs(REPO / "data/demo/labeled.jsonl"))[:96]
        test = list(load_pairs(REPO / "data/demo/test.jsonl"))[:64]
    else:
        files = [SHARED / "llmbar" / f"LLMBar_{n}.json" for n in LLMBAR] if name == "llmbar" else [SHARED / "pandalm/testset-v1.json"]
        pairs = [p for f in files for p in load_pairs(str(f)) if p.label is not None]
        random.Random(args.seed).shuffle(pairs)
        cut = round(len(pairs) * (1 - args.test_share))
        train, test = pairs[:cut], pairs[cut:]
        train, test = train[: args.train_limit or None], test[: args.test_limit or None]
    return train, test


def write_split(folder: Path, name: str, split: str, pairs: list) -> Path:
    """``pairs`` in a file that ``load_pairs`` reads back as they are: the project's JSONL, or for pandalm
    its own records (selected by id), since PandaLM keeps empty responses, which the JSONL reader refuses."""
    from gram_rr.atomic import write_text
    from gram_rr.data.io import write_pairs

    if name != "pandalm":
        return write_pairs(folder / f"{name}-{split}.jsonl", pairs)
    records = {f"pandalm-{r['idx']}": r for r in json.loads((SHARED / "pandalm/testset-v1.json").read_text())}
    path = folder / f"{name}-{split}.json"
    write_text(path, json.dumps([records[pair.id] for pair in pairs], ensure_ascii=False))
    return path


def held_out_accuracy(model_dir: str, test: list, batch_size: int) -> float:
    from gram_rr.scalar import RewardModelScorer

    scorer = RewardModelScorer.from_pretrained(model_dir, batch_size=batch_size)
    verdicts = scorer.compare_many(test)
    return sum(v.winner == p.label for v, p in zip(verdicts, test)) / len(test)


def train_bt(train: list, out: Path, overrides: list[str]) -> tuple[str, float, dict]:
    from gram_rr.training.recipe import load_train_config
    from gram_rr.training.reward import ScalarTrainConfig, reward_examples, train_reward

    config = load_train_config(RECIPE, "scalar", [o for o in overrides if o.startswith("scalar_train.")],
                               config_class=ScalarTrainConfig)
    start = time.perf_counter()
    result = train_reward(config, reward_examples(train), out)
    return result.model_dir, time.perf_counter() - start, result.metrics


def train_ldl_model(train: list, out: Path, overrides: list[str]) -> tuple[dict, float]:
    from gram_rr.data.demo_ratings import demo_ratings
    from gram_rr.ldl.config import load_ldl_configs
    from gram_rr.ldl.train import train_ldl

    attributes, gating = load_ldl_configs(RECIPE, [o for o in overrides if o.startswith("ldl_")])
    start = time.perf_counter()
    metrics = train_ldl(attributes, gating, demo_ratings(train), train, out)
    return metrics, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="demo,llmbar,pandalm")
    parser.add_argument("--train-limit", type=int, help="at most N training pairs of llmbar / pandalm (demo: its budget)")
    parser.add_argument("--test-limit", type=int, help="at most N held-out pairs of llmbar / pandalm")
    parser.add_argument("--test-share", type=float, default=0.3, help="held-out share of llmbar / pandalm")
    parser.add_argument("--seed", type=int, default=0, help="seed of the llmbar / pandalm split")
    parser.add_argument("--score-batch", type=int, default=8, help="scorer batch size")
    parser.add_argument("--out", default=str(REPO / "runs" / "scalar-baselines"))
    parser.add_argument("--splits-out", help="also write each data set's training and held-out pairs to DIR/NAME-train "
                        "and DIR/NAME-test (.jsonl; pandalm: .json), for gram_rr.eval --benchmark pairs and gram_rr.analyze")
    parser.add_argument("overrides", nargs="*", help="scalar_train.* / ldl_attributes.* / ldl_gating.* recipe overrides")
    args = parser.parse_args(argv)
    out = Path(args.out)
    print(f"load average at start: {os.getloadavg()}, cpus: {os.cpu_count()}", file=sys.stderr)
    rows = []
    for name in args.datasets.split(","):
        train, test = splits(name, args)
        print(f"{name}: {len(train)} training pairs, {len(test)} held out", file=sys.stderr)
        if args.splits_out:
            write_split(Path(args.splits_out), name, "train", train)
            write_split(Path(args.splits_out), name, "test", test)
        for model in ("bt", "ldl"):
            folder = out / name / model
            shutil.rmtree(folder, ignore_errors=True)  # a measurement: always train afresh
            if model == "bt":
                model_dir, seconds, metrics = train_bt(train, folder, args.overrides)
                rows.append({"dataset": name, "model": "bt", "train_pairs": len(train), "test_pairs": len(test),
                             "accuracy": held_out_accuracy(model_dir, test, args.score_batch),
                             "train_seconds": round(seconds, 1), "last_train_loss": metrics["last_loss"]})
            else:
                metrics, seconds = train_ldl_model(train, folder, args.overrides)
                stage1, stage2 = metrics["attributes"], metrics["gating"]
                rows.append({"dataset": name, "model": "ldl-stage1", "train_pairs": len(train), "test_pairs": len(test),
                             "accuracy": held_out_accuracy(metrics["attributes_dir"], test, args.score_batch),
                             "train_seconds": stage1["seconds"], "last_train_loss": stage1["last_loss"]})
                rows.append({"dataset": name, "model": "ldl", "train_pairs": len(train), "test_pairs": len(test),
                             "accuracy": held_out_accuracy(metrics["model_dir"], test, args.score_batch),
                             "train_seconds": round(seconds, 1), "last_train_loss": stage2["final_loss"],
                             "mean_gate_weights": stage2["mean_gate_weights"]})
            print(json.dumps(rows[-1]), file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"rows": rows, "overrides": args.overrides,
                                                  "load_average_end": os.getloadavg()}, indent=2) + "\n")
    print("| data | model | train pairs | held-out pairs | held-out accuracy | training s |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['dataset']} | {row['model']} | {row['train_pairs']} | {row['test_pairs']} | "
              f"{100 * row['accuracy']:.1f}% | {row['train_seconds']} |")
    print(f"load average at end: {os.getloadavg()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
