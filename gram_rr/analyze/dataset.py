"""Rows for a preference tree: one per pair and shown order, with the target and what it is compared with.

``target="gold"``: one row per labelled pair in the file's order; the target is 1 when A (shown
first) is the gold winner. ``target="judge"``: one row per order the judge saw (both, for a
verdict judged in both orders); the target is 1 when that order's majority vote picked the
response shown first. Pairs or orders without what a row needs are counted in ``dropped``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gram_rr.analyze.attributes import AttributeTable
from gram_rr.analyze.features import FeatureSpec, MissingInput, feature_vector
from gram_rr.analyze.judgments import JudgeVerdicts
from gram_rr.data.records import PreferencePair
from gram_rr.eval.votes import majority
from gram_rr.verdict import Verdict

TARGETS = ("gold", "judge")


@dataclass(frozen=True)
class Row:
    """One pair in one shown order: its features, target (1: first shown preferred), the gold
    winner's position and the judge's pick (1 first, 0 second, None unknown or no decision)."""

    pair_id: str
    swapped: bool
    features: tuple[float, ...]
    target: int
    gold_first: int | None
    judge_first: int | None


@dataclass
class Dataset:
    spec: FeatureSpec
    target: str
    rows: list[Row]
    pairs: int
    dropped: Counter = field(default_factory=Counter)


def order_pick(verdict: Verdict, swapped: bool) -> int | None:
    """1 when the majority of the votes cast in this order picked the response shown first,
    0 when it picked the second, None when that order has no votes, a tie or only abstentions."""
    winner = majority([v for v in verdict.votes if v.swapped == swapped])
    return None if winner is None else int(winner == ("B" if swapped else "A"))


def gold_first(pair: PreferencePair, swapped: bool) -> int | None:
    return None if pair.label is None else int(pair.label == ("B" if swapped else "A"))


def build_dataset(
    pairs: Sequence[PreferencePair], spec: FeatureSpec, target: str,
    verdicts: JudgeVerdicts | None = None, attributes: AttributeTable | None = None,
) -> Dataset:
    """The rows of ``pairs`` for ``target`` (see the module docstring)."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    if target == "judge" and verdicts is None:
        raise ValueError("--target judge needs --verdicts FILE")
    data = Dataset(spec, target, [], len(pairs))
    for pair in pairs:
        verdict = verdicts.get(pair) if verdicts is not None else None
        if target == "gold":
            if pair.label is None:
                data.dropped["unlabelled pair"] += 1
                continue
            judged = None if verdict is None or verdict.winner is None else int(verdict.winner == "A")
            _add(data, pair, False, gold_first(pair, False), judged, verdict, attributes)
        elif verdict is None:
            data.dropped["pair without a verdict"] += 1
        else:
            for swapped in sorted({v.swapped for v in verdict.votes}):
                pick = order_pick(verdict, swapped)
                if pick is None:
                    data.dropped["order without a decision (tie or abstentions)"] += 1
                    continue
                _add(data, pair, swapped, pick, pick, verdict, attributes)
    if not data.rows:
        raise ValueError(f"no rows to analyse ({dict(data.dropped) or 'no pairs'})")
    return data


def _add(data: Dataset, pair: PreferencePair, swapped: bool, target: int, judge: int | None,
         verdict: Verdict | None, attributes: AttributeTable | None) -> None:
    try:
        features = feature_vector(data.spec, pair, swapped, verdict, attributes)
    except MissingInput as missing:
        data.dropped[str(missing)] += 1
        return
    data.rows.append(Row(pair.id, swapped, tuple(features), target, gold_first(pair, swapped), judge))


def position_summary(pairs: Sequence[PreferencePair], verdicts: JudgeVerdicts) -> dict[str, Any]:
    """How often the judge picks the response shown first, overall and by the gold winner's
    position, over every labelled pair and order it decided; and, over the pairs decided in both
    orders, how often it picks the same position both times (a different response each time).
    Percentages."""
    picks: dict[int, list[int]] = {1: [], 0: []}
    same_position: list[int] = []
    for pair in pairs:
        verdict = verdicts.get(pair)
        if verdict is None or pair.label is None:
            continue
        per_order = [order_pick(verdict, swapped) for swapped in sorted({v.swapped for v in verdict.votes})]
        for swapped, pick in zip(sorted({v.swapped for v in verdict.votes}), per_order):
            if pick is not None:
                picks[gold_first(pair, swapped)].append(pick)
        if len(per_order) == 2 and None not in per_order:
            same_position.append(int(per_order[0] == per_order[1]))
    both = picks[1] + picks[0]

    def share(values: list[int]) -> float | None:
        return 100.0 * sum(values) / len(values) if values else None

    return {
        "orders": len(both),
        "picks_first": share(both),
        "picks_first_when_gold_first": share(picks[1]),
        "picks_first_when_gold_second": share(picks[0]),
        "pairs_both_orders": len(same_position),
        "same_position_both_orders": share(same_position),
    }
