"""Listwise selection with any pair judge: best-of-N (knockout) or a full ranking (merge sort).

:func:`select_many` is the one implementation, over anything with ``compare_many``.
:class:`ListwiseJudge` gives a judge class ``select_many``, ``rank``, ``best_of_n`` and
``best_of_n_many`` through it: :class:`gram_rr.analyze.scorer.TreeScorer` as it is,
:class:`gram_rr.RewardReasoner` seeded by its config, and :class:`gram_rr.RewardModelScorer`
over rewards it scores once per candidate.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

from gram_rr import ranking
from gram_rr.pair_prompt import Question, question_text
from gram_rr.protocols import PairComparer
from gram_rr.verdict import FLIP, Verdict

MODES = ("best", "rank")


@dataclass
class Comparison:
    """One judged head-to-head in a ranking: candidate ``i`` shown as A, ``j`` as B, and the
    verdict in that orientation (with ``both_orders``, its swapped votes showed ``j`` first)."""

    i: int
    j: int
    verdict: Verdict


@dataclass
class Selection:
    """The result of ranking or best-of-N over one question's candidates."""

    best: int
    ranking: list[int] | None  # full best-first order (rank mode); None for best-of-N
    comparisons: list[Comparison]


def question_rng(seed: int, question: Question, candidates: Sequence[str]) -> random.Random:
    """The generator of one question's shown orders, start order and tie coins: a function of
    ``seed`` and the question's content only, not of the batch or of earlier calls."""
    return random.Random(json.dumps([seed, question_text(question), list(candidates)]))


def _decision(verdict: Verdict) -> str | None:
    """The verdict's winner; without one, the side its probability favours; else ``None``
    (a seeded coin in :mod:`gram_rr.ranking` decides)."""
    if verdict.winner is not None:
        return verdict.winner
    if verdict.probability is None or verdict.probability == 0.5:
        return None
    return "A" if verdict.probability > 0.5 else "B"


def check_inputs(questions: Sequence[Question], candidate_lists: Sequence[Sequence[str]], mode: str) -> None:
    """Refuse what :func:`select_many` cannot select over, before anything is judged or scored."""
    if len(questions) != len(candidate_lists):
        raise ValueError(f"{len(questions)} questions but {len(candidate_lists)} candidate lists")
    if mode not in MODES:
        raise ValueError(f"mode must be 'best' or 'rank', got {mode!r}")
    for k, candidates in enumerate(candidate_lists):
        if not candidates:
            raise ValueError(f"question {k} has no candidates")


def select_many(
    judge: PairComparer,
    questions: Sequence[Question],
    candidate_lists: Sequence[Sequence[str]],
    mode: str = "best",
    votes: int | None = None,
    both_orders: bool | None = None,
    seed: int = 0,
) -> list[Selection]:
    """Best-of-N (``mode="best"``, knockout) or a full ranking (``mode="rank"``, merge sort)
    for every question, each algorithm step of all questions in one ``judge.compare_many`` call
    (``votes`` and ``both_orders`` are passed on to it).

    Nothing depends on a candidate's position: which candidate of each comparison is shown
    as A is drawn at random, as are the knockout bracket and the merge sort's start order,
    and a comparison without a winner goes to the side its probability favours, else to a
    coin. The randomness of a question comes from ``seed`` and that question's content only
    (:func:`question_rng`), so the same inputs give the same shown orders whatever else is in
    the batch and however many calls came before.
    """
    check_inputs(questions, candidate_lists, mode)
    log: list[list[Comparison]] = [[] for _ in questions]
    rngs = [question_rng(seed, q, c) for q, c in zip(questions, candidate_lists)]

    def compare(triples: list[tuple[int, int, int]]) -> list[ranking.Outcome]:
        """Judge each ``(k, i, j)`` in a random shown order; outcomes in the ``(i, j)`` order."""
        swapped = [rngs[k].random() < 0.5 for k, _, _ in triples]
        shown = [(k, j, i) if swap else (k, i, j) for (k, i, j), swap in zip(triples, swapped)]
        pairs = [(questions[k], candidate_lists[k][a], candidate_lists[k][b]) for k, a, b in shown]
        verdicts = judge.compare_many(pairs, votes, both_orders)
        outcomes = []
        for (k, a, b), swap, verdict in zip(shown, swapped, verdicts):
            log[k].append(Comparison(a, b, verdict))
            decision = _decision(verdict)
            outcomes.append(FLIP[decision] if swap else decision)
        return outcomes

    algorithm = ranking.merge_sort if mode == "rank" else ranking.knockout
    orders = ranking.run_lockstep([algorithm(len(c), rng) for c, rng in zip(candidate_lists, rngs)], compare, rngs)
    return [
        Selection(best=order[0], ranking=order if mode == "rank" else None, comparisons=comparisons)
        for order, comparisons in zip(orders, log)
    ]


class ListwiseJudge:
    """``select_many``, ``rank``, ``best_of_n`` and ``best_of_n_many`` for a class with
    ``compare_many``, all through :func:`select_many`. A subclass sets the seed of the shown
    orders (:attr:`selection_seed`) and may compare through something else than itself
    (:meth:`_pair_comparer`)."""

    selection_seed: int = 0

    def _pair_comparer(self, questions: Sequence[Question], candidate_lists: Sequence[Sequence[str]]) -> PairComparer:
        """What judges the pairs of one :meth:`select_many` call: this object itself."""
        return self  # type: ignore[return-value]

    def select_many(
        self,
        questions: Sequence[Question],
        candidate_lists: Sequence[Sequence[str]],
        mode: str = "best",
        votes: int | None = None,
        both_orders: bool | None = None,
    ) -> list[Selection]:
        """Best-of-N (``mode="best"``, knockout) or a full ranking (``"rank"``, merge sort) per
        question, each algorithm step of all questions in one ``compare_many`` call: :func:`select_many`
        seeded by :attr:`selection_seed` (no candidate's position decides anything)."""
        check_inputs(questions, candidate_lists, mode)
        comparer = self._pair_comparer(questions, candidate_lists)
        return select_many(comparer, questions, candidate_lists, mode, votes, both_orders, seed=self.selection_seed)

    def rank(self, question: Question, candidates: Sequence[str], both_orders: bool | None = None) -> list[int]:
        """Candidate indices, best first (batched merge sort; each pair judged at most once;
        shown orders at random, see :func:`select_many`)."""
        if not candidates:
            return []
        return self.select_many([question], [candidates], mode="rank", both_orders=both_orders)[0].ranking

    def best_of_n(self, question: Question, candidates: Sequence[str], both_orders: bool | None = None) -> int:
        """Index of the best candidate: knockout tournament, N-1 comparisons in ceil(log2 N) batches."""
        return self.select_many([question], [candidates], mode="best", both_orders=both_orders)[0].best

    def best_of_n_many(
        self,
        questions: Sequence[Question],
        candidate_lists: Sequence[Sequence[str]],
        both_orders: bool | None = None,
    ) -> list[int]:
        """:meth:`best_of_n` for many questions, every round of all of them in one batch."""
        return [s.best for s in self.select_many(questions, candidate_lists, mode="best", both_orders=both_orders)]
