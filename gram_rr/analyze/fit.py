"""Fit a shallow decision tree on a seeded split of the pairs and measure it on the held-out ones."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gram_rr.analyze.dataset import Dataset, Row
from gram_rr.analyze.tree_model import StoredTree


@dataclass
class TreeConfig:
    """How the tree is fitted and held out."""

    max_depth: int = field(default=3, metadata={"help": "deepest split level (a shallow tree stays readable)",
                                                "range": (1, 10)})
    min_samples_leaf: int = field(default=3, metadata={"help": "fewest training rows in a leaf", "range": (1, None)})
    test_size: float = field(default=0.25, metadata={"help": "share of the pairs held out (a pair's orders stay "
                                                             "together)", "range": (0.05, 0.9)})
    cv_folds: int = field(default=5, metadata={"help": "folds of the grouped cross-validated accuracy (over pairs)",
                                               "range": (2, 50)})
    seed: int = field(default=0, metadata={"help": "seed of the split, the folds and the tree"})


@dataclass
class Analysis:
    """The tree fitted on the training pairs, and its metrics (percentages)."""

    tree: StoredTree
    train_pairs: int
    test_pairs: int
    metrics: dict[str, Any]
    importances: dict[str, float]


def split_pairs(ids: Sequence[str], test_size: float, seed: int) -> tuple[set[str], set[str]]:
    """A seeded split of the distinct pair ids into (train, test), both non-empty."""
    unique = sorted(set(ids))
    if len(unique) < 2:
        raise ValueError(f"a held-out split needs at least 2 pairs, got {len(unique)}")
    random.Random(seed).shuffle(unique)
    held = min(max(1, round(test_size * len(unique))), len(unique) - 1)
    return set(unique[held:]), set(unique[:held])


def fit_tree(rows: Sequence[Row], data: Dataset, config: TreeConfig) -> tuple[StoredTree, dict[str, float]]:
    """The tree fitted on ``rows``, and the features it uses with their importances."""
    from sklearn.tree import DecisionTreeClassifier

    estimator = DecisionTreeClassifier(
        max_depth=config.max_depth, min_samples_leaf=config.min_samples_leaf, random_state=config.seed
    )
    estimator.fit([list(r.features) for r in rows], [r.target for r in rows])
    names = data.spec.names
    importances = {names[k]: float(v) for k, v in enumerate(estimator.feature_importances_) if v > 0}
    return StoredTree.from_sklearn(estimator, data.spec, data.target), importances


def row_metrics(tree: StoredTree, rows: Sequence[Row], baseline_class: int | None = None) -> dict[str, Any]:
    """Accuracy on the target; with ``baseline_class``, that of always predicting it; where
    the rows know them, agreement with the judge's pick, accuracy against the gold winner, and
    the judge's own accuracy against the gold winner on the same rows (for a judge tree, accuracy
    is its agreement with the judge)."""
    predictions = [tree.predict(r.features) for r in rows]
    judged = [(p, r) for p, r in zip(predictions, rows) if r.judge_first is not None]
    labelled = [(p, r) for p, r in zip(predictions, rows) if r.gold_first is not None]
    both = [r for r in rows if r.judge_first is not None and r.gold_first is not None]
    metrics: dict[str, Any] = {"rows": len(rows), "accuracy": _pct(p == r.target for p, r in zip(predictions, rows))}
    if baseline_class is not None:
        metrics["majority_baseline"] = _pct(r.target == baseline_class for r in rows)
    if judged and tree.target == "gold":
        metrics["judge_agreement"] = _pct(p == r.judge_first for p, r in judged)
        metrics["judge_rows"] = len(judged)
    if labelled and tree.target == "judge":
        metrics["gold_accuracy"] = _pct(p == r.gold_first for p, r in labelled)
    if both:
        metrics["judge_gold_accuracy"] = _pct(r.judge_first == r.gold_first for r in both)
    return metrics


def cross_validated_accuracy(data: Dataset, config: TreeConfig) -> dict[str, Any]:
    """Held-out accuracy over ``cv_folds`` folds of the pairs (seeded), as mean and per fold."""
    ids = sorted({r.pair_id for r in data.rows})
    folds = min(config.cv_folds, len(ids))
    random.Random(config.seed + 1).shuffle(ids)
    fold_of = {pair_id: k % folds for k, pair_id in enumerate(ids)}
    scores = []
    for fold in range(folds):
        train = [r for r in data.rows if fold_of[r.pair_id] != fold]
        test = [r for r in data.rows if fold_of[r.pair_id] == fold]
        tree, _ = fit_tree(train, data, config)
        scores.append(row_metrics(tree, test)["accuracy"])
    return {"folds": folds, "mean": sum(scores) / len(scores), "per_fold": scores}


def analyze(data: Dataset, config: TreeConfig) -> Analysis:
    """Fit on the training pairs, measure on the held-out pairs and by cross-validation."""
    train_ids, test_ids = split_pairs([r.pair_id for r in data.rows], config.test_size, config.seed)
    train = [r for r in data.rows if r.pair_id in train_ids]
    test = [r for r in data.rows if r.pair_id in test_ids]
    tree, importances = fit_tree(train, data, config)
    majority_class = int(2 * sum(r.target for r in train) > len(train))
    metrics = {
        "train": row_metrics(tree, train, majority_class),
        "test": row_metrics(tree, test, majority_class),
        "cross_validated_accuracy": cross_validated_accuracy(data, config),
    }
    return Analysis(tree, len(train_ids), len(test_ids), metrics, importances)


def _pct(flags) -> float | None:
    values = list(flags)
    return 100.0 * sum(values) / len(values) if values else None
