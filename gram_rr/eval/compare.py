"""Put evaluation runs side by side: one Markdown table per benchmark, one column per run.

    python -m gram_rr.eval.compare runs/eval/rb-reasoner runs/eval/rb-bt runs/eval/rb-ldl runs/eval/rb-tree \\
        [--out table.md]

Each argument is an ``--out`` folder of ``python -m gram_rr.eval`` (its ``results.json``). Each
column states its model, the kind of model (generative reasoner, scalar RM: sequence classifier
or LDL, decision tree) and the tie rule its pairs were credited by, which RewardBench sets by
that kind; RewardBench tables are RewardBench v1 scores (sections weighted by the subsets'
fixed example counts). Runs of one benchmark on different data are flagged under its table.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gram_rr.atomic import write_text
from gram_rr.eval.report import format_value
from gram_rr.eval.workloads import tie_rule

# The kind of model a results file's run section implies when it does not state it (older runs).
_KIND_NAMES = {"generative": "generative reasoner", "scalar": "scalar RM", "tree": "decision tree"}
_NOTES = {"rewardbench": "RewardBench v1: each section is its subsets' accuracies weighted by their fixed example "
                         "counts (EXAMPLE_COUNTS); the score is the mean of the sections present."}


def load_results(folders: Sequence[str | Path]) -> list[tuple[str, dict[str, Any]]]:
    """``(folder name, results)`` for each folder holding a ``results.json``."""
    runs = []
    for folder in folders:
        path = Path(folder) / "results.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; pass folders written by python -m gram_rr.eval --out")
        runs.append((Path(folder).name, json.loads(path.read_text(encoding="utf-8"))))
    return runs


def judge_kind(result: dict[str, Any]) -> str | None:
    """``generative``, ``scalar`` or ``tree`` from the run section (None when it does not say)."""
    run = result.get("run") or {}
    if run.get("judge_kind"):
        return run["judge_kind"]
    if run.get("scorer") in ("scalar", "tree"):
        return run["scorer"]
    return "generative" if "engine" in run else None


def column_header(result: dict[str, Any]) -> tuple[str, str]:
    """The model kind a column states and the tie rule its pairs were credited by."""
    run, kind = result.get("run") or {}, judge_kind(result)
    model_kind = run.get("model_kind") or _KIND_NAMES.get(kind or "", "n/a")
    if run.get("tie_rule"):
        return model_kind, run["tie_rule"]
    if kind is None and result["benchmark"] == "rewardbench":
        return model_kind, "n/a"
    return model_kind, tie_rule(result["benchmark"], kind or "generative")


def comparison_table(runs: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Markdown: for each benchmark, the model, its kind and tie rule, then the summary metrics
    (rows) for every run (columns)."""
    by_benchmark: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, result in runs:
        by_benchmark.setdefault(result["benchmark"], []).append((name, result))
    lines: list[str] = []
    for benchmark, group in by_benchmark.items():
        metrics = list(dict.fromkeys(k for _, r in group for k in r["summary"]))
        lines += [f"## {benchmark}", ""]
        if benchmark in _NOTES:
            lines += [_NOTES[benchmark], ""]
        headers = [column_header(r) for _, r in group]
        lines.append("| metric (%) | " + " | ".join(name for name, _ in group) + " |")
        lines.append("|---" * (len(group) + 1) + "|")
        lines.append("| model | " + " | ".join(str(r.get("model") or "-") for _, r in group) + " |")
        lines.append("| model kind | " + " | ".join(kind for kind, _ in headers) + " |")
        lines.append("| tie rule | " + " | ".join(rule for _, rule in headers) + " |")
        for metric in metrics:
            lines.append(f"| {metric} | " + " | ".join(format_value(r["summary"].get(metric)) for _, r in group) + " |")
        judged = [format_value((r.get("diagnostics") or {}).get("n")) for _, r in group]
        lines.append("| pairs judged | " + " | ".join(judged) + " |")
        data = {name: (r.get("run") or {}).get("data") for name, r in group}
        if len({d for d in data.values() if d is not None}) > 1:
            lines += ["", "Not the same data: " + "; ".join(f"{name}: {d}" for name, d in data.items() if d)]
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gram_rr.eval.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="--out folders of python -m gram_rr.eval")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    try:
        table = comparison_table(load_results(args.folders))
    except (FileNotFoundError, KeyError, json.JSONDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(table)
    if args.out:
        write_text(args.out, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
