"""OpenRLHF's ``/get_reward``: whom each rollout is judged against, and its reward.

A rollout with a label (the dataset's reference answer) is judged against the label. A rollout
without one (OpenRLHF sends ``""`` when no ``--label_key`` is set; the list may also be left
out) is judged against the earlier responses to the same question that this replica remembers
(:class:`ResponseMemory`): the last ``reward_memory_responses`` of them, each one comparison.
The reward is the mean P(this response better) over its opponents, every pair judged in both
shown orders and pooled (:func:`gram_rr.rl.group_reward.first_wins`). The first response to a
question has no opponent: its reward is the neutral :data:`NEUTRAL_REWARD`, and
``judge_no_opponent`` says so. Only responses without a label are remembered.
"""

from __future__ import annotations

import json
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from gram_rr.pair_prompt import Question
from gram_rr.rl.group_reward import first_wins
from gram_rr.verdict import Verdict

Pair = tuple[Question, str, str]

NEUTRAL_REWARD = 0.5  # a response with no opponent: neither better nor worse


def _key(question: Question) -> str:
    return json.dumps(question, sort_keys=True)


class ResponseMemory:
    """The last ``per_prompt`` responses to each of the ``prompts`` most recently seen questions;
    the least recently seen question is forgotten first, so the memory stays bounded."""

    def __init__(self, prompts: int, per_prompt: int) -> None:
        self.prompts = prompts
        self.per_prompt = per_prompt
        self._responses: OrderedDict[str, deque[str]] = OrderedDict()

    def recall(self, question: Question) -> list[str]:
        """The responses to ``question`` remembered now, oldest first; it becomes the most recently seen."""
        key = _key(question)
        if key not in self._responses:
            return []
        self._responses.move_to_end(key)
        return list(self._responses[key])

    def remember(self, question: Question, response: str) -> None:
        """Keep ``response`` (dropping the question's oldest beyond ``per_prompt``, then the least recent question)."""
        key = _key(question)
        self._responses.setdefault(key, deque(maxlen=self.per_prompt)).append(response)
        self._responses.move_to_end(key)
        if len(self._responses) > self.prompts:
            self._responses.popitem(last=False)

    def usage(self) -> dict[str, int]:
        """Questions and responses held now, and the two limits."""
        return {
            "prompts": len(self._responses), "responses": sum(map(len, self._responses.values())),
            "max_prompts": self.prompts, "responses_per_prompt": self.per_prompt,
        }


@dataclass
class Rollout:
    """One entry of a request: its question and response, and whom it is judged against."""

    question: Question
    response: str
    opponents: list[str]  # [label], or earlier responses to the question (oldest first); empty: none
    labeled: bool

    def pairs(self) -> list[Pair]:
        return [(self.question, self.response, opponent) for opponent in self.opponents]


def plan_rollouts(entries: Sequence[tuple[Question, str, str]], memory: ResponseMemory) -> list[Rollout]:
    """Each ``(question, response, label)`` with its opponents: ``[label]``; without a label (``""``),
    the last ``memory.per_prompt`` responses to its question, those of the request's earlier entries
    included. The memory is only read: :func:`remember` adds the responses once the request is accepted."""
    earlier: dict[str, list[str]] = {}
    rollouts = []
    for question, response, label in entries:
        if label:
            rollouts.append(Rollout(question, response, [label], labeled=True))
            continue
        seen = earlier.setdefault(_key(question), memory.recall(question))
        rollouts.append(Rollout(question, response, seen[-memory.per_prompt:], labeled=False))
        seen.append(response)
    return rollouts


def remember(rollouts: Sequence[Rollout], memory: ResponseMemory) -> None:
    """Remember every response without a label, in request order."""
    for rollout in rollouts:
        if not rollout.labeled:
            memory.remember(rollout.question, rollout.response)


def length_checked_pairs(rollouts: Sequence[Rollout]) -> tuple[list[Pair], list[int]]:
    """The pairs whose judge prompts must fit, and each one's rollout index: every judged pair, and
    each response without a label against itself (so any two remembered responses fit together:
    their lengths sum to at most twice the longer's)."""
    pairs, owners = [], []
    for k, rollout in enumerate(rollouts):
        own = rollout.pairs() + ([] if rollout.labeled else [(rollout.question, rollout.response, rollout.response)])
        pairs += own
        owners += [k] * len(own)
    return pairs, owners


def reward_answer(rollouts: Sequence[Rollout], verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """OpenRLHF's answer, one value per rollout: ``rewards`` (= ``scores``) and ``extra_logs``
    (``judge_win_rate``: share of opponents it beat, 0.5 without one; ``judge_abstentions``: abstaining
    votes per comparison; ``judge_opponents``; ``judge_no_opponent``: 1.0 when the reward is the neutral
    0.5). ``verdicts`` are those of every rollout's :meth:`Rollout.pairs`, in order."""
    remaining = iter(verdicts)
    rewards, win_rates, abstentions, opponents, alone = [], [], [], [], []
    for rollout in rollouts:
        own = [next(remaining) for _ in rollout.opponents]
        rewards.append(fmean(first_wins(v) for v in own) if own else NEUTRAL_REWARD)
        win_rates.append(fmean(float(v.winner == "A") for v in own) if own else NEUTRAL_REWARD)
        abstentions.append(fmean(float(v.abstentions) for v in own) if own else 0.0)
        opponents.append(float(len(own)))
        alone.append(float(not own))
    return {
        "rewards": rewards,
        "scores": rewards,
        "extra_logs": {
            "judge_win_rate": win_rates, "judge_abstentions": abstentions,
            "judge_opponents": opponents, "judge_no_opponent": alone,
        },
    }
