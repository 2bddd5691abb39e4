"""Judge pairs in batches with a resumable cache, and evaluate a judge on labelled pairs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tqdm import tqdm

from gram_rr.data.records import PreferencePair
from gram_rr.eval.cache import VerdictCache
from gram_rr.eval.pairs import pair_metrics
from gram_rr.protocols import PairJudge
from gram_rr.verdict import Verdict


def judge_pairs(
    judge: PairJudge,
    pairs: Sequence[PreferencePair],
    votes: int = 1,
    both_orders: bool = True,
    batch_size: int = 64,
    cache: VerdictCache | None = None,
    fits: Callable[[PreferencePair], bool] | None = None,
    desc: str = "judging",
) -> list[Verdict]:
    """Verdicts for ``pairs`` in input order, ``batch_size`` pairs per ``compare_many`` call.

    Pairs already in ``cache`` are not judged again and each finished batch is added to
    it, so an interrupted run continues where it stopped. Pairs for which ``fits``
    returns False (the prompt does not fit the model) are not sent to the judge and get
    an empty verdict (no votes, counted wrong by every metric).
    """
    ids = [p.id for p in pairs]
    if len(set(ids)) != len(ids):
        raise ValueError("pair ids must be unique to cache verdicts; the data has duplicate ids")
    done: dict[str, Verdict] = {}
    todo = []
    for pair in pairs:
        if cache is not None and pair in cache:
            done[pair.id] = cache[pair]
        elif fits is not None and not fits(pair):
            done[pair.id] = Verdict(winner=None, confidence=0.0, votes=[])
        else:
            todo.append(pair)
    with tqdm(total=len(pairs), initial=len(pairs) - len(todo), desc=desc, unit="pair") as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            verdicts = judge.compare_many(batch, votes=votes, both_orders=both_orders)
            if len(verdicts) != len(batch):
                raise RuntimeError(f"judge returned {len(verdicts)} verdicts for {len(batch)} pairs")
            if cache is not None:
                cache.add(zip(batch, verdicts))
            done.update((p.id, v) for p, v in zip(batch, verdicts))
            bar.update(len(batch))
    return [done[i] for i in ids]


def evaluate_pairs(
    reasoner: PairJudge,
    pairs: Sequence[PreferencePair],
    votes: int = 1,
    both_orders: bool = True,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Judge labelled ``pairs`` and return :func:`gram_rr.eval.pairs.pair_metrics`
    (accuracy, both-orders accuracy, position consistency, abstention rate, accuracy by
    length difference, and the vote@k curve when ``votes > 1``), in percent."""
    verdicts = judge_pairs(reasoner, pairs, votes=votes, both_orders=both_orders, batch_size=batch_size)
    return pair_metrics(pairs, verdicts)
