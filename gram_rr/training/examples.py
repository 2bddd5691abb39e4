"""Preference pairs -> SFT examples in TRL's conversational prompt/completion format, and their token ids."""

from __future__ import annotations

from collections.abc import Sequence

from gram_rr.data.records import PreferencePair
from gram_rr.data.swap import SWAP_SUFFIX
from gram_rr.engines.tokens import completion_ids
from gram_rr.pair_prompt import pair_judge_messages, pair_prover_messages
from gram_rr.parsing import format_judgment, parse_judgment

ROLES = ("prover", "reasoner")


def target_text(pair: PreferencePair) -> str:
    """The completion for ``pair``: its rationale in ``<think>..</think><answer>X</answer>`` layout.

    A rationale that already carries an answer block is used as it is, after checking
    that its answer is the pair's label.
    """
    if pair.label is None:
        raise ValueError(f"pair {pair.id!r} has no label; SFT examples need labeled pairs")
    if not pair.rationale or not pair.rationale.strip():
        raise ValueError(f"pair {pair.id!r} has no rationale; prove it first (gram_rr.selftrain) or drop it")
    parsed = parse_judgment(pair.rationale)
    if parsed.answer is None:
        return format_judgment(pair.rationale, pair.label)
    if parsed.answer != pair.label:
        raise ValueError(f"pair {pair.id!r}: its rationale concludes {parsed.answer} but its label is {pair.label}")
    return pair.rationale.strip()


def prompt_messages(pair: PreferencePair, role: str, neutralise: bool = True) -> list[dict[str, str]]:
    """The chat prompt of one example: the judge prompt (reasoner) or the prover prompt (prover),
    as :class:`gram_rr.RewardReasoner` and the prover are sent them; ``neutralise`` as
    ``JudgeConfig.neutralise_tags`` (on by default in both, so training and inference see the same text)."""
    if role == "reasoner":
        return pair_judge_messages(pair, neutralise=neutralise)
    if role == "prover":
        return pair_prover_messages(pair, neutralise=neutralise)
    raise ValueError(f"role must be one of {ROLES}, got {role!r}")


def sft_examples(pairs: Sequence[PreferencePair], role: str, neutralise: bool = True):
    """A ``datasets.Dataset`` with ``prompt`` (user messages), ``completion`` (one assistant message)
    and ``pair`` (the pair's id; an A/B swap carries the id of the pair it was made from).
    ``neutralise``: the prompts' judge tags, as in :func:`prompt_messages`.

    The trainer trains on :func:`tokenized_examples` of it: the loss covers the completion only.
    """
    from datasets import Dataset

    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if not pairs:
        raise ValueError("no pairs to build SFT examples from")
    rows = []
    for pair in pairs:
        completion = [{"role": "assistant", "content": target_text(pair)}]  # validates label and rationale first
        rows.append({"prompt": prompt_messages(pair, role, neutralise), "completion": completion,
                     "pair": pair.id.removesuffix(SWAP_SUFFIX)})
    return Dataset.from_list(rows)


def tokenized_examples(dataset, tokenizer):
    """``dataset`` (from :func:`sft_examples`) as ``input_ids`` and ``completion_mask`` (1 on the completion's ids).

    Tokenized as the engines tokenize prompts (:func:`gram_rr.engines.tokens.completion_ids`): a
    question, response or rationale that writes ``<|im_end|>`` or another special token keeps it
    as text, so it cannot forge a turn in training either. Other examples get the ids and mask
    TRL's SFTTrainer makes of the conversational data; given these columns it tokenizes nothing.
    """
    from datasets import Dataset

    rows = []
    for example in dataset:
        ids, n_prompt = completion_ids(tokenizer, example["prompt"], example["completion"])
        rows.append({"input_ids": ids, "completion_mask": [0] * n_prompt + [1] * (len(ids) - n_prompt)})
    return Dataset.from_list(rows)
