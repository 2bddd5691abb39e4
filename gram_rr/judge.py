"""RewardReasoner: pairwise verdicts, vote@k, both orders, listwise rank, best-of-N, TRL adapter."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gram_rr.engines.base import Completion, Conversation, Engine, SamplingConfig
from gram_rr.pair_prompt import PairLike, Question, pair_judge_messages
from gram_rr.parsing import parse_judgment
from gram_rr.selection import ListwiseJudge
from gram_rr.verdict import FLIP, Verdict, Vote, letter_probability, pooled_probability


@dataclass
class JudgeConfig:
    """How a reward reasoner judges a pair.

    Combining votes: every vote is first mapped back to the pair's original A/B order;
    abstentions (no parsable answer) are kept and reported but never counted for A or B.
    The winner is the answer with strictly more votes; an exact tie (including one
    vote each way from the two orders, or all votes abstaining) gives ``winner=None``,
    never a position default. ``confidence`` = winner votes / all votes, abstentions
    included, so abstentions and order disagreements lower it.
    """

    votes: int = field(default=1, metadata={"help": "samples per order (vote@k); sent as one request with n=votes"})
    both_orders: bool = field(default=False, metadata={"help": "also judge each pair with A and B swapped"})
    temperature: float | None = field(
        default=None,
        metadata={"help": "sampling temperature; unset: 0 (greedy) for one vote, vote_temperature for several"},
    )
    vote_temperature: float = field(default=0.7, metadata={"help": "temperature used for votes > 1 when unset"})
    top_p: float = field(default=1.0, metadata={"help": "nucleus sampling mass"})
    max_new_tokens: int = field(
        default=1024, metadata={"help": "rationale + answer budget; a cut-off judgment is an abstention"}
    )
    seed: int = field(
        default=0,
        metadata={"help": "seed of shown orders (TRL adapter, rank, best-of-N) and of rank/best-of-N tie coins"},
    )
    neutralise_tags: bool = field(
        default=True,
        metadata={"help": "show <answer>/<think> tags written inside the question or a response as &lt;answer&gt; "
                  "(any case, with spaces or attributes), so a candidate cannot write the judge's verdict block; "
                  "text without them is sent byte-identical to the released template; SFT examples and the "
                  "prover use the same rendering; false: send such tags raw"},
    )

    def __post_init__(self) -> None:
        if self.votes < 1:
            raise ValueError(f"votes must be >= 1, got {self.votes}")

    def sampling(self, votes: int, temperature: float | None) -> SamplingConfig:
        """The engine request for ``votes`` samples per prompt."""
        if temperature is None:
            temperature = self.temperature
        if temperature is None:
            temperature = 0.0 if votes == 1 else self.vote_temperature
        if votes > 1 and temperature <= 0:
            raise ValueError("votes > 1 need temperature > 0 (greedy votes would be identical copies)")
        return SamplingConfig(n=votes, temperature=temperature, top_p=self.top_p, max_new_tokens=self.max_new_tokens)


def combine_votes(votes: list[Vote]) -> Verdict:
    """Majority over non-abstaining votes; see :class:`JudgeConfig` for the tie rule. The
    verdict's ``probability`` pools the votes' probabilities (:func:`pooled_probability`)."""
    count_a = sum(v.answer == "A" for v in votes)
    count_b = sum(v.answer == "B" for v in votes)
    probability = pooled_probability(votes)
    if count_a == count_b:
        return Verdict(winner=None, confidence=0.0, votes=votes, probability=probability)
    winner, count = ("A", count_a) if count_a > count_b else ("B", count_b)
    return Verdict(winner=winner, confidence=count / len(votes), votes=votes, probability=probability)


def _vote(completion: Completion, swapped: bool) -> Vote:
    """One completion as a vote in the pair's original orientation; an abstention has no probability."""
    judgment = parse_judgment(completion.text)
    answer = FLIP[judgment.answer] if swapped else judgment.answer
    probability = None
    if judgment.answer is not None and completion.answer_logprobs is not None:
        shown_a = letter_probability(completion.answer_logprobs)
        probability = 1.0 - shown_a if swapped else shown_a
    return Vote(
        answer,
        judgment.rationale,
        swapped=swapped,
        text=completion.text,
        num_tokens=completion.num_tokens,
        probability=probability,
    )


class RewardReasoner(ListwiseJudge):
    """A generative reward model that writes a rationale, then answers A or B.

    Every public method sends its whole workload to the engine in as few ``generate``
    calls as the algorithm allows: ``compare_many`` in one, a best-of-N round in one
    (``rank``, ``best_of_n`` and ``best_of_n_many`` all go through :meth:`select_many`).
    """

    def __init__(self, engine: Engine, config: JudgeConfig | None = None):
        self.engine = engine
        self.config = config or JudgeConfig()
        self._rng = random.Random(self.config.seed)

    @classmethod
    def from_pretrained(
        cls, model: str, engine: str = "vllm", config: JudgeConfig | None = None, **engine_kwargs: Any
    ) -> "RewardReasoner":
        """Load ``model`` (a :func:`gram_rr.resolve_model` name or a checkpoint folder,
        e.g. a released GRAM-RR model) on the ``engine`` backend ("vllm" or "hf");
        ``engine_kwargs`` are :class:`gram_rr.engines.EngineConfig` fields."""
        from gram_rr.engines import EngineConfig, build_engine

        return cls(build_engine(EngineConfig(backend=engine, model=model, **engine_kwargs)), config)

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> "RewardReasoner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pairwise ---------------------------------------------------------------

    def compare(
        self,
        question: Question,
        a: str,
        b: str,
        votes: int | None = None,
        both_orders: bool | None = None,
        temperature: float | None = None,
    ) -> Verdict:
        """Which of ``a`` and ``b`` answers ``question`` better."""
        return self.compare_many([(question, a, b)], votes, both_orders, temperature)[0]

    def compare_many(
        self,
        pairs: Sequence[PairLike],
        votes: int | None = None,
        both_orders: bool | None = None,
        temperature: float | None = None,
    ) -> list[Verdict]:
        """Verdicts for many pairs from ONE engine call (pairs x orders prompts, n=votes each).

        ``votes``/``both_orders``/``temperature`` default to the config's values.
        """
        if not pairs:
            return []
        votes = self.config.votes if votes is None else votes
        both = self.config.both_orders if both_orders is None else both_orders
        if votes < 1:
            raise ValueError(f"votes must be >= 1, got {votes}")
        sampling = self.config.sampling(votes, temperature)
        neutralise = self.config.neutralise_tags
        conversations: list[Conversation] = []
        for pair in pairs:
            conversations.append(pair_judge_messages(pair, neutralise=neutralise))
            if both:
                conversations.append(pair_judge_messages(pair, swapped=True, neutralise=neutralise))
        outputs = self.engine.generate(conversations, sampling)
        if len(outputs) != len(conversations):
            raise RuntimeError(f"engine returned {len(outputs)} results for {len(conversations)} prompts")
        per_pair = 2 if both else 1
        verdicts = []
        for p in range(len(pairs)):
            cast = [_vote(c, swapped=False) for c in outputs[p * per_pair]]
            if both:
                cast += [_vote(c, swapped=True) for c in outputs[p * per_pair + 1]]
            verdicts.append(combine_votes(cast))
        return verdicts

    # -- listwise -----------------------------------------------------------------

    @property
    def selection_seed(self) -> int:
        """Seeds the shown orders of ``select_many`` / ``rank`` / ``best_of_n``: ``config.seed``."""
        return self.config.seed

    # -- TRL-style adapter ----------------------------------------------------------

    def judge(
        self,
        prompts: Sequence[Question],
        completions: Sequence[Sequence[str]],
        shuffle_order: bool = True,
        return_scores: bool = False,
    ) -> list[int] | list[float | None]:
        """The pairwise-judge interface of TRL's ``BasePairwiseJudge`` (``trl.judges`` up to
        TRL 0.2x, ``trl.experimental.judges`` after; also what OpenRLHF-style pipelines call):
        for each prompt, the index (0 or 1) of the better of its two completions, or -1 when
        the reasoner gives no verdict.

        With ``return_scores`` (TRL's soft judge, as ``PairRMJudge``): for each prompt the
        probability that the FIRST completion is better (:attr:`Verdict.probability`), or
        None when no vote carried one.

        With ``shuffle_order`` each pair is shown in a random order (seeded by
        ``config.seed``) and the answer or probability mapped back; a failure stays -1 (None).
        """
        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts but {len(completions)} completion pairs")
        flips, pairs = [], []
        for prompt, pair in zip(prompts, completions):
            if len(pair) != 2:
                raise ValueError(f"each prompt needs exactly 2 completions, got {len(pair)}")
            flip = shuffle_order and self._rng.random() < 0.5
            flips.append(flip)
            pairs.append((prompt, pair[1], pair[0]) if flip else (prompt, pair[0], pair[1]))
        verdicts = self.compare_many(pairs)
        if return_scores:
            return [
                None if v.probability is None else (1.0 - v.probability if flip else v.probability)
                for flip, v in zip(flips, verdicts)
            ]
        results = []
        for flip, verdict in zip(flips, verdicts):
            if verdict.winner is None:
                results.append(-1)
            else:
                shown = 0 if verdict.winner == "A" else 1
                results.append(1 - shown if flip else shown)
        return results
