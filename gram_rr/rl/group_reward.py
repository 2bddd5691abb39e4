"""Group-relative rewards for TRL's ``GRPOTrainer`` from a pairwise judge.

GRPO samples several completions per prompt and only uses how each one compares with the
others of its prompt. :class:`GroupJudgeReward` asks a judge exactly that: it groups the
completions of one reward call by prompt, plays a tournament inside each group (a round
robin, or sampled pairs with a Bradley-Terry fit for large groups) and returns each
completion's win rate or strength; or it scores every completion against a reference answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Union

from gram_rr.data.records import Message
from gram_rr.pair_prompt import PairLike, Question
from gram_rr.protocols import PairComparer
from gram_rr.rl.tournament import Outcome, bradley_terry, round_robin_pairs, sampled_pairs, sigmoid, win_rates
from gram_rr.selection import question_rng
from gram_rr.verdict import Verdict

CompletionLike = Union[str, list[Message]]  # TRL: text, or the generated assistant messages
_SCHEMES = ("auto", "round_robin", "sampled_bt")
_BT_OUTPUTS = ("probability", "strength")
_TRL_ARGUMENTS = {"completion_ids", "trainer_state", "log_extra", "log_metric", "environments"}  # not dataset columns


@dataclass
class GroupRewardConfig:
    """How a group of completions is turned into rewards."""

    scheme: str = field(
        default="auto",
        metadata={
            "help": "round_robin (every pair of a group), sampled_bt (sampled pairs, Bradley-Terry fit) or auto "
            "(round_robin up to round_robin_max completions per group, sampled_bt above)"
        },
    )
    round_robin_max: int = field(default=8, metadata={"help": "largest group auto plays as a round robin"})
    pairs_per_item: int = field(
        default=4, metadata={"help": "sampled_bt: each completion is compared with at least this many others"}
    )
    both_orders: bool = field(
        default=True,
        metadata={"help": "judge every pair in both shown orders (else one order drawn at random per pair)"},
    )
    reference_column: str | None = field(
        default=None,
        metadata={"help": "dataset column with a reference answer: reward = P(completion better than it)"},
    )
    bt_output: str = field(
        default="probability",
        metadata={
            "help": "sampled_bt reward: probability (of beating a completion of the group's mean strength) "
            "or strength (the centred Bradley-Terry log-strength)"
        },
    )
    bt_l2: float = field(
        default=0.01,
        metadata={
            "help": "Bradley-Terry Gaussian prior precision on each log-strength: keeps the fit finite when a "
            "completion won or lost every comparison; smaller trusts the comparisons more"
        },
    )
    seed: int = field(default=0, metadata={"help": "seed of sampled pairs and shown orders"})
    name: str = field(default="group_judge", metadata={"help": "the reward's name in TRL's logs"})

    def __post_init__(self) -> None:
        if self.scheme not in _SCHEMES:
            raise ValueError(f"scheme must be one of {_SCHEMES}, got {self.scheme!r}")
        if self.bt_output not in _BT_OUTPUTS:
            raise ValueError(f"bt_output must be one of {_BT_OUTPUTS}, got {self.bt_output!r}")
        if self.round_robin_max < 1 or self.pairs_per_item < 1:
            raise ValueError("round_robin_max and pairs_per_item must be >= 1")
        if self.bt_l2 <= 0:
            raise ValueError(f"bt_l2 must be > 0, got {self.bt_l2}")


def completion_text(completion: CompletionLike) -> str:
    """A completion's text: a string as it is; TRL's message list -> its assistant contents."""
    if isinstance(completion, str):
        return completion
    return "\n\n".join(m.get("content") or "" for m in completion if m.get("role") == "assistant")


def first_wins(verdict: Verdict) -> float:
    """P(the response shown as A is better): the verdict's probability; without one, A's share of
    the votes with every abstention counted as half a win for each side."""
    if verdict.probability is not None:
        return verdict.probability
    if not verdict.votes:
        return {"A": 1.0, "B": 0.0, None: 0.5}[verdict.winner]
    shares = verdict.answer_shares
    return shares["A"] + 0.5 * (1.0 - shares["A"] - shares["B"])


class GroupJudgeReward:
    """A TRL reward function (``reward_funcs=[GroupJudgeReward(judge)]``) from a pairwise judge.

    TRL calls it with ``prompts``, ``completions`` and the dataset's other columns as keyword
    arguments; it returns one float per completion. Completions with the same prompt form a
    group (in TRL, the ``num_generations`` samples of a prompt; with several processes, each
    process must hold whole groups); a completion alone with its prompt gets 0.5 (strength 0).

    - round robin: every pair of the group is judged; reward = the completion's mean
      probability of beating the others, in [0, 1], summing to n / 2 over a group of n.
    - sampled_bt: each completion meets ``pairs_per_item`` others; reward = a Bradley-Terry fit
      (see ``bt_output``).
    - reference (``reference_column``): reward = P(completion better than the row's reference).

    With ``both_orders`` each pair is judged in both shown orders, so a judge that always
    prefers one position gives every completion the same reward. All comparisons of one call
    go to ``judge.compare_many`` at once (with ``both_orders=False``: the orders are already in
    the batch). The probability of a comparison is :func:`first_wins`. Conversational prompts
    reach the judge as conversations (rendered by :func:`gram_rr.pair_prompt.question_text`),
    completions as their assistant text. Sampled pairs and single shown orders are seeded by
    ``seed`` and the group's content, so the same group is judged the same way in any batch.
    When TRL passes ``log_metric``, the share of abstaining votes is logged as
    ``rewards/<name>/abstentions``.
    """

    def __init__(self, judge: PairComparer, config: GroupRewardConfig | None = None, **fields: Any):
        self.judge = judge
        self.config = replace(config or GroupRewardConfig(), **fields)
        self.__name__ = self.config.name

    def __call__(
        self, prompts: Sequence[Question], completions: Sequence[CompletionLike], **kwargs: Any
    ) -> list[float]:
        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
        texts = [completion_text(c) for c in completions]
        if self.config.reference_column is not None:
            return self._against_reference(prompts, texts, kwargs)
        groups = _groups(prompts)
        schedules = [self._schedule(prompts[g[0]], [texts[k] for k in g]) for g in groups]
        pairs = [(prompts[g[0]], texts[g[i]], texts[g[j]]) for g, shown in zip(groups, schedules) for i, j in shown]
        verdicts = iter(self._judge(pairs, kwargs.get("log_metric")))
        rewards = [0.0] * len(prompts)
        for group, shown in zip(groups, schedules):
            outcomes = [(i, j, first_wins(next(verdicts))) for i, j in shown]
            for k, reward in zip(group, self._scores(len(group), outcomes)):
                rewards[k] = reward
        return rewards

    def _schedule(self, question: Question, texts: list[str]) -> list[tuple[int, int]]:
        """The group's comparisons as shown ``(A, B)`` index pairs."""
        n = len(texts)
        rng = question_rng(self.config.seed, question, texts)
        pairs = round_robin_pairs(n) if self._round_robin(n) else sampled_pairs(n, self.config.pairs_per_item, rng)
        if self.config.both_orders:
            return [shown for i, j in pairs for shown in ((i, j), (j, i))]
        return [(j, i) if rng.random() < 0.5 else (i, j) for i, j in pairs]

    def _round_robin(self, n: int) -> bool:
        scheme = self.config.scheme
        return scheme == "round_robin" or (scheme == "auto" and n <= self.config.round_robin_max)

    def _scores(self, n: int, outcomes: list[Outcome]) -> list[float]:
        if self._round_robin(n):
            return win_rates(n, outcomes)
        strengths = bradley_terry(n, outcomes, self.config.bt_l2)
        return strengths if self.config.bt_output == "strength" else [sigmoid(s) for s in strengths]

    def _against_reference(self, prompts: Sequence[Question], texts: list[str], kwargs: dict[str, Any]) -> list[float]:
        column = self.config.reference_column
        if column not in kwargs:
            columns = sorted(set(kwargs) - _TRL_ARGUMENTS)
            raise ValueError(f"reference column {column!r} is not among the dataset's columns {columns}")
        references = [completion_text(r) for r in kwargs[column]]
        shown_first: list[list[bool]] = []  # per completion: is it shown as A in each of its comparisons
        for question, text, reference in zip(prompts, texts, references):
            if self.config.both_orders:
                shown_first.append([True, False])
            else:
                shown_first.append([question_rng(self.config.seed, question, [text, reference]).random() < 0.5])
        pairs = [
            (question, text, reference) if first else (question, reference, text)
            for question, text, reference, orders in zip(prompts, texts, references, shown_first)
            for first in orders
        ]
        verdicts = self._judge(pairs, kwargs.get("log_metric"))
        rewards, position = [], 0
        for orders in shown_first:
            mine = verdicts[position : position + len(orders)]
            position += len(orders)
            wins = [first_wins(v) if first else 1.0 - first_wins(v) for first, v in zip(orders, mine)]
            rewards.append(sum(wins) / len(wins))
        return rewards

    def _judge(self, pairs: list[PairLike], log_metric: Callable[[str, float], None] | None) -> list[Verdict]:
        """One ``compare_many`` call for every comparison of a reward call."""
        if not pairs:
            return []
        verdicts = self.judge.compare_many(pairs, both_orders=False)
        if len(verdicts) != len(pairs):
            raise RuntimeError(f"the judge returned {len(verdicts)} verdicts for {len(pairs)} pairs")
        votes = sum(len(v.votes) for v in verdicts)
        if log_metric is not None and votes:
            log_metric(f"rewards/{self.__name__}/abstentions", sum(v.abstentions for v in verdicts) / votes)
        return verdicts


def _groups(prompts: Sequence[Question]) -> list[list[int]]:
    """Indices of equal prompts, groups in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for k, prompt in enumerate(prompts):
        groups.setdefault(json.dumps(prompt, sort_keys=True), []).append(k)
    return list(groups.values())
