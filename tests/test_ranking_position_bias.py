"""rank / best-of-N through RewardReasoner with scripted judges: no position or index bias.

A judge that always answers "A" (or "B", or never answers) carries no information, so the
winner must be spread over the candidates, not be candidate 0; a judge that reads the
candidates must still give the exact result whichever order it is shown them in.
"""

from __future__ import annotations

import math
import random
import re

import pytest

from gram_rr.judge import JudgeConfig, RewardReasoner
from gram_rr.verdict import Verdict
from test_judge_unit import FakeEngine, says, shown

SIZES = range(2, 9)
QUESTIONS = 240  # per size


def fixed(answer: str | None):
    """A judge script that ignores the responses: always ``answer`` (``None``: abstains)."""
    return lambda a, b, s: says(answer)


def number(text: str) -> int:
    return int(re.search(r"-?\d+", text).group())


def prefers_higher_number(a, b, s):
    return says("A" if number(a) > number(b) else "B")


def problems(n: int, count: int = QUESTIONS) -> tuple[list[str], list[list[str]]]:
    return [f"question {n}-{t}" for t in range(count)], [[f"candidate {i}" for i in range(n)] for _ in range(count)]


@pytest.mark.parametrize("answer", ["A", "B", None])
def test_uninformative_judge_spreads_best_of_n_over_all_indices(answer):
    for n in SIZES:
        questions, candidate_lists = problems(n)
        engine = FakeEngine(fixed(answer))
        best = RewardReasoner(engine).best_of_n_many(questions, candidate_lists)
        counts = [best.count(i) for i in range(n)]
        expected = QUESTIONS / n
        # each index wins with probability 1/n exactly; the bound is loose and the run seeded
        assert all(0.5 * expected <= c <= 1.5 * expected for c in counts), (answer, n, counts)
        assert len(engine.calls) == math.ceil(math.log2(n))  # each round of every question: one call


@pytest.mark.parametrize("answer", ["A", "B", None])
def test_uninformative_judge_does_not_return_the_input_order(answer):
    for n in SIZES:
        questions, candidate_lists = problems(n)
        selections = RewardReasoner(FakeEngine(fixed(answer))).select_many(questions, candidate_lists, mode="rank")
        orders = [s.ranking for s in selections]
        assert all(sorted(o) == list(range(n)) for o in orders)
        assert all(s.best == s.ranking[0] for s in selections)
        identity = sum(o == list(range(n)) for o in orders)
        assert identity <= 0.75 * QUESTIONS if n == 2 else identity <= 0.25 * QUESTIONS, (answer, n, identity)
        firsts = [o[0] for o in orders]
        assert all(firsts.count(i) >= 0.4 * QUESTIONS / n for i in range(n)), (answer, n)


@pytest.mark.parametrize("both_orders", [False, True])
def test_consistent_judge_gives_the_exact_ranking_and_best(both_orders):
    rng = random.Random(7)
    questions, candidate_lists = [], []
    for t in range(60):
        n = rng.randint(1, 8)
        questions.append(f"q{t}")
        candidate_lists.append([f"answer {v}" for v in rng.sample(range(-50, 50), n)])
    engine = FakeEngine(prefers_higher_number)
    judge = RewardReasoner(engine, JudgeConfig(both_orders=both_orders))
    truth = [sorted(range(len(c)), key=lambda i: -number(c[i])) for c in candidate_lists]

    ranked = judge.select_many(questions, candidate_lists, mode="rank")
    assert [s.ranking for s in ranked] == truth
    assert judge.best_of_n_many(questions, candidate_lists) == [order[0] for order in truth]

    # every Comparison names the candidate really shown as A, with the verdict in that orientation
    prompts_seen = {(shown(c)) for convs, _ in engine.calls for c in convs}
    comparisons = [(c, cands) for s, cands in zip(ranked, candidate_lists) for c in s.comparisons]
    for c, cands in comparisons:
        assert (cands[c.i], cands[c.j]) in prompts_seen
        assert c.verdict.winner == ("A" if number(cands[c.i]) > number(cands[c.j]) else "B")
    # both shown orders occur: the lower index is not always A
    assert 0.3 < sum(c.i < c.j for c, _ in comparisons) / len(comparisons) < 0.7


def test_both_orders_sends_both_prompts_in_one_call_per_step_and_ties_position_bias():
    questions, candidate_lists = problems(8, count=100)
    engine = FakeEngine(fixed("A"))
    selections = RewardReasoner(engine).select_many(questions, candidate_lists, mode="best", both_orders=True)
    assert [len(convs) for convs, _ in engine.calls] == [2 * 100 * 4, 2 * 100 * 2, 2 * 100 * 1]
    for s in selections:
        for c in s.comparisons:
            assert [v.swapped for v in c.verdict.votes] == [False, True]
            assert c.verdict.winner is None  # "A" in both orders is one vote each way
    best = [s.best for s in selections]
    assert all(best.count(i) >= 4 for i in range(8))


def test_shown_orders_are_a_function_of_seed_and_question_only():
    questions, candidate_lists = problems(5, count=30)

    def shown_pairs(judge, qs, cls):
        return [[(c.i, c.j) for c in s.comparisons] for s in judge.select_many(qs, cls, mode="rank")]

    judge = RewardReasoner(FakeEngine(fixed("A")), JudgeConfig(seed=3))
    first = shown_pairs(judge, questions, candidate_lists)
    assert shown_pairs(judge, questions, candidate_lists) == first  # a second call: same orders
    # alone, or in another batch, a question is shown the same way
    assert shown_pairs(judge, questions[7:8], candidate_lists[7:8]) == first[7:8]
    assert shown_pairs(judge, questions[::-1], candidate_lists[::-1]) == first[::-1]
    fresh = RewardReasoner(FakeEngine(fixed("A")), JudgeConfig(seed=3))
    assert shown_pairs(fresh, questions, candidate_lists) == first
    other_seed = RewardReasoner(FakeEngine(fixed("A")), JudgeConfig(seed=4))
    assert shown_pairs(other_seed, questions, candidate_lists) != first


class ProbabilityOnly(RewardReasoner):
    """A judge whose verdicts never name a winner but carry P(A better than B)."""

    def compare_many(self, pairs, votes=None, both_orders=None, temperature=None):
        return [
            Verdict(winner=None, confidence=0.0, probability=0.8 if number(a) > number(b) else 0.3) for _, a, b in pairs
        ]


def test_no_winner_is_decided_by_the_probability():
    values = [[3, 9, -2, 5, 0, 7], [1, 4], [8, 2, 6]]
    candidate_lists = [[f"answer {v}" for v in vs] for vs in values]
    judge = ProbabilityOnly(FakeEngine(prefers_higher_number))
    orders = [s.ranking for s in judge.select_many(["q0", "q1", "q2"], candidate_lists, mode="rank")]
    assert orders == [sorted(range(len(vs)), key=lambda i: -vs[i]) for vs in values]
