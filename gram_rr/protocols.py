"""What code that judges pairs needs from a judge, generative or scalar."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from gram_rr.pair_prompt import PairLike, Question
from gram_rr.verdict import Verdict


class PairComparer(Protocol):
    """All that listwise selection (:func:`gram_rr.selection.select_many`) and a group reward
    (:class:`gram_rr.rl.GroupJudgeReward`) need from a judge: :class:`gram_rr.RewardReasoner`,
    :class:`gram_rr.RewardModelScorer`, or a client of a remote judge with the same method."""

    def compare_many(
        self, pairs: Sequence[PairLike], votes: int | None = None, both_orders: bool | None = None
    ) -> list[Verdict]:
        """One verdict per ``(question, a, b)`` pair, in order."""
        ...


@runtime_checkable
class PairJudge(PairComparer, Protocol):
    """Something that judges pairs: :class:`gram_rr.RewardReasoner` and
    :class:`gram_rr.RewardModelScorer` both qualify."""

    def rank(self, question: Question, candidates: Sequence[str]) -> list[int]:
        """Candidate indices, best first."""
        ...

    def best_of_n(self, question: Question, candidates: Sequence[str]) -> int:
        """Index of the best candidate."""
        ...

    def close(self) -> None:
        """Release the judge's model."""
        ...
