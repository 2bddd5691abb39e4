"""Turn generated text into a verdict: ``<think>rationale</think><answer>A|B</answer>``."""

from __future__ import annotations

import re
from dataclasses import dataclass

_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)
_ANSWER_OPEN = re.compile(r"<answer>", re.IGNORECASE)
_TAG = re.compile(r"<(/?)(think|answer)>", re.IGNORECASE)
_VALID = {"A", "B"}

# Words that state a verdict on a response ("Response A is correct", "B is the better one"): the proof
# filter reads them, and SFT can weigh them as decision tokens.
FAVOURABLE_WORDS = ("better", "best", "correct", "right", "preferred")
UNFAVOURABLE_WORDS = ("worse", "worst", "wrong", "incorrect")


@dataclass(frozen=True)
class Judgment:
    """One parsed generation. ``answer`` is ``"A"``, ``"B"`` or ``None`` (abstention)."""

    answer: str | None
    rationale: str
    text: str

    @property
    def abstained(self) -> bool:
        return self.answer is None


def final_answer_span(text: str) -> tuple[int, int] | None:
    """``(start, end)`` of the verdict's content: the final ``<answer>`` block after the rationale.

    Only text after the last ``</think>`` counts (an answer block quoted inside the rationale
    never does); a ``<think>`` still open at the end, or a final ``<answer>`` that is never
    closed (a cut-off judgment), gives None. One linear scan over the tags.
    """
    in_think = False
    answer_open: int | None = None
    span: tuple[int, int] | None = None
    for tag in _TAG.finditer(text):
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if name == "think":
            in_think = not closing
            answer_open, span = None, None  # whatever came before belongs to the rationale
        elif in_think:
            continue
        elif not closing:
            answer_open, span = tag.end(), None
        elif answer_open is not None:
            span, answer_open = (answer_open, tag.start()), None
    if in_think or answer_open is not None:
        return None
    return span


def parse_answer(text: str) -> str | None:
    """The verdict of ``text``: the content of its final ``<answer>`` block (see :func:`final_answer_span`).

    Returns ``None`` when there is no such block, it is cut off, or it holds anything but a
    single ``A`` or ``B`` (whitespace, newlines and surrounding ``*``/quotes/periods are
    ignored; "A or B", "both", "" and "A and B" are abstentions). Never defaults to B.
    """
    span = final_answer_span(text)
    if span is None:
        return None
    token = text[span[0] : span[1]].strip().strip("*\"'`.").strip().upper()
    return token if token in _VALID else None


def parse_judgment(text: str) -> Judgment:
    """Parse one generation (generated text only, never the prompt) into a Judgment."""
    think = _THINK_OPEN.search(text)
    close = _THINK_CLOSE.search(text, think.end()) if think else None
    if think and close:
        rationale = text[think.end() : close.start()].strip()
    else:
        answer_at = _ANSWER_OPEN.search(text)
        rationale = (text[: answer_at.start()] if answer_at else text).strip()
    return Judgment(answer=parse_answer(text), rationale=rationale, text=text)


def format_judgment(rationale: str, answer: str) -> str:
    """The training target for a verdict, in the released checkpoints' layout."""
    if answer not in _VALID:
        raise ValueError(f"answer must be 'A' or 'B', got {answer!r}")
    return f"<think>\n{rationale.strip()}\n</think>\n<answer>\n{answer}\n</answer>"
