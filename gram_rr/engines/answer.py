"""Where a judgment's answer letter was generated, and the A/B log-probabilities there.

The answer position follows :func:`gram_rr.parsing.parse_answer`: the final closed
``<answer>`` block, its first character after whitespace (and the ``*"'`.`` the parser
ignores). The answer step is the generated token holding that character, so a letter fused
with whitespace ("\\nA", " A") is found too. A letter's log-probability at that step pools
every token whose text, whitespace stripped, is exactly the letter ("A", " A", "\\nA", ...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from gram_rr.parsing import final_answer_span

LETTERS = ("A", "B")
_BEFORE_LETTER = " \t\r\n\f\v*\"'`."  # what parse_answer strips before reading the letter


def answer_offset(text: str) -> int | None:
    """The character offset of the answer letter in ``text``; None without a final closed
    ``<answer>`` block after the rationale, or when it holds nothing but whitespace and quotes."""
    span = final_answer_span(text)
    if span is None:
        return None
    content = text[span[0] : span[1]]
    skipped = len(content) - len(content.lstrip(_BEFORE_LETTER))
    if skipped == len(content):
        return None
    return span[0] + skipped


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


class AnswerReader:
    """Reads a completion's answer-letter log-probabilities, for one tokenizer."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.letter_ids: dict[str, list[int]] = {letter: [] for letter in LETTERS}
        for token_id in range(len(tokenizer)):
            text = tokenizer.decode([token_id]).strip()
            if text in self.letter_ids:
                self.letter_ids[text].append(token_id)

    @property
    def candidate_ids(self) -> list[int]:
        """Every letter token id, A's first: what an engine records at each step."""
        return [token_id for letter in LETTERS for token_id in self.letter_ids[letter]]

    def answer_step(self, token_ids: Sequence[int], text: str) -> int | None:
        """The index in ``token_ids`` (the generated tokens whose decoding is ``text``) of the
        token holding the answer letter; None without an answer position, or when the tokens'
        decoding does not reproduce ``text`` up to the letter."""
        offset = answer_offset(text)
        if offset is None or not token_ids:
            return None
        lo, hi = 1, len(token_ids)  # the shortest prefix whose text reaches past the letter
        while lo < hi:
            mid = (lo + hi) // 2
            if len(self._decode(token_ids[:mid])) > offset:
                hi = mid
            else:
                lo = mid + 1
        if self._decode(token_ids[:lo])[: offset + 1] != text[: offset + 1]:
            return None
        return lo - 1

    def _decode(self, token_ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(token_ids), skip_special_tokens=True)

    def letter_logprobs(self, step_logprobs: Mapping[int, float], floor: float | None = None) -> dict[str, float] | None:
        """``{"A": log p(A), "B": log p(B)}`` at one step, each the log-sum-exp of the letter's
        tokens found in ``step_logprobs`` (token id -> log-probability).

        With a full record (every candidate id present) the values are exact. With a top-k
        record, a letter none of whose tokens made the top k takes ``floor``, the k-th
        log-probability: an upper bound on each of its tokens, so the pair leans toward 0.5
        rather than toward the letter that was seen. None when neither letter was seen.
        """
        found = {}
        for letter in LETTERS:
            values = [step_logprobs[i] for i in self.letter_ids[letter] if i in step_logprobs]
            if values:
                found[letter] = _logsumexp(values)
        if not found:
            return None
        if len(found) < len(LETTERS):
            if floor is None:
                return None
            for letter in LETTERS:
                found.setdefault(letter, floor)
        return found
