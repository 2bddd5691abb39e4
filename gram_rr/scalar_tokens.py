"""The token ids a scalar reward model reads: one (question, response) conversation, contents kept as text.

Training (:mod:`gram_rr.training.reward`, :mod:`gram_rr.ldl`) and scoring
(:class:`gram_rr.RewardModelScorer`) both tokenize here, so a model is scored on exactly the
ids it was trained on.
"""

from __future__ import annotations

from typing import Any

from gram_rr.engines.tokens import conversation_ids
from gram_rr.pair_prompt import Question, question_messages


def response_ids(tokenizer: Any, question: Question, response: str, max_length: int | None = None) -> list[int]:
    """The chat-templated ``question`` (user turn(s)) and ``response`` (assistant turn) as token ids.

    A question or response that writes ``<|im_end|>`` or another special token keeps it as
    characters (:func:`gram_rr.engines.tokens.conversation_ids`): it cannot close its turn. Without
    such strings the ids are those of the whole templated text. Inputs longer than ``max_length``
    keep their last ``max_length`` ids (the response and the end of the question).
    """
    ids = conversation_ids(tokenizer, question_messages(question) + [{"role": "assistant", "content": response}])
    if max_length is not None and len(ids) > max_length:
        ids = ids[-max_length:]
    return ids
