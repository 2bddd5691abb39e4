"""Deterministic demo splits of verifiable preference pairs (``python -m gram_rr.data.demo``).

Splits: ``seed`` (labels + programmatic proofs as rationales), ``labeled`` (labels only),
``unlabeled`` (no label; the gold label sits in ``metadata["gold_label"]`` for measuring
pseudo-label accuracy and must never be used for training; ``metadata["round"]`` splits
the pool into self-training rounds) and ``test`` (labels). Each question belongs to one
split only, fixed by a hash of its text, so splits never share a question whatever the
sizes or seed. Within each split (each round, for ``unlabeled``) exactly half the pairs
(rounded down) have the correct response at A.
"""

from __future__ import annotations

import argparse
import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

from gram_rr.cli_args import add_dataclass_arguments, dataclass_from_args
from gram_rr.data.demo_sets import TASK_SETS
from gram_rr.data.demo_tasks import Problem
from gram_rr.data.io import write_pairs
from gram_rr.data.records import PreferencePair

SPLITS = ("seed", "labeled", "unlabeled", "test")
# A question's split is sha256(question) % 20 in these buckets (10% / 20% / 20% / 50%).
_BUCKETS = {"test": range(0, 2), "seed": range(2, 6), "labeled": range(6, 10), "unlabeled": range(10, 20)}
_MAX_TRIES = 5000


@dataclass
class DemoConfig:
    """Sizes and seed of the demo splits written by ``python -m gram_rr.data.demo``."""

    out: str = field(default="data/demo", metadata={"help": "folder for seed/labeled/unlabeled/test.jsonl"})
    seed: int = field(default=0, metadata={"help": "random seed; the same seed gives byte-identical files"})
    seed_size: int = field(default=400, metadata={"help": "pairs with labels and proofs (prover training)"})
    labeled_size: int = field(default=400, metadata={"help": "pairs with labels, no rationale"})
    unlabeled_size: int = field(default=1200, metadata={"help": "pairs without labels (gold kept in metadata)"})
    test_size: int = field(default=200, metadata={"help": "held-out labeled pairs for evaluation"})
    rounds: int = field(default=3, metadata={"help": "self-training rounds the unlabeled pool is split into"})
    tasks: str = field(default="basic", metadata={"help": f"task set: {' | '.join(TASK_SETS)} (see gram_rr.data.demo_sets.TASK_SETS)"})

    def __post_init__(self) -> None:
        if self.tasks not in TASK_SETS:
            raise ValueError(f"tasks must be one of {sorted(TASK_SETS)}, got {self.tasks!r}")


def split_of(question: str) -> str:
    """The only split ``question`` may appear in."""
    bucket = int.from_bytes(hashlib.sha256(question.encode("utf-8")).digest()[:8], "big") % 20
    return next(name for name, span in _BUCKETS.items() if bucket in span)


def proof(problem: Problem, label: str) -> str:
    """A short rationale in the released Feedback / Comparision / Conclusion layout.

    It judges Response A, then Response B, and only then compares: the verdict follows from two
    checks a reader can make one response at a time, never from a first word naming the winner.
    """
    checks = []
    for position in "AB":
        if position == label:
            checks.append(f"Response {position} is correct: it {problem.why_right}.")
        else:
            giving = f", giving {problem.wrong_answer}" if problem.wrong_answer else ""
            checks.append(f"Response {position} is wrong: it {problem.why_wrong}{giving}.")
    kept = f"gets the correct answer, {problem.answer}" if problem.wrong_answer else problem.answer
    return (
        f"Feedback:\n{' '.join(checks)}\n\n"
        f"Comparision:\nOnly Response {label} {kept}.\n\n"
        f"Conclusion:\nResponse {label} is better."
    )


def draw_problems(kind: str, n: int, rng: random.Random, tasks: str) -> list[Problem]:
    """``n`` problems with distinct questions that belong to split ``kind``, cycling through task set ``tasks``."""
    seen: set[str] = set()
    out = []
    cycle = TASK_SETS[tasks]
    for i in range(n):
        family, error = cycle[i % len(cycle)]
        for _ in range(_MAX_TRIES):
            problem = family(rng, error)
            fresh = problem.question not in seen and problem.wrong_answer != problem.answer
            if fresh and split_of(problem.question) == kind:
                break
        else:
            raise ValueError(f"ran out of distinct '{family.__name__}' questions for split '{kind}'; ask for fewer pairs")
        seen.add(problem.question)
        out.append(problem)
    return out


def _balanced_labels(n: int, blocks: int, rng: random.Random) -> list[str]:
    labels: list[str] = []
    for b in range(blocks):
        size = n * (b + 1) // blocks - n * b // blocks
        block = ["A"] * (size // 2) + ["B"] * (size - size // 2)
        rng.shuffle(block)
        labels += block
    return labels


def generate_split(kind: str, n: int, seed: int = 0, rounds: int = 1, tasks: str = "basic") -> list[PreferencePair]:
    """``n`` demo pairs for split ``kind`` (one of ``SPLITS``) from task set ``tasks``; ``rounds`` only matters for ``unlabeled``."""
    if kind not in SPLITS:
        raise ValueError(f"unknown split {kind!r}; choose one of {SPLITS}")
    if n < 0 or rounds < 1:
        raise ValueError("n must be >= 0 and rounds >= 1")
    rng = random.Random(f"gram-rr-demo:{seed}:{kind}")
    blocks = rounds if kind == "unlabeled" else 1
    problems = draw_problems(kind, n, rng, tasks)
    labels = _balanced_labels(n, blocks, rng)
    pairs = []
    for i, (problem, label) in enumerate(zip(problems, labels)):
        a, b = (problem.correct, problem.wrong) if label == "A" else (problem.wrong, problem.correct)
        metadata: dict = {"family": problem.family, "error": problem.error}
        if kind == "unlabeled":
            metadata.update(gold_label=label, round=1 + i * blocks // max(n, 1))
        pairs.append(
            PreferencePair(
                id=f"demo-{kind}-{i:05d}",
                question=problem.question,
                response_a=a,
                response_b=b,
                label=None if kind == "unlabeled" else label,
                rationale=proof(problem, label) if kind == "seed" else None,
                source="demo",
                metadata=metadata,
            )
        )
    return pairs


def write_demo(config: DemoConfig) -> dict[str, Path]:
    """Write the four splits as JSONL under ``config.out``; returns their paths."""
    sizes = {"seed": config.seed_size, "labeled": config.labeled_size,
             "unlabeled": config.unlabeled_size, "test": config.test_size}
    return {
        kind: write_pairs(Path(config.out) / f"{kind}.jsonl", generate_split(kind, n, config.seed, config.rounds, config.tasks))
        for kind, n in sizes.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gram_rr.data.demo", description=__doc__.splitlines()[0])
    add_dataclass_arguments(parser, DemoConfig)
    config = dataclass_from_args(DemoConfig, parser.parse_args(argv))
    for kind, path in write_demo(config).items():
        print(f"{kind:10s} {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    import sys

    from gram_rr.cli_errors import run_cli

    sys.exit(run_cli(main))
