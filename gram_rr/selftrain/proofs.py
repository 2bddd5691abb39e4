"""The prover writes k proofs per labeled pair; the best valid one is kept.

Selection follows GRAM-R2: ``score = -log p(z | s, l) / log p(z)``, in (-inf, 0], higher is
better: a proof likely given the pair and label, yet unlikely on its own. ``log p(z | s, l)``
is the sum of the sampled tokens' log-probabilities under the prover's own (untempered)
distribution, which the engines return with each sample (vLLM's default raw log-probs; the
transformers engine records them before its warpers), so only ``log p(z)`` needs a scoring pass.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from gram_rr.data.records import PreferencePair
from gram_rr.engines.base import Engine, SamplingConfig
from gram_rr.parsing import parse_judgment
from gram_rr.prompts import prover_messages
from gram_rr.selftrain.filters import PROOF_FILTERS, check_proofs, normalise
from gram_rr.selftrain.recipe import FilterConfig, ProofConfig


def selection_score(logp_conditional: float, logp_unconditional: float) -> float:
    """``-log p(z|s,l) / log p(z)``; both log-probabilities are sums over the proof's tokens (< 0)."""
    if logp_unconditional >= 0:
        raise ValueError(f"log p(z) must be negative, got {logp_unconditional}")
    return -logp_conditional / logp_unconditional


@dataclass
class ProofResult:
    """Proved pairs (rationale set) and what the filters did."""

    pairs: list[PreferencePair]
    rejected_samples: dict[str, int] = field(default_factory=dict)
    pairs_without_proof: int = 0
    samples: int = 0


def _messages(pair: PreferencePair) -> list[dict[str, str]]:
    assert pair.label is not None, "only labeled pairs can be proved"
    return prover_messages(pair.question, pair.response_a, pair.response_b, pair.label)


def prove(pairs: list[PreferencePair], prover: Engine | None, proofs: ProofConfig, filters: FilterConfig) -> ProofResult:
    """Sample ``proofs.samples`` proofs per pair in one batch, filter them, keep the best-scored one."""
    if not pairs:
        return ProofResult(pairs=[], rejected_samples={name: 0 for name in PROOF_FILTERS})
    assert prover is not None, "pairs to prove need a prover engine"
    sampling = SamplingConfig(
        n=proofs.samples, temperature=proofs.temperature, top_p=proofs.top_p, max_new_tokens=proofs.max_new_tokens
    )
    outputs = prover.generate([_messages(p) for p in pairs], sampling)
    rejected: Counter[str] = Counter({name: 0 for name in PROOF_FILTERS})
    candidates: list[tuple[int, str]] = []  # (pair index, proof text) of every valid sample
    conditional: list[float | None] = []  # log p(z|s,l) as sampled, when the engine reported it
    for index, (pair, completions) in enumerate(zip(pairs, outputs)):
        for check in check_proofs(pair, completions, filters):
            if check.rejected_by:
                rejected[check.rejected_by] += 1
            else:
                candidates.append((index, check.completion.text))
                conditional.append(check.completion.logprob)
    if any(value is None for value in conditional):  # an engine without sample log-probs: one more pass
        conditional = prover.score([_messages(pairs[i]) for i, _ in candidates], [text for _, text in candidates])
    unconditional = prover.score([None] * len(candidates), [text for _, text in candidates])
    best: dict[int, tuple[float, str]] = {}
    for (index, text), cond, uncond in zip(candidates, conditional, unconditional):
        score = selection_score(cond, uncond)
        if index not in best or score > best[index][0]:
            best[index] = (score, text)
    proved, kept_rationales = [], set()
    for index in sorted(best):
        score, text = best[index]
        rationale = parse_judgment(text).rationale
        key = normalise(rationale)
        if key in kept_rationales:  # two pairs ended with the same best proof
            rejected["duplicate"] += 1
            continue
        kept_rationales.add(key)
        pair = pairs[index]
        proved.append(
            PreferencePair(
                id=pair.id, question=pair.question, response_a=pair.response_a, response_b=pair.response_b,
                label=pair.label, rationale=rationale, source=pair.source, conversation=pair.conversation,
                metadata={**pair.metadata, "proof_score": round(score, 6)},
            )
        )
    return ProofResult(
        pairs=proved, rejected_samples=dict(rejected), pairs_without_proof=len(pairs) - len(proved),
        samples=sum(len(c) for c in outputs),
    )
