"""Verdicts: what a judge says about one pair, every vote included."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# Probabilities are clamped to [PROBABILITY_CLAMP, 1 - PROBABILITY_CLAMP] before pooling log-odds.
FLIP = {"A": "B", "B": "A", None: None}  # the same answer read with the pair's A/B order exchanged
PROBABILITY_CLAMP = 1e-4


@dataclass
class Vote:
    """One sampled judgment, mapped back to the pair's original A/B orientation.

    ``answer`` is ``None`` for an abstention (no parsable answer); ``swapped`` says the
    vote was cast on the pair with A and B exchanged (its ``answer`` is already flipped back).
    ``probability`` is P(the pair's original A is better) from the answer-token
    log-probabilities, normalised over A and B (flipped back too); None for an abstention
    or when the engine gave none.
    """

    answer: str | None
    rationale: str
    swapped: bool = False
    text: str = ""
    num_tokens: int = 0
    probability: float | None = None


@dataclass
class Verdict:
    """The combined result for one pair.

    ``winner`` is ``"A"``, ``"B"`` or ``None`` (every vote abstained, or an exact tie).
    ``confidence`` is the winner's vote share: its votes over all votes cast, abstentions
    included, so abstentions and order disagreements lower it; 0.0 when there is no winner
    (self-training's ``predict.min_vote_share`` is a floor on it). ``answer_shares`` gives
    each answer's share of all votes, the winner's or not.
    ``probability`` is P(A better than B) pooled over the votes that carry one
    (:func:`pooled_probability`); None when none does.
    """

    winner: str | None
    confidence: float
    votes: list[Vote] = field(default_factory=list)
    probability: float | None = None

    @property
    def abstentions(self) -> int:
        return sum(v.answer is None for v in self.votes)

    @property
    def answer_shares(self) -> dict[str, float]:
        """``{"A": share, "B": share}`` of all votes cast (abstentions make them sum to less than 1)."""
        total = len(self.votes) or 1
        return {k: sum(v.answer == k for v in self.votes) / total for k in ("A", "B")}

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["abstentions"] = self.abstentions
        return record


def letter_probability(answer_logprobs: dict[str, float]) -> float:
    """P(A) normalised over the two letters: exp(lp_A) / (exp(lp_A) + exp(lp_B))."""
    margin = answer_logprobs["A"] - answer_logprobs["B"]
    if margin >= 0:
        return 1.0 / (1.0 + math.exp(-margin))
    return math.exp(margin) / (1.0 + math.exp(margin))


def pooled_probability(votes: Sequence[Vote]) -> float | None:
    """P(A better) from every vote with a probability: the mean log-odds (probabilities clamped
    to ``PROBABILITY_CLAMP``) within each order, then the mean over the orders present, so each
    order weighs the same; back through the sigmoid. A constant position bias (the same
    log-odds added to whichever response is shown first) cancels between the two orders.
    None when no vote has a probability."""
    log_odds: dict[bool, list[float]] = {}
    for vote in votes:
        if vote.probability is not None:
            p = min(max(vote.probability, PROBABILITY_CLAMP), 1.0 - PROBABILITY_CLAMP)
            log_odds.setdefault(vote.swapped, []).append(math.log(p / (1.0 - p)))
    if not log_odds:
        return None
    mean = sum(sum(values) / len(values) for values in log_odds.values()) / len(log_odds)
    return 1.0 / (1.0 + math.exp(-mean))
