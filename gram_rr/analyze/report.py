"""The analysis report: ``report.json`` and ``report.md``, with the tree, its rules and picture beside them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gram_rr.analyze.plot import draw_tree
from gram_rr.analyze.rules import rules_text
from gram_rr.analyze.tree_model import StoredTree
from gram_rr.atomic import write_json, write_text

FILES = {"tree": "tree.json", "rules": "rules.txt", "picture": "tree.png", "json": "report.json",
         "markdown": "report.md"}
_COLUMNS = (("rows", "rows"), ("accuracy", "accuracy"), ("majority_baseline", "majority baseline"),
            ("judge_agreement", "agreement with judge"), ("gold_accuracy", "tree vs gold"),
            ("judge_gold_accuracy", "judge vs gold"))


_TARGETS = {"gold": "the gold winner (accuracy: against the gold label)",
            "judge": "the one the judge picked in that order (accuracy: agreement with the judge)"}


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:.1f}" if isinstance(value, float) else str(value)


def markdown(report: dict[str, Any], rules: str) -> str:
    """The report as Markdown (see :func:`write_report` for what it holds)."""
    lines = [f"# Preference tree: {report['target']} preference", ""]
    lines += [f"- {name}: `{value}`" for name, value in report["inputs"].items() if value]
    lines.append(f"- rows: {report['rows']} from {report['pairs']} pairs"
                 + (f"; dropped: {report['dropped']}" if report["dropped"] else ""))
    lines.append(f"- features: {', '.join(report['features'])}")
    lines.append(f"- target: 1 when the response shown first is {_TARGETS[report['target']]}")
    lines += ["", "| split | " + " | ".join(title for _, title in _COLUMNS) + " |",
              "|---" * (len(_COLUMNS) + 1) + "|"]
    for split, metrics in report["metrics"].items():
        if isinstance(metrics, dict) and "rows" in metrics:
            lines.append(f"| {split} | " + " | ".join(_cell(metrics.get(key)) for key, _ in _COLUMNS) + " |")
    cv = report["metrics"].get("cross_validated_accuracy")
    if cv:
        folds = ", ".join(f"{score:.1f}" for score in cv["per_fold"])
        lines += ["", f"Cross-validated accuracy ({cv['folds']} folds over pairs): {cv['mean']:.1f}% ({folds})."]
    position = report.get("position")
    if position and position["orders"]:
        lines += ["", f"Judge position: over {position['orders']} decided orders it picks the response shown first "
                      f"in {_cell(position['picks_first'])}%: {_cell(position['picks_first_when_gold_first'])}% "
                      f"when the gold winner is first, {_cell(position['picks_first_when_gold_second'])}% "
                      "when it is second."]
        if position["pairs_both_orders"]:
            same = _cell(position["same_position_both_orders"])
            lines[-1] += (f" Of {position['pairs_both_orders']} pairs decided in both orders, it picks the same "
                          f"position both times (a different response) in {same}%.")
    if report.get("importances"):
        ranked = sorted(report["importances"].items(), key=lambda item: -item[1])
        lines += ["", "Feature importances: " + ", ".join(f"{name} {value:.2f}" for name, value in ranked) + "."]
    lines += ["", "Rules (one per leaf; P(first) and rows are the tree's training rows):", "", "```text",
              rules.rstrip("\n"), "```", "", f"![tree]({FILES['picture']})", ""]
    return "\n".join(lines)


def write_report(out: str | Path, tree: StoredTree, report: dict[str, Any], title: str) -> dict[str, Path]:
    """Write the tree (JSON), its rules, its picture and the report (JSON + Markdown) into ``out``,
    each file atomically; returns their paths."""
    out = Path(out)
    rules = rules_text(tree)
    return {
        "tree": tree.save(out / FILES["tree"]),
        "rules": write_text(out / FILES["rules"], rules),
        "picture": draw_tree(tree, out / FILES["picture"], title),
        "json": write_json(out / FILES["json"], {**report, "rules": rules.splitlines(), "tree": FILES["tree"]}),
        "markdown": write_text(out / FILES["markdown"], markdown(report, rules)),
    }
