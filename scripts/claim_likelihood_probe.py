"""Can a self-training run's models tell a true proof from a false one where the judge's own verdicts fail?

    python scripts/claim_likelihood_probe.py runs/cpu-default [64]

For each of the first n demo test pairs, in both A/B orders, the demo generator's proof of each label
(`gram_rr.data.demo.proof`: a true claim for the gold label, a false one for the other, the same wording)
is scored teacher-forced, as SFT scores it: the prover's log p(proof | pair, label) and the stage-0
reasoner's log p(judgment | pair). The label whose proofs score higher, summed over both orders, is the
model's pick; prints its accuracy per task family. A diagnostic, not a test: the proofs are the
generator's templates, not the prover's own samples.
"""

from __future__ import annotations

import dataclasses
import random
import sys
from collections import Counter

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from gram_rr.data import load_pairs
from gram_rr.data.demo import draw_problems, proof
from gram_rr.data.swap import swap_pair
from gram_rr.engines.tokens import completion_ids
from gram_rr.training.examples import sft_examples
from gram_rr.verdict import FLIP


@torch.no_grad()
def completion_logprobs(model_dir: str, role: str, pairs: list) -> list[float]:
    """Sum of the completion's token log-probs of each pair's SFT example for ``role``."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    scores = []
    for row in sft_examples(pairs, role):
        ids, n_prompt = completion_ids(tokenizer, row["prompt"], row["completion"])
        x = torch.tensor([ids])
        logp = torch.log_softmax(model(x).logits[0, :-1].float(), -1)
        scores.append(logp[torch.arange(len(ids) - 1), x[0, 1:]][n_prompt - 1:].sum().item())
    return scores


def main(run: str, n: int) -> None:
    pairs = load_pairs("data/demo/test.jsonl")
    problems = draw_problems("test", len(pairs), random.Random("gram-rr-demo:0:test"), "instructions")
    if any(p.question != q.question for p, q in zip(pairs, problems)):
        raise SystemExit("data/demo/test.jsonl is not the instructions demo split of seed 0")
    claims, keys = [], []
    for pair, problem in list(zip(pairs, problems))[:n]:
        for swapped in (False, True):
            shown = swap_pair(pair) if swapped else pair
            for label in "AB":  # proof(problem, label): Response <label> is said to keep the question's rule
                claims.append(dataclasses.replace(shown, label=label, rationale=proof(problem, label), metadata={}))
                keys.append((pair.id, pair.metadata["family"], pair.label, FLIP[label] if swapped else label))
    for role, model_dir in (("prover", f"{run}/stages/prover/model"), ("reasoner", f"{run}/stages/reasoner-0/model")):
        margin: dict[tuple[str, str, str], float] = {}  # (id, family, gold) -> score(A better) - score(B better)
        for (pair_id, family, gold, claimed), score in zip(keys, completion_logprobs(model_dir, role, claims)):
            key = (pair_id, family, gold)
            margin[key] = margin.get(key, 0.0) + (score if claimed == "A" else -score)
        right, total = Counter(), Counter()
        for (_, family, gold), m in margin.items():
            total[family] += 1
            right[family] += (m > 0) == (gold == "A")
        print(f"{role}: {100 * sum(right.values()) / len(margin):.1f}% of {len(margin)} pairs;",
              ", ".join(f"{f} {right[f]}/{total[f]}" for f in sorted(total)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 64)
