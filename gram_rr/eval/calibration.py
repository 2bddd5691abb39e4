"""How good and how calibrated a judge's preference probabilities are.

Each labelled pair contributes ``p`` = P(response A is better), the verdict's
``probability``, and its label (A = positive). Pairs without a probability are counted
in ``missing``, never dropped silently. The metrics:

- ``auc``: ROC AUC of ``p`` against label A, the Mann-Whitney statistic: the share of
  (A-labelled, B-labelled) pairs of pairs in which the A-labelled one has the larger
  ``p``, a tie counting one half (what scikit-learn's ``roc_auc_score`` computes);
  ``None`` when only one label occurs.
- ``brier``: mean of ``(p - y)^2`` with ``y = 1`` for label A (0 is perfect, 0.25 is
  ``p = 0.5`` everywhere).
- ``accuracy`` (%): the side ``p`` favours is the label; ``p == 0.5`` favours neither
  and counts as wrong, as a tie does everywhere else in evaluation.
- ``ece``: expected calibration error over :data:`NUM_BINS` equal-width bins of the
  confidence ``max(p, 1 - p)`` on [0.5, 1] (lower edges inclusive, 1.0 in the last
  bin): the pair-weighted mean of ``|accuracy - mean confidence|`` per bin, accuracy
  being that of the favoured side (``p == 0.5`` wrong, as above). ``bins`` lists each
  bin's edges, pair count, mean confidence and accuracy (fractions; ``None`` when empty).

AUC, Brier and ECE are fractions in [0, 1]; ``accuracy`` is a percentage like every
other accuracy in gram-rr.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gram_rr.atomic import atomic_save

NUM_BINS = 10
LABELS = ("A", "B")


def roc_auc(scores: Sequence[float], positives: Sequence[bool]) -> float | None:
    """Mann-Whitney AUC: P(score of a positive > score of a negative), ties counting 1/2.

    Computed from average ranks (tied scores share the mean of their ranks), so it is
    exact and O(n log n). ``None`` when there are no positives or no negatives."""
    if len(scores) != len(positives):
        raise ValueError(f"{len(scores)} scores but {len(positives)} labels")
    n_pos = sum(bool(x) for x in positives)
    n_neg = len(positives) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = sorted(range(len(scores)), key=lambda k: scores[k])
    rank_sum_pos = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        mean_rank = (start + end) / 2 + 1  # ranks start at 1
        rank_sum_pos += mean_rank * sum(bool(positives[order[k]]) for k in range(start, end + 1))
        start = end + 1
    return (rank_sum_pos - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def confidence_bin(confidence: float, num_bins: int = NUM_BINS) -> int:
    """The bin of a confidence in [0.5, 1]: ``floor(num_bins * (2c - 1))``, 1.0 in the last bin."""
    return min(int(num_bins * (2 * confidence - 1)), num_bins - 1)


def calibration_metrics(
    labels: Sequence[str], probabilities: Sequence[float | None], num_bins: int = NUM_BINS
) -> dict[str, Any]:
    """AUC, Brier, accuracy (%), ECE and its bins for P(A) against labels ``"A"``/``"B"``.

    ``n`` counts the pairs with a probability and ``missing`` those without; every
    metric is ``None`` when ``n == 0``."""
    if len(labels) != len(probabilities):
        raise ValueError(f"{len(labels)} labels but {len(probabilities)} probabilities")
    scored = []
    for label, p in zip(labels, probabilities):
        if label not in LABELS:
            raise ValueError(f"labels must be 'A' or 'B', got {label!r}")
        if p is None:
            continue
        if not 0.0 <= p <= 1.0 or math.isnan(p):
            raise ValueError(f"probability must be in [0, 1], got {p!r}")
        scored.append((float(p), label == "A"))
    n = len(scored)
    correct = [(p > 0.5 and is_a) or (p < 0.5 and not is_a) for p, is_a in scored]
    members: list[list[int]] = [[] for _ in range(num_bins)]
    for k, (p, _) in enumerate(scored):
        members[confidence_bin(max(p, 1 - p), num_bins)].append(k)
    bins = []
    for b, idx in enumerate(members):
        bins.append({
            "low": 0.5 + 0.5 * b / num_bins,
            "high": 0.5 + 0.5 * (b + 1) / num_bins,
            "n": len(idx),
            "confidence": sum(max(scored[k][0], 1 - scored[k][0]) for k in idx) / len(idx) if idx else None,
            "accuracy": sum(correct[k] for k in idx) / len(idx) if idx else None,
        })
    return {
        "n": n,
        "missing": len(labels) - n,
        "auc": roc_auc([p for p, _ in scored], [is_a for _, is_a in scored]),
        "brier": sum((p - is_a) ** 2 for p, is_a in scored) / n if n else None,
        "accuracy": 100.0 * sum(correct) / n if n else None,
        "ece": sum(b["n"] / n * abs(b["accuracy"] - b["confidence"]) for b in bins if b["n"]) if n else None,
        "bins": bins,
    }


def plot_reliability(metrics: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Write a reliability diagram of :func:`calibration_metrics`' bins as a PNG, atomically.

    Bars: accuracy of the favoured side per confidence bin (pair counts at their foot);
    dots: each bin at its mean confidence; on the diagonal is perfect calibration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = metrics["bins"]
    filled = [b for b in bins if b["n"]]
    fig, ax = plt.subplots(figsize=(4.5, 4.0))
    width = bins[0]["high"] - bins[0]["low"]
    ax.bar([b["low"] for b in filled], [b["accuracy"] for b in filled], width=width, align="edge",
           color="#4C72B0", edgecolor="white", label="accuracy")
    ax.plot([b["confidence"] for b in filled], [b["accuracy"] for b in filled], "o", color="#DD8452",
            label="(mean confidence, accuracy)")
    ax.plot([0.5, 1.0], [0.5, 1.0], "--", color="grey", linewidth=0.8, label="perfect calibration")
    for b in filled:
        ax.text(b["low"] + width / 2, 0.02, str(b["n"]), ha="center", fontsize=7, color="black")
    ax.set_xlim(0.5, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("confidence max(p, 1 - p)")
    ax.set_ylabel("accuracy of the favoured side")
    auc = "n/a" if metrics["auc"] is None else f"{metrics['auc']:.3f}"
    ece = "n/a" if metrics["ece"] is None else f"{metrics['ece']:.3f}"
    heading = f"{title}\n" if title else ""
    ax.set_title(f"{heading}n={metrics['n']} (no probability: {metrics['missing']}), AUC {auc}, ECE {ece}",
                 fontsize=8)
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    try:
        return atomic_save(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    finally:
        plt.close(fig)
