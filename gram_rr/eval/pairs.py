"""Metrics for any labelled pair file: accuracy, order effects, abstentions, length bias."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gram_rr.data.records import PreferencePair
from gram_rr.eval.calibration import calibration_metrics
from gram_rr.eval.votes import check_aligned, majority, split_orders, vote_curve, vote_margin, votes_per_order
from gram_rr.verdict import Verdict

# Relative length difference (chosen - rejected) / longer, in characters: bucket edges.
LENGTH_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("chosen much shorter (< -50%)", -1.01, -0.5),
    ("chosen shorter (-50%..-10%)", -0.5, -0.1),
    ("similar length (+-10%)", -0.1, 0.1),
    ("chosen longer (+10%..+50%)", 0.1, 0.5),
    ("chosen much longer (> +50%)", 0.5, 1.01),
)


# Metadata keys that name a pair's group (demo task family, benchmark subset, RM-Bench domain), first found wins.
GROUP_KEYS = ("family", "subset", "domain")


def pair_group(pair: PreferencePair) -> str | None:
    """The pair's group for per-group accuracy: the first of :data:`GROUP_KEYS` its metadata holds as text."""
    for key in GROUP_KEYS:
        value = pair.metadata.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def relative_length_difference(chosen: str, rejected: str) -> float:
    """``(len(chosen) - len(rejected)) / max(len)`` in characters, in [-1, 1]."""
    longer = max(len(chosen), len(rejected))
    return 0.0 if longer == 0 else (len(chosen) - len(rejected)) / longer


def length_bucket(chosen: str, rejected: str) -> str:
    """The :data:`LENGTH_BUCKETS` name for one pair (lower edge inclusive)."""
    diff = relative_length_difference(chosen, rejected)
    for name, low, high in LENGTH_BUCKETS:
        if low <= diff < high:
            return name
    raise AssertionError(f"relative length difference {diff} outside [-1, 1]")


def pair_metrics(pairs: Sequence[PreferencePair], verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """Accuracy and diagnostics for verdicts on labelled pairs (percentages).

    - ``accuracy``: the sum over all votes (both orders) is positive; ties and
      abstentions are wrong.
    - ``accuracy_original_order`` / ``accuracy_swapped_order``: the same using only
      the votes cast in that order (pairs judged in only one order count as wrong
      in the other).
    - ``accuracy_both_orders``: the majority of each order picks the labelled
      response (JudgeBench's "both judgments correct").
    - ``position_consistency``: share of pairs judged in both orders whose two
      per-order decisions agree and are not abstentions.
    - ``abstention_rate``: share of all votes with no parsable answer;
      ``no_verdict_rate``: share of pairs whose votes tie or all abstain.
    - ``accuracy_by_length``: accuracy per relative length-difference bucket.
    - ``accuracy_by_group`` (only when some pair has a :func:`pair_group`): ``n`` and
      ``accuracy`` per group, pairs without one under ``"-"``.
    - ``probability`` (only when some verdict has a ``probability``):
      :func:`gram_rr.eval.calibration.calibration_metrics` of P(A) against the labels:
      AUC, Brier, ECE with its bins (fractions), the probability's accuracy (%), and
      ``missing``, the pairs without a probability.
    Unlabelled pairs are counted in ``unlabelled`` and skipped.
    """
    check_aligned(pairs, verdicts)
    scored = [(p, v) for p, v in zip(pairs, verdicts) if p.label is not None]
    total_votes = sum(len(v.votes) for _, v in scored)
    result: dict[str, Any] = {"n": len(scored), "unlabelled": len(pairs) - len(scored), "votes": total_votes}
    if not scored:
        return result

    def pct(count: int, of: int) -> float | None:
        return None if of == 0 else 100.0 * count / of

    def accuracy_table(outcomes: dict[str, list[bool]]) -> dict[str, dict[str, Any]]:
        return {name: {"n": len(oks), "accuracy": pct(sum(oks), len(oks))} for name, oks in outcomes.items()}

    correct = [vote_margin(v.votes, p.label) > 0 for p, v in scored]
    per_order = [tuple(majority(order) for order in split_orders(v.votes)) for _, v in scored]
    both_judged = [i for i, (_, v) in enumerate(scored) if all(split_orders(v.votes))]
    consistent = sum(per_order[i][0] is not None and per_order[i][0] == per_order[i][1] for i in both_judged)

    buckets: dict[str, list[bool]] = {name: [] for name, _, _ in LENGTH_BUCKETS}
    for (pair, _), ok in zip(scored, correct):
        chosen, rejected = _chosen_rejected(pair)
        buckets[length_bucket(chosen, rejected)].append(ok)

    n = len(scored)
    result.update(
        accuracy=pct(sum(correct), n),
        accuracy_original_order=pct(sum(o == p.label for (p, _), (o, _) in zip(scored, per_order)), n),
        accuracy_swapped_order=pct(sum(s == p.label for (p, _), (_, s) in zip(scored, per_order)), n),
        accuracy_both_orders=pct(sum(o == s == p.label for (p, _), (o, s) in zip(scored, per_order)), n),
        position_consistency=pct(consistent, len(both_judged)),
        abstention_rate=pct(sum(v.abstentions for _, v in scored), total_votes),
        no_verdict_rate=pct(sum(vote_margin(v.votes, p.label) == 0 for p, v in scored), n),
        accuracy_by_length=accuracy_table(buckets),
    )
    groups = [pair_group(p) for p, _ in scored]
    if any(groups):
        by_group: dict[str, list[bool]] = {}
        for group, ok in zip(groups, correct):
            by_group.setdefault(group or "-", []).append(ok)
        result["accuracy_by_group"] = accuracy_table(dict(sorted(by_group.items())))
    if any(votes_per_order(v) > 1 for _, v in scored):
        result["vote_curve"] = vote_curve([p.label for p, _ in scored], [v for _, v in scored])
    if any(v.probability is not None for _, v in scored):
        result["probability"] = calibration_metrics([p.label for p, _ in scored], [v.probability for _, v in scored])
    return result


def _chosen_rejected(pair: PreferencePair) -> tuple[str, str]:
    return (pair.response_a, pair.response_b) if pair.label == "A" else (pair.response_b, pair.response_a)
