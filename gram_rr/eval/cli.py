"""Evaluate a reward model on a benchmark, or score results that already exist.

    python -m gram_rr.eval --model smollm2-135m-instruct --benchmark judgebench \\
        --data ../shared/data/judgebench/judgebench_claude.jsonl --out runs/eval/jb \\
        [--votes 16] [--both-orders] [--limit N] [--engine vllm|hf] [--scorer scalar] \\
        [judge.max_new_tokens=512 engine.max_model_len=8192 scorer.batch_size=8 ...]
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
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from gram_rr.cli_args import overrides_epilog
from gram_rr.config import ConfigError, section_configs, to_dict
from gram_rr.data.columns import add_column_arguments
from gram_rr.data.records import PreferencePair
from gram_rr.engines.config import BACKENDS, EngineConfig
from gram_rr.eval import existing, workloads
from gram_rr.eval.cache import VerdictCache
from gram_rr.eval.report import markdown, write_report
from gram_rr.eval.rewardbench import GENERATIVE_TIE_CREDIT, SCALAR_TIE_CREDIT
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
    parser.add_argument("--scorer", choices=("scalar",), help="evaluate --model as a scalar reward model")
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
            "engine": (EngineConfig, {"backend": args.engine, "model": args.model}),
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
        return len(prompt_ids(tokenizer, pair_judge_messages(pair))) <= budget

    return fits


def run_model(args: argparse.Namespace, both_orders: bool, judge: PairJudge | None = None) -> dict[str, Any]:
    """Judge the benchmark's pairs with ``--model`` and build its report.

    ``judge`` is an already loaded judge for ``--model`` to reuse across several
    benchmarks (left open); by default one is built only when some pair is not cached."""
    judge_config, engine_config, scorer_config = _configs(args)
    pairs = workloads.load_workload(
        args.benchmark, args.data, limit=args.limit, subset=args.subset, columns=args.columns, labels=args.label_values
    )
    settings: dict[str, Any] = {"model": args.model, "votes": args.votes, "both_orders": both_orders}
    if args.scorer:
        settings["scorer"] = to_dict(scorer_config)
    else:
        settings["judge"] = {k: v for k, v in to_dict(judge_config).items() if k not in ("votes", "both_orders")}
    cache = VerdictCache(f"{args.out}/verdicts.jsonl", settings)
    fits = None if args.scorer else _prompt_fits(engine_config, judge_config)
    start = time.perf_counter()
    owned = judge is None
    try:
        if owned and any(p not in cache for p in pairs):
            if args.scorer:
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
    tie_credit = SCALAR_TIE_CREDIT if args.scorer else GENERATIVE_TIE_CREDIT
    result = workloads.report(args.benchmark, pairs, verdicts, tie_credit)
    result["model"] = args.model
    result["run"] = {
        "data": " ".join(args.data),
        "pairs": len(pairs),
        "votes": args.votes,
        "both_orders": both_orders,
        "not_judged_too_long": sum(not v.votes for v in verdicts),
        "generated_tokens": sum(vote.num_tokens for v in verdicts for vote in v.votes),
        "seconds_this_call": round(time.perf_counter() - start, 1),
        **({"scorer": "scalar"} if args.scorer else {"max_new_tokens": judge_config.max_new_tokens,
                                                      "max_model_len": engine_config.max_model_len,
                                                      "engine": engine_config.backend}),
    }
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    both_orders = args.benchmark == "judgebench" if args.both_orders is None else args.both_orders
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
            if not args.model or not args.data or not args.out:
                raise ValueError("running a model needs --model, --data and --out (or pass --judgments / --scores)")
            if args.votes < 1 or args.batch_size < 1:
                raise ValueError("--votes and --batch-size must be >= 1")
            result = run_model(args, both_orders)
    except (ConfigError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(markdown(result))
    if args.out:
        paths = write_report(args.out, result)
        print("wrote " + ", ".join(str(p) for p in paths.values()), file=sys.stderr)
    return 0
