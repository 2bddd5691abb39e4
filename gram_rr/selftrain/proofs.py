"""The prover writes k proofs per labeled pair; the best valid one is kept.

Selection follows GRAM-R2: ``score = -log p(z | s, l) / log p(z)``, in (-inf, 0], higher is
better: a proof likely given the pair and label, yet unlikely on its own. ``log p(z | s, l)``
is the sum of the sampled tokens' log-probabilities under the prover's own (untempered)
distribution, which the engines return with each sample (vLLM's default raw log-probs; the
transformers engine records them before its warpers), so only ``log p(z)`` needs a scoring pass.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gram_rr.data.records import PreferencePair
from gram_rr.engines.base import Engine, SamplingConfig
from gram_rr.pair_prompt import pair_prover_messages
from gram_rr.parsing import parse_judgment
from gram_rr.selftrain.filters import PROOF_FILTERS, check_proofs, normalise
from gram_rr.selftrain.recipe import FilterConfig, ProofConfig


def selection_score(logp_conditional: float, logp_unconditional: float) -> float:
    """``-log p(z|s,l) / log p(z)``; both log-probabilities are sums over the proof's tokens (< 0)."""
    if logp_unconditional >= 0:
        raise ValueError(f"log p(z) must be negative, got {logp_unconditional}")
    return -logp_conditional / logp_unconditional


@dataclass
class ProofCounts:
    """What the filters did: pairs read, samples drawn, samples each filter rejected, pairs left without a proof."""

    pairs_read: int = 0
    rejected_samples: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PROOF_FILTERS, 0))
    pairs_without_proof: int = 0
    samples: int = 0


@dataclass
class ProofResult(ProofCounts):
    """Proved pairs (rationale set) and what the filters did."""

    pairs: list[PreferencePair] = field(default_factory=list)


def best_proofs(
    pairs: list[PreferencePair], prover: Engine | None, proofs: ProofConfig, filters: FilterConfig
) -> list[dict[str, Any]]:
    """Sample ``proofs.samples`` proofs per pair in one batch, filter them, pick each pair's best-scored one.

    One record per pair: ``id``, ``samples`` drawn, ``rejected`` (filter -> samples it dropped),
    and the best valid proof's ``rationale`` and rounded ``score`` (both None when none passed).
    Duplicates across pairs are left to :func:`proved_pairs`.
    """
    if not pairs:
        return []
    assert prover is not None, "pairs to prove need a prover engine"
    sampling = SamplingConfig(
        n=proofs.samples, temperature=proofs.temperature, top_p=proofs.top_p, max_new_tokens=proofs.max_new_tokens
    )
    outputs = prover.generate([pair_prover_messages(p) for p in pairs], sampling)
    records: list[dict[str, Any]] = []
    candidates: list[tuple[int, str]] = []  # (pair index, proof text) of every valid sample
    conditional: list[float | None] = []  # log p(z|s,l) as sampled, when the engine reported it
    for index, (pair, completions) in enumerate(zip(pairs, outputs)):
        rejected: Counter[str] = Counter()
        for check in check_proofs(pair, completions, filters):
            if check.rejected_by:
                rejected[check.rejected_by] += 1
            else:
                candidates.append((index, check.completion.text))
                conditional.append(check.completion.logprob)
        records.append({"id": pair.id, "samples": len(completions), "rejected": dict(rejected), "rationale": None, "score": None})
    if any(value is None for value in conditional):  # an engine without sample log-probs: one more pass
        conditional = prover.score(
            [pair_prover_messages(pairs[i]) for i, _ in candidates], [text for _, text in candidates]
        )
    unconditional = prover.score([None] * len(candidates), [text for _, text in candidates])
    best: dict[int, tuple[float, str]] = {}
    for (index, text), cond, uncond in zip(candidates, conditional, unconditional):
        score = selection_score(cond, uncond)
        if index not in best or score > best[index][0]:
            best[index] = (score, text)
    for index, (score, text) in best.items():
        records[index].update(rationale=parse_judgment(text).rationale, score=round(score, 6))
    return records


def proved_pairs(
    pairs: Iterable[PreferencePair], records: Iterable[dict[str, Any]], counts: ProofCounts, max_same_proof: int = 1
) -> Iterator[PreferencePair]:
    """The proved pairs, in order, from :func:`best_proofs` records (one per pair, same order).

    A best proof whose rationale ``max_same_proof`` earlier pairs already hold is dropped as a duplicate
    (the rationales seen are counted by 16-byte digests). Counts are added to ``counts`` as pairs go by.
    """
    kept_rationales: Counter[bytes] = Counter()
    for pair, record in zip(pairs, records, strict=True):
        if record["id"] != pair.id:
            raise ValueError(f"proof record {record['id']!r} does not belong to pair {pair.id!r}")
        counts.pairs_read += 1
        counts.samples += record["samples"]
        for name, count in record["rejected"].items():
            counts.rejected_samples[name] += count
        rationale = record["rationale"]
        if rationale is None:
            counts.pairs_without_proof += 1
            continue
        key = hashlib.blake2b(normalise(rationale).encode(), digest_size=16).digest()
        if kept_rationales[key] >= max_same_proof:  # this many pairs already ended with the same best proof
            counts.rejected_samples["duplicate"] += 1
            counts.pairs_without_proof += 1
            continue
        kept_rationales[key] += 1
        yield PreferencePair(
            id=pair.id, question=pair.question, response_a=pair.response_a, response_b=pair.response_b,
            label=pair.label, rationale=rationale, source=pair.source, conversation=pair.conversation,
            metadata={**pair.metadata, "proof_score": record["score"]},
        )


def prove(pairs: list[PreferencePair], prover: Engine | None, proofs: ProofConfig, filters: FilterConfig) -> ProofResult:
    """Best-of-k proofs for ``pairs`` in one batch: :func:`best_proofs`, then :func:`proved_pairs`."""
    result = ProofResult()
    result.pairs = list(proved_pairs(pairs, best_proofs(pairs, prover, proofs, filters), result, filters.max_same_proof))
    return result
