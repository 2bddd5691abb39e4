"""Property tests for listwise selection (:func:`gram_rr.selection.select_many`) and the batched
comparator algorithms under it, against scripted pair judges."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gram_rr.ranking import knockout, merge_sort, run_lockstep
from gram_rr.selection import ListwiseJudge, select_many
from gram_rr.verdict import Verdict


def texts(quality: list[float]) -> list[str]:
    """Candidates that carry their index and hidden quality: ``"index:quality"``."""
    return [f"{i}:{q}" for i, q in enumerate(quality)]


def index_and_quality(text: str) -> tuple[int, float]:
    index, quality = text.split(":")
    return int(index), float(quality)


class Scripted(ListwiseJudge):
    """A pair judge over :func:`texts` candidates: the higher quality wins, or ``rule(i, j)`` of the
    shown indices decides; records every ``compare_many`` call as its shown ``(A, B)`` index pairs."""

    def __init__(self, rule=None):
        self.rule = rule  # shown (i, j) -> "A" | "B" | None, overrides quality
        self.batches: list[list[tuple[int, int]]] = []
        self.settings: list[tuple[int | None, bool | None]] = []

    def compare_many(self, pairs, votes=None, both_orders=None) -> list[Verdict]:
        shown = [(index_and_quality(a), index_and_quality(b)) for _, a, b in pairs]
        self.batches.append([(i, j) for (i, _), (j, _) in shown])
        self.settings.append((votes, both_orders))
        if self.rule is not None:
            answers = [self.rule(i, j) for (i, _), (j, _) in shown]
        else:
            answers = ["A" if qa > qb else "B" for (_, qa), (_, qb) in shown]
        return [Verdict(winner=answer, confidence=1.0 if answer else 0.0) for answer in answers]

    @property
    def judged(self) -> list[tuple[int, int]]:
        return [pair for batch in self.batches for pair in batch]


def rank(quality: list[float], judge: Scripted, seed: int = 0) -> list[int]:
    return select_many(judge, ["q"], [texts(quality)], "rank", seed=seed)[0].ranking


def best_of_n(quality: list[float], judge: Scripted, seed: int = 0) -> int:
    return select_many(judge, ["q"], [texts(quality)], "best", seed=seed)[0].best


def no_pair_twice(judged: list[tuple[int, int]]) -> bool:
    unordered = [frozenset(p) for p in judged]
    return len(unordered) == len(set(unordered))


distinct_qualities = st.lists(st.integers(-1000, 1000), min_size=1, max_size=40, unique=True)


@given(distinct_qualities)
def test_rank_sorts_consistent_comparator(quality):
    cmp = Scripted()
    order = rank(quality, cmp)
    assert order == sorted(range(len(quality)), key=lambda i: -quality[i])
    assert no_pair_twice(cmp.judged)
    assert all(i != j for i, j in cmp.judged)
    # merge sort bound: at most n*ceil(log2 n) comparisons
    n = len(quality)
    assert len(cmp.judged) <= n * max(1, math.ceil(math.log2(n)))


@given(distinct_qualities)
def test_best_of_n_consistent_comparator(quality):
    n = len(quality)
    cmp = Scripted()
    assert best_of_n(quality, cmp) == max(range(n), key=lambda i: quality[i])
    assert len(cmp.judged) == n - 1
    assert len(cmp.batches) == (math.ceil(math.log2(n)) if n > 1 else 0)
    assert no_pair_twice(cmp.judged)


@given(st.integers(1, 40), st.integers(0, 2**32 - 1), st.floats(0, 1))
@settings(max_examples=150)
def test_inconsistent_comparators_still_give_permutations(n, seed, none_rate):
    rng = random.Random(seed)

    def rule(i, j):  # random, intransitive, sometimes no verdict
        return None if rng.random() < none_rate else rng.choice("AB")

    cmp = Scripted(rule=rule)
    order = rank([0] * n, cmp)
    assert sorted(order) == list(range(n))
    assert no_pair_twice(cmp.judged)
    winner_cmp = Scripted(rule=rule)
    assert 0 <= best_of_n([0] * n, winner_cmp) < n
    assert len(winner_cmp.judged) == n - 1


@pytest.mark.parametrize("outcome", [None, "A", "B"])
@given(n=st.integers(2, 33), seed=st.integers(0, 2**32 - 1))
def test_uninformative_comparator_follows_the_seed_not_the_index(outcome, n, seed):
    # No verdict at all, or a verdict that only repeats the shown position: the result is
    # a seeded function, never the lower index by rule.
    def rule(i, j):
        return outcome

    def run(s):
        return rank([0] * n, Scripted(rule=rule), seed=s), best_of_n([0] * n, Scripted(rule=rule), seed=s)

    order, best = run(seed)
    assert sorted(order) == list(range(n)) and 0 <= best < n
    assert run(seed) == (order, best)
    results = [run(seed + s) for s in range(40)]
    assert any(o != list(range(n)) for o, _ in results)
    assert len({b for _, b in results}) > 1


def test_uninformative_comparator_spreads_the_win_over_indices():
    # With a shuffled bracket, random shown orders and coin ties, each index wins about 1/n of the time.
    for outcome in (None, "A", "B"):
        for n in (2, 3, 5, 8):
            wins = [best_of_n([0] * n, Scripted(rule=lambda i, j: outcome), seed=s) for s in range(400)]
            assert all(0.5 * 400 / n <= wins.count(i) <= 1.5 * 400 / n for i in range(n)), (outcome, n)


def test_ties_are_decided_once_and_cached():
    def asks_twice():
        first = yield [(0, 1)]
        second = yield [(1, 0)]
        return [first[0], second[0]]

    calls: list[list] = []

    def compare(triples):
        calls.append(triples)
        return [None for _ in triples]

    (result,) = run_lockstep([asks_twice()], compare, [random.Random(3)])
    assert sorted(result) == ["A", "B"]  # the coin's outcome, flipped for the reversed pair
    assert len(calls) == 1


def test_best_of_16_is_four_rounds_of_8_4_2_1_with_the_judge_settings_passed_on():
    cmp = Scripted()
    (selection,) = select_many(cmp, ["q"], [texts(list(range(16)))], "best", votes=3, both_orders=True)
    assert selection.best == 15 and selection.ranking is None
    assert [len(b) for b in cmp.batches] == [8, 4, 2, 1]
    assert cmp.settings == [(3, True)] * 4
    assert [(c.i, c.j) for c in selection.comparisons] == cmp.judged  # logged as shown


def test_best_of_n_odd_counts_use_byes():
    cmp = Scripted()
    assert best_of_n([5, 1, 9, 3, 7], cmp) == 2
    assert [len(b) for b in cmp.batches] == [2, 1, 1]


@given(st.lists(distinct_qualities, min_size=1, max_size=6))
def test_many_problems_share_batches(qualities):
    questions = [f"q{k}" for k in range(len(qualities))]
    candidate_lists = [texts(q) for q in qualities]
    cmp = Scripted()
    winners = cmp.best_of_n_many(questions, candidate_lists)
    assert winners == [max(range(len(q)), key=lambda i: q[i]) for q in qualities]
    assert len(cmp.batches) == max(math.ceil(math.log2(len(q))) if len(q) > 1 else 0 for q in qualities)
    assert sum(map(len, cmp.batches)) == sum(len(q) - 1 for q in qualities)

    orders = [s.ranking for s in cmp.select_many(questions, candidate_lists, mode="rank")]
    assert orders == [sorted(range(len(q)), key=lambda i: -q[i]) for q in qualities]


def test_cache_answers_reverse_pair_without_judging():
    # An algorithm that asks the same pair in both orientations across steps.
    def asks_twice():
        first = yield [(0, 1)]
        second = yield [(1, 0), (0, 1)]
        return [first[0], *second]

    calls: list[list] = []

    def compare(triples):
        calls.append(triples)
        return ["A" for _ in triples]

    (result,) = run_lockstep([asks_twice()], compare, [random.Random(0)])
    assert result == ["A", "B", "A"]
    assert calls == [[(0, 0, 1)]]


def test_judge_returning_wrong_count_is_an_error():
    class OneVerdict(Scripted):
        def compare_many(self, pairs, votes=None, both_orders=None):
            return super().compare_many(pairs, votes, both_orders)[:1]

    with pytest.raises(ValueError, match="outcomes"):
        rank([1, 2, 3, 4], OneVerdict())


def test_empty_and_single():
    cmp = Scripted()
    assert cmp.rank("q", []) == []
    (single,) = select_many(cmp, ["q"], [texts([0.0])], "rank")
    assert (single.best, single.ranking, single.comparisons) == (0, [0], [])
    assert cmp.best_of_n("q", texts([0.0])) == 0 and cmp.batches == []
    with pytest.raises(ValueError, match="no candidates"):
        select_many(cmp, ["q"], [[]])
    with pytest.raises(ValueError, match="candidate lists"):
        select_many(cmp, ["q", "r"], [texts([0.0])])
    with pytest.raises(ValueError, match="mode"):
        select_many(cmp, ["q"], [texts([0.0])], "top")
    assert list(knockout(1, random.Random(0))) == [] and list(merge_sort(1, random.Random(0))) == []
    with pytest.raises(ValueError, match="random generators"):
        run_lockstep([knockout(2, random.Random(0))], lambda triples: ["A"], [])
