"""Which pseudo-labels and which proofs are good enough to train on."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from gram_rr.data.records import PreferencePair
from gram_rr.data.swap import first_position, swap_pair
from gram_rr.engines.base import Completion
from gram_rr.parsing import FAVOURABLE_WORDS, UNFAVOURABLE_WORDS, parse_judgment
from gram_rr.selftrain.recipe import FilterConfig, PredictConfig
from gram_rr.verdict import Verdict

PROOF_FILTERS = ("unparsable", "wrong_answer", "contradicts_label", "names_b_first", "too_long", "too_short", "copies_response", "duplicate")

# "Response A is correct", "Assistant B's answer is the better one", "Output A is wrong": a verdict on one position.
_CLAIM = re.compile(
    r"\b(?:Response|Assistant|Answer|Output)\s+([AB])(?:'s\s+(?:answer|response))?\s+is\s+(?:the\s+)?"
    rf"({'|'.join(FAVOURABLE_WORDS + UNFAVOURABLE_WORDS)})\b",
    re.IGNORECASE,
)


def contradicts_label(rationale: str, label: str) -> bool:
    """Whether the rationale calls the labelled response wrong or worse, or the other one correct or better."""
    return any((position.upper() == label) != (word.lower() in FAVOURABLE_WORDS) for position, word in _CLAIM.findall(rationale))


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def order_majorities(verdict: Verdict) -> tuple[str | None, str | None]:
    """The majority answer among the original-order votes and among the swapped-order votes."""

    def majority(swapped: bool) -> str | None:
        counts = Counter(v.answer for v in verdict.votes if v.swapped == swapped and v.answer is not None)
        if not counts or counts["A"] == counts["B"]:
            return None
        return counts.most_common(1)[0][0]

    return majority(False), majority(True)


PREDICTION_DROPS = {
    "votes": ("no_majority", "low_vote_share", "orders_disagree"),
    "probability": ("no_probability", "low_probability_margin"),
}


def predicted_label(verdict: Verdict, config: PredictConfig) -> str | None:
    """The pseudo-label under ``config.select``: the majority, or the side the probability favours."""
    if config.select == "votes":
        return verdict.winner
    if verdict.probability is None or verdict.probability == 0.5:
        return None
    return "A" if verdict.probability > 0.5 else "B"


def keep_prediction(verdict: Verdict, config: PredictConfig) -> str | None:
    """Why a pseudo-label is dropped (one of ``PREDICTION_DROPS[config.select]``), or None to keep it.

    ``select="probability"`` keeps a pair when ``|probability - 0.5| >= min_probability_margin``
    (never at exactly 0.5); a verdict without a probability is ``"no_probability"``.
    """
    if config.select == "probability":
        if verdict.probability is None:
            return "no_probability"
        if predicted_label(verdict, config) is None or abs(verdict.probability - 0.5) < config.min_probability_margin:
            return "low_probability_margin"
        return None
    if verdict.winner is None:
        return "no_majority"
    if verdict.confidence < config.min_vote_share:  # confidence is the winner's share of all votes
        return "low_vote_share"
    if config.require_order_agreement and config.both_orders:
        original, swapped = order_majorities(verdict)
        if original != swapped:
            return "orders_disagree"
    return None


def balance_labels(pairs: list[PreferencePair], seed: int) -> list[PreferencePair]:
    """Swap A/B (:func:`swap_pair`: gold label and rationale too) on a seeded random subset of the
    majority label so each label holds half (±1); a pair whose rationale cannot be swapped stays."""
    swaps = [swap_pair(p) for p in pairs]
    to_swap = labels_to_swap([p.label for p in pairs], [s is not None for s in swaps], seed)
    return [swaps[i] if i in to_swap else p for i, p in enumerate(pairs)]


def drop_label_surplus(pairs: list[PreferencePair], seed: int,
                       group_of: Callable[[PreferencePair], str | None] | None = None) -> list[PreferencePair]:
    """``pairs`` without a seeded random sample of each group's majority-label surplus, so in every group
    (``group_of``; None: all pairs are one group) each label holds half (order kept): the balance for
    A-first proofs, which a swap would turn B-first. By group, so no kind of pair teaches a position."""
    rng = random.Random(seed)
    groups: dict[str | None, list[int]] = {}
    for index, pair in enumerate(pairs):
        groups.setdefault(group_of(pair) if group_of else None, []).append(index)
    dropped: set[int] = set()
    for members in groups.values():
        by_label = {label: [i for i in members if pairs[i].label == label] for label in ("A", "B")}
        major, minor = sorted(by_label.values(), key=len, reverse=True)
        dropped.update(rng.sample(major, len(major) - len(minor)))
    return [p for i, p in enumerate(pairs) if i not in dropped]


def labels_to_swap(labels: list[str | None], swappable: list[bool], seed: int) -> set[int]:
    """The positions :func:`balance_labels` swaps, from the pairs' labels and whether each can be swapped
    (so a caller can stream the pairs twice and hold only these two lists)."""
    by_label = {"A": [i for i, label in enumerate(labels) if label == "A"], "B": [i for i, label in enumerate(labels) if label == "B"]}
    major = "A" if len(by_label["A"]) > len(by_label["B"]) else "B"
    excess = (len(by_label[major]) - len(by_label["B" if major == "A" else "A"])) // 2
    candidates = [i for i in by_label[major] if swappable[i]]
    return set(random.Random(seed).sample(candidates, min(excess, len(candidates))))


@dataclass
class ProofCheck:
    """One sampled proof and the first rule it breaks (None: it passes)."""

    completion: Completion
    rejected_by: str | None


def check_proofs(pair: PreferencePair, completions: list[Completion], config: FilterConfig) -> list[ProofCheck]:
    """Apply the rule filters, in :data:`PROOF_FILTERS` order, to a pair's sampled proofs.

    Duplicates are caught here within the pair; across pairs, the caller drops a
    selected proof whose rationale another pair already holds.
    """
    long_responses = [normalise(r) for r in (pair.response_a, pair.response_b) if len(r) >= config.copy_min_chars]
    checks, this_pair = [], set()
    for completion in completions:
        judgment = parse_judgment(completion.text)
        rationale = normalise(judgment.rationale)
        if judgment.answer is None or "</think>" not in completion.text:
            reason = "unparsable"
        elif judgment.answer != pair.label:
            reason = "wrong_answer"
        elif config.reject_contradictions and contradicts_label(judgment.rationale, pair.label):
            reason = "contradicts_label"
        elif config.a_first and first_position(judgment.rationale) == "B":
            reason = "names_b_first"
        elif completion.num_tokens > config.max_proof_tokens or completion.finish_reason == "length":
            reason = "too_long"
        elif len(rationale.split()) < config.min_rationale_words:
            reason = "too_short"
        elif any(response in rationale for response in long_responses):
            reason = "copies_response"
        elif rationale in this_pair:
            reason = "duplicate"
        else:
            reason = None
            this_pair.add(rationale)
        checks.append(ProofCheck(completion, reason))
    return checks
