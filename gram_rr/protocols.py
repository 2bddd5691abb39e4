"""What code that judges pairs needs from a judge, generative or scalar."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from gram_rr.pair_prompt import PairLike, Question
from gram_rr.verdict import Verdict


@runtime_checkable
class PairJudge(Protocol):
    """Something that judges pairs: :class:`gram_rr.RewardReasoner` and
    :class:`gram_rr.RewardModelScorer` both qualify."""

    def compare_many(
        self, pairs: Sequence[PairLike], votes: int | None = None, both_orders: bool | None = None
    ) -> list[Verdict]:
        """One verdict per pair, in order."""
        ...

    def rank(self, question: Question, candidates: Sequence[str]) -> list[int]:
        """Candidate indices, best first."""
        ...

    def best_of_n(self, question: Question, candidates: Sequence[str]) -> int:
        """Index of the best candidate."""
        ...

    def close(self) -> None:
        """Release the judge's model."""
        ...
