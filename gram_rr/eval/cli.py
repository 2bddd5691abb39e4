"""Evaluate a reward model on a benchmark, or score results that already exist.

    python -m gram_rr.eval --model smollm2-135m-instruct --benchmark judgebench \\
        --data ../shared/data/judgebench/judgebench_claude.jsonl --out runs/eval/jb \\
        [--votes 16] [--both-orders] [--limit N] [--engine vllm|hf] [--scorer scalar] \\
        [judge.max_new_tokens=512 engine.max_model_len=8192 scorer.batch_size=8 ...]
    python -m gram_rr.eval --scorer tree --tree runs/tree/tree.json --benchmark B --data FILE --out DIR \\
        [--attributes ATTRS.jsonl] [--tree-verdicts VERDICTS.jsonl]  # a decision tree of gram_rr.analyze
    python -m gram_rr.eval --benchmark judgebench --judgments OUTPUT.jsonl [--out DIR]  # JudgeBench output file
    python -m gram_rr.eval --benchmark rmbench --scores RESULTS.json [--out DIR]         # RM-Bench result file
    python -m gram_rr.eval --benchmark B --judgments DIR/verdicts.jsonl --data FILE --out DIR  # our verdicts

Benchmarks: rmbench (3x3 style matrix, hard/normal/easy, domains), judgebench (both
orders, +1/-1/0, per category; overall over pairs and as the mean of categories),
rewardbench (per subset, sections weighted as RewardBench v1), pairs (any labelled
file: accuracy, both orders, position consistency, abstentions, length buckets).
--data also takes Parquet files and datasets save_to_disk folders; --columns and
--label-values read files of any other layout through a column mapping.
Verdicts are cached in DIR/verdicts.jsonl: rerunning the same command continues
where it stopped. Prints the Markdown table; with --out also writes DIR/results.json,
DIR/results.md and DIR/categories.png (and DIR/vote_curve.png with --votes > 1).
When verdicts carry a probability P(A better than B) (answer-token log-probabilities),
the report adds its AUC, Brier score, ECE with its bins and accuracy, and
DIR/reliability.png, the reliability diagram.

Tie credit follows the kind of model (RewardBench; the others count ties wrong for every
kind): a generative reasoner 0.5 for a tie or failed parse (run_generative.py), a scalar
RM 0 (run_rm.py: chosen > rejected), a decision tree by its probability, P(chosen better)
> 0.5 scores 1 and P = 0.5 scores 0 (run_rm.py's rule read pairwise). A tree judges both
orders by default (it costs nothing); --attributes and --tree-verdicts give the columns
a tree reads beyond the pair (attribute scores, a judge's probability).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from gram_rr.cli_args import overrides_epilog
from gram_rr.cli_errors import debug_requested
from gram_rr.config import ConfigError, section_configs, to_dict
from gram_rr.data.columns import add_column_arguments
from gram_rr.data.records import PreferencePair
from gram_rr.engines.config import BACKENDS, EngineConfig
from gram_rr.eval import existing, workloads
from gram_rr.eval.cache import VerdictCache
from gram_rr.eval.report import markdown, write_report
from gram_rr.eval.rewardbench import BY_PROBABILITY, TIE_CREDIT
from gram_rr.eval.runner import judge_pairs
from gram_rr.judge import JudgeConfig
from gram_rr.protocols import PairJudge
from gram_rr.scalar import ScorerConfig

# The judgment must fit: prompt tokens + max_new_tokens + this margin <= max_model_len.
_LENGTH_MARGIN = 8


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gram_rr.eval",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1]
        + "\n"
        + overrides_epilog({"judge": JudgeConfig, "engine": EngineConfig, "scorer": ScorerConfig}),
    )
    parser.add_argument("--benchmark", required=True, choices=workloads.BENCHMARKS)
    parser.add_argument("--model", help="reward reasoner (resolve_model name or folder), or a scalar RM with --scorer")
    parser.add_argument("--data", nargs="+", default=[], help="benchmark file(s) in their original format")
    add_column_arguments(parser)
    parser.add_argument(
        "--out", help="output folder (verdict cache, results.json/.md, charts); optional when scoring existing files"
    )
    parser.add_argument("--votes", type=int, default=1, help="samples per order (vote@k)")
    parser.add_argument(
        "--both-orders",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also judge with A and B swapped (default: on for judgebench, off otherwise)",
    )
    parser.add_argument("--limit", type=int, help="only the first N records of each file (RM-Bench: prompts)")
    parser.add_argument("--engine", choices=BACKENDS, default="vllm", help="generation backend of a reasoner")
    parser.add_argument(
        "--scorer", choices=("scalar", "tree"),
        help="scalar: evaluate --model as a scalar reward model; tree: evaluate the decision tree --tree",
    )
    parser.add_argument("--tree", help="with --scorer tree: a tree.json written by python -m gram_rr.analyze tree")
    parser.add_argument("--attributes", help="with --scorer tree: attribute scores of the pairs (analyze attributes)")
    parser.add_argument("--tree-verdicts", help="with --scorer tree: a judge's verdicts, for trees that read its "
                                                "probability")
    parser.add_argument("--batch-size", type=int, default=64, help="pairs per engine call (and per cache flush)")
    parser.add_argument("--subset", help="RewardBench subset of files whose records carry none")
    parser.add_argument("--domain", help="RM-Bench domain of --scores rows that carry none")
    parser.add_argument("--judgments", help="score a JudgeBench output file or a gram-rr verdict file")
    parser.add_argument("--scores", help="score an RM-Bench result file (score_chosen/score_rejected)")
    parser.add_argument("overrides", nargs="*", help="judge.* / engine.* / scorer.* settings as key=value")
    return parser


def _configs(args: argparse.Namespace) -> tuple[JudgeConfig, EngineConfig, ScorerConfig]:
    configs = section_configs(
        {
            "judge": (JudgeConfig, {}),
            # a tree has no --model; its engine section is not used
            "engine": (EngineConfig, {"backend": args.engine,
                                      "model": args.tree if args.scorer == "tree" else args.model}),
            "scorer": (ScorerConfig, {}),
        },
        args.overrides,
    )
    return configs["judge"], configs["engine"], configs["scorer"]


def _prompt_fits(engine: EngineConfig, judge: JudgeConfig):
    """A predicate: does the judge prompt of a pair leave room for ``max_new_tokens``?"""
    from transformers import AutoTokenizer

    from gram_rr.engines.tokens import prompt_ids
    from gram_rr.models import resolve_model
    from gram_rr.pair_prompt import pair_judge_messages

    if engine.max_model_len is None:
        return None
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(engine.model), trust_remote_code=engine.trust_remote_code)
    budget = engine.max_model_len - judge.max_new_tokens - _LENGTH_MARGIN

    def fits(pair: PreferencePair) -> bool:
        return len(prompt_ids(tokenizer, pair_judge_messages(pair, neutralise=judge.neutralise_tags))) <= budget

    return fits


def run_model(args: argparse.Namespace, both_orders: bool, judge: PairJudge | None = None) -> dict[str, Any]:
    """Judge the benchmark's pairs with ``--model`` and build its report.

    ``judge`` is an already loaded judge for ``--model`` to reuse across several
    benchmarks (left open); by default one is built only when some pair is not cached."""
    judge_config, engine_config, scorer_config = _configs(args)
    pairs = workloads.load_workload(
        args.benchmark, args.data, limit=args.limit, subset=args.subset, columns=args.columns, labels=args.label_values
    )
    kind = judge_kind(args)
    model = args.tree if kind == "tree" else args.model
    settings: dict[str, Any] = {"model": model, "votes": args.votes, "both_orders": both_orders}
    if kind == "tree":
        settings["tree"] = {"attributes": args.attributes, "verdicts": args.tree_verdicts}
    elif args.scorer:
        settings["scorer"] = to_dict(scorer_config)
    else:
        settings["judge"] = {k: v for k, v in to_dict(judge_config).items() if k not in ("votes", "both_orders")}
    cache = VerdictCache(f"{args.out}/verdicts.jsonl", settings)
    fits = None if args.scorer else _prompt_fits(engine_config, judge_config)
    start = time.perf_counter()
    owned = judge is None
    try:
        if owned and any(p not in cache for p in pairs):
            if kind == "tree":
                judge = tree_scorer(args)
            elif args.scorer:
                from gram_rr.scalar import RewardModelScorer

                judge = RewardModelScorer.from_pretrained(args.model, **to_dict(scorer_config))
            else:
                from gram_rr.engines import build_engine
                from gram_rr.judge import RewardReasoner

                judge = RewardReasoner(build_engine(engine_config), judge_config)
        verdicts = judge_pairs(
            judge, pairs, votes=args.votes, both_orders=both_orders, batch_size=args.batch_size, cache=cache,
            fits=fits, desc=args.benchmark,
        )
    finally:
        if owned and judge is not None:
            judge.close()
    result = workloads.report(args.benchmark, pairs, verdicts, TIE_CREDIT[kind], by_probability=kind in BY_PROBABILITY)
    result["model"] = model
    result["run"] = {
        "data": " ".join(args.data),
        "pairs": len(pairs),
        "votes": args.votes,
        "both_orders": both_orders,
        "not_judged_too_long": sum(not v.votes for v in verdicts),
        "generated_tokens": sum(vote.num_tokens for v in verdicts for vote in v.votes),
        "seconds_this_call": round(time.perf_counter() - start, 1),
        **({"scorer": args.scorer} if args.scorer else {"max_new_tokens": judge_config.max_new_tokens,
                                                         "max_model_len": engine_config.max_model_len,
                                                         "engine": engine_config.backend}),
        "judge_kind": kind,
        "model_kind": model_kind(args),
        "tie_rule": workloads.tie_rule(args.benchmark, kind),
    }
    return result


def judge_kind(args: argparse.Namespace) -> str:
    """``generative``, ``scalar`` or ``tree``: the kind of model, which sets RewardBench's tie credit."""
    return {"scalar": "scalar", "tree": "tree"}.get(args.scorer or "", "generative")


def model_kind(args: argparse.Namespace) -> str:
    """The model kind a comparison column states: a generative reasoner, a scalar RM (LDL or a
    sequence classifier, e.g. Bradley-Terry from ``--role scalar``) or a decision tree (and what it reads)."""
    if args.scorer == "tree":
        from gram_rr.analyze import load_tree

        return "decision tree: " + ", ".join(load_tree(args.tree).spec.groups)
    if args.scorer == "scalar":
        from gram_rr.ldl.model import is_ldl_folder

        return "scalar RM: LDL" if is_ldl_folder(args.model) else "scalar RM: sequence classifier"
    return "generative reasoner"


def tree_scorer(args: argparse.Namespace) -> PairJudge:
    """The :class:`gram_rr.analyze.TreeScorer` of ``--tree`` with its ``--attributes`` / ``--tree-verdicts``;
    a tree that reads inputs not given is refused before judging."""
    from gram_rr.analyze import TreeScorer, load_attributes, load_tree
    from gram_rr.analyze.judgments import load_judge_verdicts

    tree = load_tree(args.tree)
    needs = {"attributes": ("--attributes", args.attributes), "probability": ("--tree-verdicts", args.tree_verdicts)}
    for group in tree.spec.groups:
        if group in needs and needs[group][1] is None:
            raise ValueError(f"{args.tree} reads the {group!r} features: pass {needs[group][0]} FILE")
    attributes = load_attributes(args.attributes) if args.attributes else None
    verdicts = load_judge_verdicts(args.tree_verdicts) if args.tree_verdicts else None
    return TreeScorer(tree, attributes=attributes, verdicts=verdicts)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    default_orders = args.scorer == "tree" or args.benchmark == "judgebench"
    both_orders = default_orders if args.both_orders is None else args.both_orders
    try:
        if args.judgments:
            if existing.detect_judgments_format(args.judgments) == "judgebench":
                if args.benchmark != "judgebench":
                    raise ValueError("a JudgeBench output file is scored with --benchmark judgebench")
                result = existing.score_judgebench_outputs(args.judgments)
            else:
                if not args.data:
                    raise ValueError("scoring a verdict file needs the --data it was judged on")
                result = existing.score_verdict_file(
                    args.benchmark, args.judgments, args.data, limit=args.limit, subset=args.subset,
                    columns=args.columns, labels=args.label_values,
                )
            result["run"] = {"judgments": args.judgments, **result.get("run", {})}
        elif args.scores:
            if args.benchmark != "rmbench":
                raise ValueError("--scores takes an RM-Bench result file: use --benchmark rmbench")
            result = existing.score_rmbench_results(args.scores, args.domain)
            result["run"] = {"scores": args.scores}
        else:
            tree_inputs = [flag for flag in ("tree", "attributes", "tree_verdicts") if getattr(args, flag)]
            if tree_inputs and args.scorer != "tree":
                raise ValueError(f"--{tree_inputs[0].replace('_', '-')} goes with --scorer tree")
            if args.scorer == "tree" and not args.tree:
                raise ValueError("--scorer tree needs --tree TREE.json (python -m gram_rr.analyze tree --out DIR)")
            if not (args.tree or args.model) or not args.data or not args.out:
                raise ValueError("running a model needs --model, --data and --out (with --scorer tree: --tree "
                                 "instead of --model; or pass --judgments / --scores)")
            if args.votes < 1 or args.batch_size < 1:
                raise ValueError("--votes and --batch-size must be >= 1")
            result = run_model(args, both_orders)
    except (ConfigError, ValueError, FileNotFoundError) as err:
        if debug_requested():
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(markdown(result))
    if args.out:
        paths = write_report(args.out, result)
        print("wrote " + ", ".join(str(p) for p in paths.values()), file=sys.stderr)
    return 0
