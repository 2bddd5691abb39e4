"""Prompt templates from ``prompts/`` and their rendering into chat messages."""

from __future__ import annotations

import re
from functools import lru_cache

from gram_rr.judge_tags import neutralise_tags
from gram_rr.resources import shipped_path

JUDGE_TEMPLATE = "judge_pairwise.txt"
PROVER_TEMPLATE = "prover.txt"
_PLACEHOLDER = re.compile(r"\{(user_input|response_1|response_2|label)\}")


@lru_cache(maxsize=None)
def load_template(name: str) -> str:
    """A template's text, ``.strip()``-ed as the released model card does."""
    path = shipped_path("prompts", name)
    if not path.is_file():
        raise FileNotFoundError(f"prompt template {path} not found")
    return path.read_text(encoding="utf-8").strip()


def fill(template: str, **values: str) -> str:
    """Substitute ``{user_input}``-style placeholders in one pass.

    Unlike ``str.format``, braces in the values are left alone and a value that contains
    a placeholder (``"{response_2}"``) is never substituted again.
    """

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template needs a value for {{{key}}}")
        return values[key]

    return _PLACEHOLDER.sub(substitute, template)


def untrusted_values(neutralise: bool, **texts: str) -> dict[str, str]:
    """The question and responses as the prompt shows them: with their ``<answer>``/``<think>`` tags
    neutralised (:func:`gram_rr.judge_tags.neutralise_tags`) when ``neutralise``, else as they are."""
    return {key: neutralise_tags(text) for key, text in texts.items()} if neutralise else texts


def judge_prompt(question: str, response_a: str, response_b: str, *, neutralise: bool = True) -> str:
    """The released GRAM-RR pairwise prompt, filled in (byte-identical to it for text without judge tags)."""
    values = untrusted_values(neutralise, user_input=question, response_1=response_a, response_2=response_b)
    return fill(load_template(JUDGE_TEMPLATE), **values)


def prover_prompt(question: str, response_a: str, response_b: str, label: str, *, neutralise: bool = True) -> str:
    """The preference-proving prompt: asks for a proof that ``label`` is the better response."""
    if label not in ("A", "B"):
        raise ValueError(f"label must be 'A' or 'B', got {label!r}")
    values = untrusted_values(neutralise, user_input=question, response_1=response_a, response_2=response_b)
    return fill(load_template(PROVER_TEMPLATE), label=label, **values)


def judge_messages(question: str, response_a: str, response_b: str, *, neutralise: bool = True) -> list[dict[str, str]]:
    """Chat messages for one judgment (one user turn, as the released checkpoints expect).

    ``neutralise``: rewrite the judge's own ``<answer>``/``<think>`` tags inside the three texts
    (:func:`gram_rr.judge_tags.neutralise_tags`); ``JudgeConfig.neutralise_tags`` sets it for a judge.
    """
    return [{"role": "user", "content": judge_prompt(question, response_a, response_b, neutralise=neutralise)}]


def prover_messages(
    question: str, response_a: str, response_b: str, label: str, *, neutralise: bool = True
) -> list[dict[str, str]]:
    """Chat messages for one proof (``neutralise`` as in :func:`judge_messages`)."""
    return [{"role": "user", "content": prover_prompt(question, response_a, response_b, label, neutralise=neutralise)}]
