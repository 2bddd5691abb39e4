"""Each benchmark's workload (which pairs to judge) and its report (metrics from verdicts).

A report is a dict: ``benchmark``, ``summary`` (headline numbers, %), ``categories``
(per-category scores for the chart, %), ``metrics`` (the benchmark's full metric) and,
when verdicts exist, ``diagnostics`` (:func:`gram_rr.eval.pairs.pair_metrics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gram_rr.data.records import PreferencePair
from gram_rr.eval import judgebench, rewardbench, rmbench
from gram_rr.eval.pairs import pair_metrics
from gram_rr.verdict import Verdict

BENCHMARKS = ("rmbench", "judgebench", "rewardbench", "pairs")


def load_workload(
    benchmark: str,
    paths: Sequence[str | Path],
    limit: int | None = None,
    subset: str | None = None,
    columns: dict[str, str] | None = None,
    labels: dict[Any, str | None] | None = None,
) -> list[PreferencePair]:
    """The pairs to judge: the first ``limit`` records of each file (RM-Bench: prompts,
    each expanded to its nine style pairs). ``subset`` names the RewardBench subset of
    files whose records carry none; ``columns`` and ``labels`` read every file through a
    column mapping (:func:`gram_rr.data.load_pairs`)."""
    from gram_rr.data import expand_rmbench, load_pairs
    from gram_rr.data.io import iter_raw

    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {benchmark!r}; choose one of {BENCHMARKS}")
    pairs: list[PreferencePair] = []
    for path in paths:
        loaded = list(load_pairs(path, columns=columns, labels=labels))[:limit]
        if benchmark == "rmbench":
            if any("chosen" not in p.metadata for p in loaded):
                raise ValueError(f"{path} is not an RM-Bench file (rows need chosen[3] and rejected[3] lists)")
            loaded = [style_pair for p in loaded for style_pair in expand_rmbench(p)]
        elif benchmark == "judgebench":
            if any(not p.metadata.get("subset") for p in loaded):
                raise ValueError(f"{path} is not a JudgeBench file (records need a 'source' such as mmlu-pro-law)")
        elif benchmark == "rewardbench":
            raw_subsets = [raw.value.get("subset") if raw.value else None for raw in iter_raw(path)]
            for k, pair in enumerate(loaded):
                name = subset or rewardbench.subset_of(pair) or raw_subsets[k]
                if not name:
                    raise ValueError(
                        f"{path}: record {k} has no RewardBench subset; pass --subset NAME, or use "
                        "--benchmark pairs for files that are not RewardBench subsets"
                    )
                pair.metadata["subset"] = rewardbench.LLMBAR_SUBSETS.get(name, name)
        pairs.extend(loaded)
    return pairs


# How each benchmark but RewardBench decides a pair, whatever the kind of model (RewardBench: rewardbench.TIE_RULES).
_SHARED_TIE_RULES = {
    "rmbench": "chosen beats rejected strictly (P > 0.5 when a probability exists); ties wrong (compute_accuracy)",
    "judgebench": "+1/-1/0 per order, correct when the sum > 0; ties wrong",
    "pairs": "votes' margin > 0; ties and abstentions wrong",
}


def tie_rule(benchmark: str, kind: str) -> str:
    """How ``benchmark`` credits a pair judged by a model of ``kind`` (generative, scalar or tree)."""
    if benchmark == "rewardbench":
        return rewardbench.TIE_RULES[kind]
    return _SHARED_TIE_RULES[benchmark]


def report(
    benchmark: str,
    pairs: Sequence[PreferencePair],
    verdicts: Sequence[Verdict],
    tie_credit: float,
    by_probability: bool = False,
) -> dict[str, Any]:
    """The benchmark's report from verdicts on :func:`load_workload`'s pairs.

    ``tie_credit`` is RewardBench's credit for a tie or failure (0.5 for generative
    judges as in ``run_generative.py``, 0 for scalar models as in ``run_rm.py``);
    ``by_probability`` makes RewardBench credit a pair by its verdict's probability
    (a decision tree's P(A better), see :mod:`gram_rr.eval.rewardbench`).
    """
    diagnostics = pair_metrics(pairs, verdicts)
    if benchmark == "rmbench":
        result = rmbench_report(rmbench.rmbench_metrics(*rmbench.matrices_from_verdicts(pairs, verdicts)))
    elif benchmark == "judgebench":
        result = judgebench_report(judgebench.judgebench_metrics(judgebench.from_verdicts(pairs, verdicts)))
    elif benchmark == "rewardbench":
        credits = rewardbench.credits_from_verdicts(pairs, verdicts, tie_credit, by_probability)
        result = rewardbench_report(rewardbench.rewardbench_metrics([p.metadata["subset"] for p in pairs], credits))
    elif benchmark == "pairs":
        keys = ("accuracy", "accuracy_both_orders", "position_consistency", "abstention_rate", "no_verdict_rate")
        summary = {key: diagnostics.get(key) for key in keys}
        groups: dict[str, list[int]] = {}
        for k, p in enumerate(pairs):
            groups.setdefault(str(p.metadata.get("subset") or p.source), []).append(k)
        if len(groups) > 1:  # several files: accuracy of each
            for name, idx in groups.items():
                summary[f"accuracy [{name}]"] = pair_metrics([pairs[k] for k in idx], [verdicts[k] for k in idx]).get(
                    "accuracy"
                )
        result = {
            "benchmark": "pairs",
            "summary": summary,
            "categories": {k: v["accuracy"] for k, v in diagnostics.get("accuracy_by_length", {}).items()},
            "metrics": diagnostics,
        }
    else:
        raise ValueError(f"unknown benchmark {benchmark!r}; choose one of {BENCHMARKS}")
    result["diagnostics"] = diagnostics
    return result


def rmbench_report(metrics: dict[str, Any]) -> dict[str, Any]:
    domains = metrics["domains"]
    summary = {key: metrics[key] for key in ("overall", "hard", "normal", "easy")}
    summary.update({name: d["avg"] for name, d in domains.items()})
    levels = ("hard", "normal", "easy", "avg")
    categories = {f"{name} {level}": d[level] for name, d in domains.items() for level in levels}
    return {"benchmark": "rmbench", "summary": summary, "categories": categories, "metrics": metrics}


def judgebench_report(metrics: dict[str, Any]) -> dict[str, Any]:
    categories = {k: c["accuracy"] for k, c in metrics["categories"].items()}
    summary = {
        "overall (over pairs, JudgeBench)": metrics["overall_pairs"],
        "overall (mean of categories, GRAM-R2)": metrics["overall_categories"],
        **categories,
    }
    return {"benchmark": "judgebench", "summary": summary, "categories": categories, "metrics": metrics}


def rewardbench_report(metrics: dict[str, Any]) -> dict[str, Any]:
    summary = {"score (mean of sections present)": metrics["score"], **metrics["sections"]}
    categories = {k: s["accuracy"] for k, s in metrics["subsets"].items()}
    return {"benchmark": "rewardbench", "summary": summary, "categories": categories, "metrics": metrics}
