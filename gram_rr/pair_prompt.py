"""One pair -> the question and prompts every judge, prover and training example sees.

A pair's question is text or, for a multi-turn pair (``PreferencePair.conversation``), a
conversation. The generative judge, its SFT examples, the prover and the eval length check
all show it as :func:`question_text`; a scalar reward model reads it as :func:`question_messages`.
So a pair reaches a judge at inference in the same words as in its training and proof prompts,
including the neutralised ``<answer>``/``<think>`` tags of untrusted text (on by default everywhere).
"""

from __future__ import annotations

from typing import Union

from gram_rr.data.records import Message, PreferencePair, render_conversation
from gram_rr.prompts import judge_messages, prover_messages

Question = Union[str, list[Message]]
PairLike = Union[PreferencePair, tuple[Question, str, str]]


def pair_parts(pair: PairLike) -> tuple[Question, str, str]:
    """``(question, response_a, response_b)``; a PreferencePair's question is its conversation when it has one."""
    if isinstance(pair, PreferencePair):
        return pair.conversation or pair.question, pair.response_a, pair.response_b
    question, response_a, response_b = pair
    return question, response_a, response_b


def question_text(question: Question | PreferencePair) -> str:
    """The judge prompt's ``{user_input}``: text as it is, a conversation as :func:`render_conversation` writes it."""
    if isinstance(question, PreferencePair):
        question = pair_parts(question)[0]
    return question if isinstance(question, str) else render_conversation(question)


def question_messages(question: Question | PreferencePair) -> list[Message]:
    """The question as chat messages (for scalar reward models): text is one user turn."""
    if isinstance(question, PreferencePair):
        question = pair_parts(question)[0]
    return [{"role": "user", "content": question}] if isinstance(question, str) else list(question)


def pair_judge_messages(pair: PairLike, swapped: bool = False, *, neutralise: bool = True) -> list[Message]:
    """The judge's chat prompt for ``pair``; ``swapped`` shows response B first; ``neutralise``
    rewrites the judge's ``<answer>``/``<think>`` tags inside the question and responses
    (:func:`gram_rr.judge_tags.neutralise_tags`)."""
    question, response_a, response_b = pair_parts(pair)
    if swapped:
        response_a, response_b = response_b, response_a
    return judge_messages(question_text(question), response_a, response_b, neutralise=neutralise)


def pair_prover_messages(pair: PreferencePair, *, neutralise: bool = True) -> list[Message]:
    """The prover's chat prompt for a labeled ``pair``: the judge's question, asking to prove its label
    (``neutralise`` as in :func:`pair_judge_messages`)."""
    if pair.label is None:
        raise ValueError(f"pair {pair.id!r} has no label; only labeled pairs can be proved")
    return prover_messages(question_text(pair), pair.response_a, pair.response_b, pair.label, neutralise=neutralise)
