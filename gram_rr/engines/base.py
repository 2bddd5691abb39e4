"""The engine interface: batched chat generation and continuation scoring."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

Conversation = list[dict[str, str]]


@dataclass
class SamplingConfig:
    """How to sample. ``n`` samples per prompt share the prompt's prefix (one request)."""

    n: int = field(default=1, metadata={"help": "samples per prompt (vote@k uses n=k)"})
    temperature: float = field(default=0.0, metadata={"help": "0 is greedy"})
    top_p: float = field(default=1.0, metadata={"help": "nucleus sampling mass"})
    max_new_tokens: int = field(default=512, metadata={"help": "generation budget per sample"})
    stop: list[str] = field(default_factory=list, metadata={"help": "extra stop strings"})
    seed: int | None = field(default=None, metadata={"help": "seed for reproducible sampling"})


@dataclass
class Completion:
    """One generated sample.

    ``answer_logprobs`` holds ``{"A": ..., "B": ...}``: the log-probabilities of the letters at
    the answer position (the letter of the final closed ``<answer>`` block, the parser's rule;
    see :mod:`gram_rr.engines.answer`) under the model's own, untempered distribution, the same
    for greedy and sampled generation. None when the text has no answer position.
    """

    text: str
    num_tokens: int
    logprob: float | None = None  # sum of the sampled tokens' log-probabilities
    finish_reason: str | None = None
    answer_logprobs: dict[str, float] | None = None


@runtime_checkable
class Engine(Protocol):
    """What every engine does. Outputs come back in input order."""

    def generate(self, conversations: list[Conversation], sampling: SamplingConfig) -> list[list[Completion]]:
        """``sampling.n`` completions for each conversation (chat template applied).

        At temperature 0 the ``n`` completions are copies of the one greedy answer.
        """
        ...

    def score(self, conversations: list[Conversation | None], continuations: list[str]) -> list[float]:
        """Sum of log p(continuation tokens | prompt) for each pair.

        A conversation of ``None`` scores the continuation on its own (from BOS), which
        is the ``log p(z)`` of the prover's proof-selection score.
        """
        ...

    def close(self) -> None:
        """Release devices and processes."""
        ...


class EngineBase:
    """Shared behaviour for the engines here: ``with build_engine(cfg) as engine: ...`` closes it."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()  # type: ignore[attr-defined]
