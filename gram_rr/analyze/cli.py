"""Explain preferences with a shallow decision tree (seed 003's analysis).

    python -m gram_rr.analyze tree --pairs data/demo/test.jsonl --out runs/tree-gold
    python -m gram_rr.analyze tree --pairs data/demo/test.jsonl --target judge \\
        --verdicts runs/cpu-default/stages/eval-0/verdicts.jsonl --out runs/tree-judge
    python -m gram_rr.analyze tree --pairs FILE --tree runs/tree-gold/tree.json   # apply a stored tree
    python -m gram_rr.analyze attributes --model runs/ldl/model --pairs FILE --out attributes.jsonl  # LDL scores

The tree predicts, per pair and shown order, whether the response shown first is preferred:
by the gold label (--target gold: one row per labelled pair, A shown first) or by a judge's
verdicts (--target judge: one row per order the judge saw, read from gram_rr.eval's
verdicts.jsonl or a self-training stage's verdicts.jsonl). Features are differences first minus
second: length (chars_diff, words_diff), position (gold_first: the gold winner is shown first;
judge target only, it is the label itself for gold), probability (the judge's order-pooled
P(first better), needs --verdicts), metadata (one-hot --metadata-keys), attributes
(attr:NAME, needs --attributes: JSONL {"id", "attributes_a": {NAME: score}, "attributes_b": {...}}).
The pairs are split (seeded) into training and held-out pairs; both orders of a pair stay on one
side. Prints the rules and the metrics; with --out writes tree.json, rules.txt, tree.png,
report.json and report.md. Trees are JSON only: a pickle (.pkl) is refused.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from gram_rr.analyze.attributes import load_attributes
from gram_rr.analyze.dataset import TARGETS, build_dataset, position_summary
from gram_rr.analyze.features import GROUPS, build_spec
from gram_rr.analyze.fit import TreeConfig, analyze, row_metrics
from gram_rr.analyze.judgments import load_judge_verdicts
from gram_rr.analyze.report import markdown, write_report
from gram_rr.analyze.rules import rules_text
from gram_rr.analyze.tree_model import StoredTree, load_tree
from gram_rr.cli_args import add_dataclass_arguments, dataclass_from_args
from gram_rr.config import from_dict
from gram_rr.data import load_pairs

DEFAULT_METADATA_KEYS = "family,error"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gram_rr.analyze", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    tree = commands.add_parser(
        "tree", help="fit (or apply) a decision tree that explains a preference",
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tree.add_argument("--pairs", required=True, help="labelled pairs (any format load_pairs reads)")
    tree.add_argument("--verdicts", help="a judge's verdicts on those pairs (gram_rr.eval or a self-training stage)")
    tree.add_argument("--target", choices=TARGETS, help="what the tree predicts (default: gold; a --tree's own)")
    tree.add_argument("--features", help=f"comma-separated groups among {', '.join(GROUPS)} (default: length, "
                                         "metadata, and attributes / position / probability where available)")
    tree.add_argument("--metadata-keys", default=DEFAULT_METADATA_KEYS, help="pair metadata keys to one-hot encode")
    tree.add_argument("--attributes", help="per-pair attribute scores of A and B (JSONL, see above)")
    tree.add_argument("--tree", help="apply this stored tree (JSON) to the pairs instead of fitting one")
    tree.add_argument("--out", help="output folder for tree.json, rules.txt, tree.png, report.json, report.md")
    add_dataclass_arguments(tree, TreeConfig)
    add_attributes_command(commands)
    return parser


def add_attributes_command(commands: Any) -> None:
    """``attributes``: an LDL model's per-attribute expected ratings of each pair's A and B (the --attributes file)."""
    from gram_rr.analyze import ldl_attributes
    from gram_rr.eval.workloads import BENCHMARKS
    from gram_rr.scalar import ScorerConfig

    defaults = ScorerConfig()
    command = commands.add_parser(
        "attributes", help="write the --attributes file from an LDL reward model",
        description=ldl_attributes.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument("--model", required=True,
                         help="an LDL reward model folder (python -m gram_rr.train --role ldl)")
    command.add_argument("--pairs", required=True, nargs="+",
                         help="pairs file(s), as --pairs or eval's --data takes them")
    command.add_argument("--benchmark", choices=BENCHMARKS, default="pairs",
                         help="read the files as gram_rr.eval --benchmark does, so ids match its pairs (rmbench: "
                              "each style pair)")
    command.add_argument("--out", required=True, help="the attributes file to write (JSONL)")
    command.add_argument("--dtype", default=defaults.dtype, help="weight dtype of the backbone")
    command.add_argument("--device", default=defaults.device, help="'auto', 'cpu' or 'cuda'")
    command.add_argument("--max-length", type=int, default=defaults.max_length,
                         help="longest input in tokens; longer inputs lose tokens from the left")


def run_attributes(args: argparse.Namespace) -> str:
    """Score the pairs with the LDL model and write the attributes file; returns its path."""
    from gram_rr.analyze.ldl_attributes import write_ldl_attributes
    from gram_rr.eval.workloads import load_workload

    pairs = load_workload(args.benchmark, args.pairs)
    path = write_ldl_attributes(args.model, pairs, args.out, dtype=args.dtype, device=args.device,
                                max_length=args.max_length)
    return str(path)


def default_groups(target: str, verdicts: bool, attributes: bool) -> list[str]:
    """length and metadata; attributes when given; the gold winner's position for a judge target;
    the judge's probability for the gold target when verdicts are given."""
    groups = ["length", "metadata"] + (["attributes"] if attributes else [])
    if target == "judge":
        groups.append("position")
    elif verdicts:
        groups.append("probability")
    return groups


def run(args: argparse.Namespace) -> tuple[dict[str, Any], StoredTree]:
    """Build the rows, fit or apply the tree, write the outputs; returns the report and the tree."""
    config = from_dict(TreeConfig, asdict(dataclass_from_args(TreeConfig, args)))
    stored = load_tree(args.tree) if args.tree else None
    target = args.target or (stored.target if stored else "gold")
    if stored is not None and target != stored.target:
        raise ValueError(f"{args.tree} predicts the {stored.target} preference, not --target {target}")
    pairs = load_pairs(args.pairs)
    verdicts = load_judge_verdicts(args.verdicts) if args.verdicts else None
    attributes = load_attributes(args.attributes) if args.attributes else None
    if stored is not None:
        spec = stored.spec
    else:
        groups = [g.strip() for g in args.features.split(",") if g.strip()] if args.features else default_groups(
            target, verdicts is not None, attributes is not None)
        if target == "gold" and "position" in groups:
            raise ValueError("--features position with --target gold: the gold winner's position is the label itself")
        if "probability" in groups and verdicts is None:
            raise ValueError("the 'probability' features need --verdicts FILE")
        keys = [k.strip() for k in args.metadata_keys.split(",") if k.strip()]
        spec = build_spec(groups, pairs, keys, attributes)
    data = build_dataset(pairs, spec, target, verdicts, attributes)
    report: dict[str, Any] = {
        "target": target,
        "inputs": {"pairs": args.pairs, "verdicts": args.verdicts, "attributes": args.attributes, "tree": args.tree},
        "pairs": data.pairs, "rows": len(data.rows), "dropped": dict(data.dropped), "features": spec.names,
    }
    if stored is not None:
        tree = stored
        report["metrics"] = {"all pairs": row_metrics(tree, data.rows)}
    else:
        analysis = analyze(data, config)
        tree = analysis.tree
        report.update(config=asdict(config), train_pairs=analysis.train_pairs, test_pairs=analysis.test_pairs,
                      metrics=analysis.metrics, importances=analysis.importances)
    if verdicts is not None:
        report["position"] = position_summary(pairs, verdicts)
    if args.out:
        title = f"{target} preference on {args.pairs}" + (f"\njudge: {args.verdicts}" if args.verdicts else "")
        report["files"] = {k: str(p) for k, p in write_report(args.out, tree, report, title).items()}
    return report, tree


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "attributes":
        print(f"attributes: {run_attributes(args)}")
        return 0
    report, tree = run(args)
    print(markdown(report, rules_text(tree)).split("\n![tree]")[0])
    for name, path in report.get("files", {}).items():
        print(f"{name}: {path}")
    return 0
