"""Scalar reward models: a sequence classifier that scores one response at a time.

``RewardModelScorer`` gives the same pairwise interface as :class:`gram_rr.RewardReasoner`
(``compare_many`` -> verdicts, ``rank``, ``best_of_n``, ``select_many``), so generative and
scalar reward models run through the same evaluation and selection code on the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from gram_rr.pair_prompt import PairLike, Question, pair_parts, question_text
from gram_rr.scalar_tokens import response_ids
from gram_rr.protocols import PairComparer
from gram_rr.selection import ListwiseJudge
from gram_rr.verdict import Verdict, Vote


@dataclass
class ScorerConfig:
    """How a scalar reward model is loaded and run."""

    dtype: str = field(default="bfloat16", metadata={"help": "weight dtype: bfloat16, float16 or float32"})
    batch_size: int = field(
        default=1,
        metadata={
            "help": "sequences per forward pass; 1 makes a score a function of its own text alone. Above 1 "
            "(faster), rows are padded to the batch's longest and scores move in the last bits with "
            "what else is in the batch, so exact ties between equal texts can break"
        },
    )
    max_length: int = field(
        default=4096, metadata={"help": "longest input in tokens; longer inputs lose tokens from the left"}
    )
    device: str = field(default="auto", metadata={"help": "'auto' (cuda when available, else cpu), 'cpu' or 'cuda'"})
    trust_remote_code: bool = field(default=False, metadata={"help": "run model code shipped with the checkpoint"})


def reward_verdict(reward_a: float, reward_b: float) -> Verdict:
    """The verdict of two rewards: the higher wins, equal rewards give no winner; one vote stating both."""
    answer = "A" if reward_a > reward_b else "B" if reward_b > reward_a else None
    vote = Vote(answer=answer, rationale=f"reward A = {reward_a:.6g}, reward B = {reward_b:.6g}")
    return Verdict(winner=answer, confidence=1.0 if answer else 0.0, votes=[vote])


class _KnownRewards:
    """A pair judge that answers from rewards already computed, keyed by (question text, response)."""

    def __init__(self, rewards: dict[tuple[str, str], float]):
        self.rewards = rewards

    def compare_many(
        self, pairs: Sequence[PairLike], votes: int | None = None, both_orders: bool | None = None
    ) -> list[Verdict]:
        """:func:`reward_verdict` of each pair's two known rewards; ``votes`` and ``both_orders`` change nothing."""
        triples = [pair_parts(p) for p in pairs]
        return [
            reward_verdict(self.rewards[(question_text(q), a)], self.rewards[(question_text(q), b)])
            for q, a, b in triples
        ]


class RewardModelScorer(ListwiseJudge):
    """Scores ``[user, assistant]`` conversations with an ``AutoModelForSequenceClassification``
    that has a single output (the reward)."""

    def __init__(self, model: Any, tokenizer: Any, config: ScorerConfig | None = None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config = config or ScorerConfig()
        if self.model.config.num_labels != 1:
            raise ValueError(
                f"a reward model has one output; this classifier has num_labels={self.model.config.num_labels}"
            )
        if getattr(tokenizer, "chat_template", None) is None:
            raise ValueError("the reward model's tokenizer has no chat template; set tokenizer.chat_template")
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        if self.model.config.pad_token_id is None:
            self.model.config.pad_token_id = tokenizer.pad_token_id
        tokenizer.padding_side = "right"
        self.truncated = 0  # inputs cut to max_length so far

    @classmethod
    def from_pretrained(cls, path: str, **config: Any) -> "RewardModelScorer":
        """Load a safetensors sequence-classification checkpoint, or a gram-rr LDL reward model folder
        (:class:`gram_rr.ldl.LDLRewardModel`, recognised by its ``ldl_config.json``); ``config`` are
        :class:`ScorerConfig` fields."""
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from gram_rr.ldl.model import LDLRewardModel, is_ldl_folder
        from gram_rr.models import resolve_model

        cfg = ScorerConfig(**config)
        folder = resolve_model(path)
        device = ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=cfg.trust_remote_code)
        if is_ldl_folder(folder):
            model = LDLRewardModel.from_pretrained(folder, dtype=getattr(torch, cfg.dtype)).to(device)
        else:
            model = AutoModelForSequenceClassification.from_pretrained(
                folder, dtype=getattr(torch, cfg.dtype), use_safetensors=True, trust_remote_code=cfg.trust_remote_code
            ).to(device)
        return cls(model, tokenizer, cfg)

    # -- scoring ---------------------------------------------------------------------

    def _ids(self, question: Question, response: str) -> list[int]:
        """The ids training used too (:func:`gram_rr.scalar_tokens.response_ids`): contents stay text."""
        ids = response_ids(self.tokenizer, question, response)
        if len(ids) > self.config.max_length:
            self.truncated += 1
            ids = ids[-self.config.max_length :]
        return ids

    def score(self, question: Question, responses: Sequence[str]) -> list[float]:
        """The reward of each response to ``question``."""
        return self.score_many([(question, r) for r in responses])

    def score_many(self, items: Sequence[tuple[Question, str]]) -> list[float]:
        """Rewards for many ``(question, response)`` items; identical items are scored once.

        Items are batched by length (least padding) and returned in input order. With the default
        ``batch_size=1`` each distinct item has its own forward pass, whose shapes and kernels depend on
        its tokens alone: its score is then the same whatever else is scored (padding, or only a
        different row count, changes the rounding of the matrix products even in fp32).
        """
        import torch

        keys = [(question_text(q), r) for q, r in items]
        unique: dict[tuple[str, str], int] = {}
        firsts = []
        for k, key in enumerate(keys):
            if key not in unique:
                unique[key] = len(firsts)
                firsts.append(k)
        encoded = [self._ids(*items[k]) for k in firsts]
        order = sorted(range(len(encoded)), key=lambda u: len(encoded[u]))
        rewards = [0.0] * len(encoded)
        device = self.model.device
        batches = [order[s : s + self.config.batch_size] for s in range(0, len(order), self.config.batch_size)]
        with torch.inference_mode():
            for batch in tqdm(batches, desc="scoring", unit="batch", disable=len(batches) < 2):
                longest = max(len(encoded[u]) for u in batch)
                input_ids = torch.full((len(batch), longest), self.tokenizer.pad_token_id, dtype=torch.long)
                mask = torch.zeros((len(batch), longest), dtype=torch.long)
                for row, u in enumerate(batch):
                    input_ids[row, : len(encoded[u])] = torch.tensor(encoded[u])
                    mask[row, : len(encoded[u])] = 1
                logits = self.model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
                for u, value in zip(batch, logits[:, 0].float().tolist()):
                    rewards[u] = value
        return [rewards[unique[key]] for key in keys]

    # -- the reward-reasoner interface -------------------------------------------------

    def compare_many(
        self,
        pairs: Sequence[PairLike],
        votes: int | None = None,
        both_orders: bool | None = None,
        temperature: float | None = None,
    ) -> list[Verdict]:
        """One verdict per pair from the two rewards: the higher wins, equal rewards give no winner.

        ``votes``, ``both_orders`` and ``temperature`` are accepted for interface parity and
        change nothing: a reward does not depend on sampling or on the order of the pair.
        Each verdict holds one vote whose rationale states both rewards.
        """
        triples = [pair_parts(p) for p in pairs]
        rewards = self.score_many([(q, r) for q, a, b in triples for r in (a, b)])
        return [reward_verdict(rewards[2 * k], rewards[2 * k + 1]) for k in range(len(triples))]

    def _pair_comparer(self, questions: Sequence[Question], candidate_lists: Sequence[Sequence[str]]) -> PairComparer:
        """For ``select_many`` (and ``rank``, ``best_of_n``): every candidate of every question scored
        once (one :meth:`score_many`), then compared by those rewards (equal rewards: a seeded coin),
        each comparison logged with both rewards. ``votes`` and ``both_orders`` change nothing."""
        items = [(q, c) for q, candidates in zip(questions, candidate_lists) for c in candidates]
        return _KnownRewards(dict(zip([(question_text(q), c) for q, c in items], self.score_many(items))))

    def close(self) -> None:
        """Nothing to release beyond the model object; present for interface parity."""
