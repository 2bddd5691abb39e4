"""Property tests for the batched comparator algorithms against scripted comparators."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gram_rr.ranking import best_of_n, best_of_n_many, knockout, merge_sort, rank, rank_many, run_lockstep


class Scripted:
    """A batched comparator with a hidden quality per candidate, recording every batch."""

    def __init__(self, quality: list[float] | None = None, rule=None):
        self.quality = quality
        self.rule = rule  # (i, j) -> "A" | "B" | None, overrides quality
        self.batches: list[list[tuple[int, int]]] = []

    def __call__(self, pairs: list[tuple[int, int]]) -> list[str | None]:
        self.batches.append(list(pairs))
        if self.rule is not None:
            return [self.rule(i, j) for i, j in pairs]
        return ["A" if self.quality[i] > self.quality[j] else "B" for i, j in pairs]

    @property
    def judged(self) -> list[tuple[int, int]]:
        return [pair for batch in self.batches for pair in batch]


def no_pair_twice(judged: list[tuple[int, int]]) -> bool:
    unordered = [frozenset(p) for p in judged]
    return len(unordered) == len(set(unordered))


distinct_qualities = st.lists(st.integers(-1000, 1000), min_size=1, max_size=40, unique=True)


@given(distinct_qualities)
def test_rank_sorts_consistent_comparator(quality):
    cmp = Scripted(quality)
    order = rank(len(quality), cmp)
    assert order == sorted(range(len(quality)), key=lambda i: -quality[i])
    assert no_pair_twice(cmp.judged)
    assert all(i != j for i, j in cmp.judged)
    # merge sort bound: at most n*ceil(log2 n) comparisons
    n = len(quality)
    assert len(cmp.judged) <= n * max(1, math.ceil(math.log2(n)))


@given(distinct_qualities)
def test_best_of_n_consistent_comparator(quality):
    n = len(quality)
    cmp = Scripted(quality)
    assert best_of_n(n, cmp) == max(range(n), key=lambda i: quality[i])
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
    order = rank(n, cmp)
    assert sorted(order) == list(range(n))
    assert no_pair_twice(cmp.judged)
    winner_cmp = Scripted(rule=rule)
    assert 0 <= best_of_n(n, winner_cmp) < n
    assert len(winner_cmp.judged) == n - 1


@pytest.mark.parametrize("outcome", [None, "A", "B"])
@given(n=st.integers(2, 33), seed=st.integers(0, 2**32 - 1))
def test_uninformative_comparator_follows_the_seed_not_the_index(outcome, n, seed):
    # No verdict at all, or a verdict that only repeats the asked orientation: the result is
    # a seeded function, never the lower index by rule.
    def rule(i, j):
        return outcome

    def run(s):
        return rank(n, Scripted(rule=rule), seed=s), best_of_n(n, Scripted(rule=rule), seed=s)

    order, best = run(seed)
    assert sorted(order) == list(range(n)) and 0 <= best < n
    assert run(seed) == (order, best)
    results = [run(seed + s) for s in range(40)]
    assert any(o != list(range(n)) for o, _ in results)
    assert len({b for _, b in results}) > 1


def test_uninformative_comparator_spreads_the_win_over_indices():
    # With a shuffled bracket and coin ties, each index wins about 1/n of the time.
    for outcome in (None, "A", "B"):
        for n in (2, 3, 5, 8):
            wins = [best_of_n(n, Scripted(rule=lambda i, j: outcome), seed=s) for s in range(400)]
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


def test_best_of_16_is_four_rounds_of_8_4_2_1():
    cmp = Scripted(list(range(16)))
    assert best_of_n(16, cmp) == 15
    assert [len(b) for b in cmp.batches] == [8, 4, 2, 1]


def test_best_of_n_odd_counts_use_byes():
    cmp = Scripted([5, 1, 9, 3, 7])
    assert best_of_n(5, cmp) == 2
    assert [len(b) for b in cmp.batches] == [2, 1, 1]


@given(st.lists(distinct_qualities, min_size=1, max_size=6))
def test_many_problems_share_batches(qualities):
    batches: list[list[tuple[int, int, int]]] = []

    def compare(triples):
        batches.append(list(triples))
        return ["A" if qualities[k][i] > qualities[k][j] else "B" for k, i, j in triples]

    winners = best_of_n_many([len(q) for q in qualities], compare)
    assert winners == [max(range(len(q)), key=lambda i: q[i]) for q in qualities]
    assert len(batches) == max(math.ceil(math.log2(len(q))) if len(q) > 1 else 0 for q in qualities)
    assert sum(map(len, batches)) == sum(len(q) - 1 for q in qualities)

    batches.clear()
    orders = rank_many([len(q) for q in qualities], compare)
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


def test_comparator_returning_wrong_count_is_an_error():
    with pytest.raises(ValueError, match="outcomes"):
        rank(4, lambda pairs: ["A"])


def test_empty_and_single():
    assert rank(0, Scripted([])) == []
    assert rank(1, Scripted([0.0])) == [0]
    assert best_of_n(1, Scripted([0.0])) == 0
    with pytest.raises(ValueError):
        best_of_n(0, Scripted([]))
    assert list(knockout(1, random.Random(0))) == [] and list(merge_sort(1, random.Random(0))) == []
    with pytest.raises(ValueError, match="random generators"):
        run_lockstep([knockout(2, random.Random(0))], lambda triples: ["A"], [])
