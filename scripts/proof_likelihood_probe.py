"""Can the stage-0 judge label a round's pairs by how likely it finds the prover's proof of each label?

    python scripts/proof_likelihood_probe.py runs/cpu-default [48]

For each of round 1's first n unlabeled pairs (with the demo's gold labels), in both A/B orders, the
run's prover proves each label as the proofs stage does (the recipe's samples, filters and best-proof
score), and the stage-0 reasoner scores each proof teacher-forced, as the judgment it would write
(``Engine.score`` of ``<think>proof</think><answer>X</answer>`` after the judge prompt). A label wins
an order when its proof is the more likely one (summed log-prob, or mean per token); the two orders'
differences are pooled. Prints each rule's accuracy per task family, and with the two orders required
to agree, next to the run's own predict-1 pseudo-labels. A diagnostic run on the recipe's engines.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import Counter
from collections.abc import Callable
from itertools import islice
from pathlib import Path

from gram_rr.config import from_dict
from gram_rr.data import iter_pairs
from gram_rr.data.swap import swap_pair
from gram_rr.engines.tokens import scoring_ids
from gram_rr.pair_prompt import pair_judge_messages
from gram_rr.resources import data_path
from gram_rr.selftrain.chunks import ChunkLog
from gram_rr.selftrain.proofs import best_proofs
from gram_rr.selftrain.recipe import SelfTrainRecipe
from gram_rr.selftrain.stages import EngineSlot
from gram_rr.training.examples import target_text
from gram_rr.verdict import FLIP


def scored_proofs(run: Path, recipe: SelfTrainRecipe, pairs: list) -> list[dict]:
    """One row per (pair, order, label) with a valid proof: its judge log-prob and token count."""
    items, keys = [], []
    for pair in pairs:
        for swapped in (False, True):
            shown = swap_pair(dataclasses.replace(pair, label="A")) if swapped else pair
            for label in "AB":
                items.append(dataclasses.replace(shown, id=f"{pair.id}/{int(swapped)}/{label}", label=label, rationale=None))
                keys.append((pair, swapped, FLIP[label] if swapped else label))
    slot = EngineSlot(recipe)
    try:
        records = best_proofs(items, slot.get(str(run / "stages/prover/model")), recipe.proofs, recipe.filters)
        proved = [i for i, record in enumerate(records) if record["rationale"]]
        judgments = [target_text(dataclasses.replace(items[i], rationale=records[i]["rationale"])) for i in proved]
        judge = slot.get(str(run / "stages/reasoner-0/model"))
        logps = judge.score([pair_judge_messages(items[i]) for i in proved], judgments)
    finally:
        slot.release()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(run / "stages/reasoner-0/model")
    rows = []
    for i, judgment, logp in zip(proved, judgments, logps):
        pair, swapped, label = keys[i]
        ids, n_context = scoring_ids(tokenizer, None, judgment)
        rows.append({"pair": pair.id, "family": pair.metadata.get("family", "-"), "gold": pair.metadata["gold_label"],
                     "swapped": swapped, "label": label, "logp": logp, "tokens": len(ids) - n_context})
    return rows


def report(name: str, rows: list[dict], value: Callable[[dict], float], agree: bool) -> None:
    """Accuracy of picking, per pair, the label whose proofs ``value`` rates higher (pooled over both orders)."""
    by_pair: dict[str, dict] = {}
    for row in rows:
        entry = by_pair.setdefault(row["pair"], {"family": row["family"], "gold": row["gold"], 0: {}, 1: {}})
        entry[int(row["swapped"])][row["label"]] = value(row)
    right, kept = Counter(), Counter()
    for entry in by_pair.values():
        # an order with one label unproved counts for the proved one; with neither, it abstains
        diffs = [(o.get("A", -1e9) - o.get("B", -1e9)) if o else 0.0 for o in (entry[0], entry[1])]
        pick = "A" if sum(diffs) > 0 else "B" if sum(diffs) < 0 else None
        if pick is None or (agree and (diffs[0] > 0) != (diffs[1] > 0)):
            continue
        kept[entry["family"]] += 1
        right[entry["family"]] += pick == entry["gold"]
    families = sorted({e["family"] for e in by_pair.values()})
    print(f"{name}: kept {sum(kept.values())}/{len(by_pair)}, right {sum(right.values())};",
          ", ".join(f"{f} {right[f]}/{kept[f]}" for f in families))


def main(run: Path, n: int) -> None:
    recipe = from_dict(SelfTrainRecipe, json.loads((run / "manifest.json").read_text())["recipe"], str(run))
    pairs = list(islice(iter_pairs(data_path(recipe.data.unlabeled)), n))
    rows = scored_proofs(run, recipe, pairs)
    for agree in (False, True):
        suffix = ", both orders agree" if agree else ""
        report(f"summed log-prob{suffix}", rows, lambda r: r["logp"], agree)
        report(f"mean log-prob per token{suffix}", rows, lambda r: r["logp"] / r["tokens"], agree)
    gold = {p.id: (p.metadata.get("family", "-"), p.metadata["gold_label"]) for p in pairs}
    right, kept = Counter(), Counter()
    for record in ChunkLog(run / "stages/predict-1/chunks.jsonl").records():
        if record["id"] in gold and not record["dropped"]:
            family, label = gold[record["id"]]
            kept[family] += 1
            right[family] += record["label"] == label
    print(f"the run's predict-1 (kept): kept {sum(kept.values())}/{len(pairs)}, right {sum(right.values())};",
          ", ".join(f"{f} {right[f]}/{kept[f]}" for f in sorted(kept)))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 48)
