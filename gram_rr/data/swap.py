"""A/B swap augmentation: every labeled pair also trains with its responses exchanged.

A swapped pair needs its rationale rewritten so each position reference names the other
response ("Response A" <-> "Response B", the letter in the ``<answer>`` block, ...). The
rewrite is one regex pass with a mapping, so a reference is never swapped twice; a text
that names a position in a way none of the patterns covers (a bare "B", "A is better",
"option A") is refused rather than guessed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal, get_args

from gram_rr.data.records import PreferencePair

OrderAugment = Literal["both", "random", "none"]
ORDER_AUGMENT_MODES = get_args(OrderAugment)
SWAP_SUFFIX = "#swapped"

_OTHER = {"A": "B", "B": "A", "a": "b", "b": "a", "1": "2", "2": "1"}

# Each alternative captures its position token(s) in named groups; only those are rewritten.
_KNOWN = re.compile("|".join(f"(?:{p})" for p in (
    r"\b(?:[Rr]esponses?|[Aa]ssistants?) (?P<noun>[AB])\b(?:\s+(?:and|or|vs\.?|versus)\s+(?P<noun2>[AB])\b)?",
    r"@?\b[Rr]esponse ?(?P<number>[12])\b",  # HelpSteer3: "@Response 1", "Response 2"
    r"\b(?P<owner>[AB])'s (?:answer|response)\b",
    r"\b[Oo]utput \((?P<output>[ab])\)",
    r"\((?P<paren>[AB])\)",
    r"(?i:<answer>)\s*[*\"'`]*(?P<answer>[AB])[*\"'`.]*\s*(?i:</answer>)",
)))
_BARE_LETTER = re.compile(r"\b[AB]\b")
# Positions named by order: "the first response" may also be an earlier turn of a conversation.
_BY_ORDER = re.compile(r"\b(?:former|latter|(?:first|second) (?:response|one))\b", re.IGNORECASE)
_CHOICE_LETTER = re.compile(r"\([C-Z]\)")  # "(A)" next to "(C)" enumerates a question's choices
_NEXT_WORD = re.compile(r"[ \t]+([^\W_][\w'’-]*)")
_ENUMERATOR = re.compile(r"\s*\w{1,3}[.)]")
# Words that follow a position label ("A is better", "A and B", "A also counts 5") but never the article.
_AFTER_POSITION = frozenset(
    "is was has had does did do can could will would should may might must shall and or nor but vs versus than "
    "also only then still too instead alone itself correctly incorrectly clearly wins won loses lost got gave made "
    "said used".split()
)


def _article(masked: str, start: int) -> bool:
    """Whether the bare "A" at ``start`` is the English article: it opens a sentence and a noun phrase follows."""
    head = masked[:start].rstrip(" \t\"“‘'([*_#•-")
    opens_sentence = not head or head[-1] in ".!?:;>\n" or bool(_ENUMERATOR.fullmatch(head.rsplit("\n", 1)[-1]))
    follow = _NEXT_WORD.match(masked, start + 1)
    if not opens_sentence or follow is None:
        return False
    word = follow.group(1)
    verb_like = word.islower() and word.endswith("s") and not word.endswith(("ss", "us", "is"))  # "A computes"
    return word.lower() not in _AFTER_POSITION and not verb_like


def _rewrite(match: re.Match) -> str:
    text, offset = match.group(0), match.start()
    spans = sorted(match.span(name) for name, value in match.groupdict().items() if value is not None)
    pieces, cursor = [], 0
    for start, end in spans:
        pieces += [text[cursor : start - offset], _OTHER[text[start - offset : end - offset]]]
        cursor = end - offset
    return "".join(pieces) + text[cursor:]


def swap_rationale(text: str) -> str | None:
    """``text`` with every position reference naming the other response, or None when that is not safe.

    Rewritten: "Response A/B" (any case of "response", "Responses A and B"), "Assistant A/B"
    ("Assistant A's"), "A's answer", "Output (a)/(b)", "(A)/(B)", "@Response 1/2" and
    "Response 1/2", and the letter of an ``<answer>`` block. A text naming no position comes
    back unchanged. None when a capital A or B stands alone outside those patterns ("A is
    better", "option A", "A's", any bare "B"; a sentence-opening "A" before a noun phrase is
    the article and is fine), when positions are named by order ("the former", "the first
    response"), or when "(A)"/"(B)" sit next to "(C)"-style choice letters.
    """
    matches = list(_KNOWN.finditer(text))
    masked = _KNOWN.sub(lambda m: "\0" * len(m.group(0)), text)
    for bare in _BARE_LETTER.finditer(masked):
        if bare.group(0) == "B" or not _article(masked, bare.start()):
            return None
    if _BY_ORDER.search(masked) or (any(m.group("paren") for m in matches) and _CHOICE_LETTER.search(text)):
        return None
    return _KNOWN.sub(_rewrite, text) if matches else text


_POSITION_OF = {"A": "A", "B": "B", "a": "A", "b": "B", "1": "A", "2": "B"}


def first_position(text: str) -> str | None:
    """The position ("A" or "B") that ``text`` names first, through the references
    :func:`swap_rationale` rewrites; None when it names none."""
    match = _KNOWN.search(text)
    if match is None:
        return None
    name = min((name for name, value in match.groupdict().items() if value is not None), key=match.start)
    return _POSITION_OF[match.group(name)]


def swap_pair(pair: PreferencePair) -> PreferencePair | None:
    """``pair`` with A and B exchanged: responses, label, ``metadata["gold_label"]`` and rationale.

    The id gains :data:`SWAP_SUFFIX` (or loses it, so swapping twice gives the pair back).
    None when the rationale cannot be rewritten safely (:func:`swap_rationale`).
    """
    rationale = pair.rationale
    if rationale is not None:
        rationale = swap_rationale(rationale)
        if rationale is None:
            return None
    swapped_id = pair.id.removesuffix(SWAP_SUFFIX) if pair.id.endswith(SWAP_SUFFIX) else pair.id + SWAP_SUFFIX
    return replace(pair.swapped(), id=swapped_id, rationale=rationale)


def _swap_kind(pair: PreferencePair, swapped: PreferencePair | None) -> str:
    if swapped is None:
        return "not_swapped_unsafe"
    return "swapped" if pair.rationale and _KNOWN.search(pair.rationale) else "unchanged_no_position"


def augment_with_swaps(
    pairs: Sequence[PreferencePair], mode: OrderAugment, seed: int = 0
) -> tuple[list[PreferencePair], dict[str, int]]:
    """Training pairs in both orders ("both": each pair followed by its swap), one seeded random
    order per pair ("random": same count), or as given ("none").

    ``counts`` classifies the pairs a swap was tried for (all with "both", those drawn with
    "random", none with "none"): ``swapped`` (rationale rewritten), ``unchanged_no_position``
    (swapped; the rationale names no position, or there is none) and ``not_swapped_unsafe``
    (kept in the original order only).
    """
    if mode not in ORDER_AUGMENT_MODES:
        raise ValueError(f"order augmentation must be one of {ORDER_AUGMENT_MODES}, got {mode!r}")
    counts = {"swapped": 0, "unchanged_no_position": 0, "not_swapped_unsafe": 0}
    draw = random.Random(seed)
    out: list[PreferencePair] = []
    for pair in pairs:
        wants_swap = mode == "both" or (mode == "random" and draw.random() < 0.5)
        swapped = swap_pair(pair) if wants_swap else None
        if wants_swap:
            counts[_swap_kind(pair, swapped)] += 1
        if mode == "both" or swapped is None:
            out.append(pair)
        if swapped is not None:
            out.append(swapped)
    return out, counts
