"""Scale simulation of the GPU recipes' generation stages on a CPU: driver memory and time per stage.

Writes a synthetic unlabeled split and labeled split (demo pairs repeated under new ids) into a
temporary folder, then runs the pipeline's data loading and its generation stages (``proofs-0``,
``predict-1``, ``proofs-1``) with the scripted engine of ``tests/test_chunked_stages.py``
(instant completions in the judge's and the prover's formats) in place of vLLM. Training is
not run: the generation stages only need the prover's and reasoner's folder names. Each split
size runs in its own process, which samples its RSS every 20 ms and reports the peak per step.

    python scripts/scale_simulation.py                       # 500k / 100k split, then 10x smaller
    python scripts/scale_simulation.py --round 500000 --labeled-round 100000 --smaller 0   # full GPU round
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_chunked_stages import ScriptedEngine, unit  # noqa: E402  (the suite's scripted engine)

from gram_rr.selftrain.recipe import DataConfig, PredictConfig, ProofConfig, SelfTrainRecipe  # noqa: E402
from gram_rr.selftrain.rundir import RunDirectory  # noqa: E402
from gram_rr.selftrain.stages import Pipeline  # noqa: E402

STAGES = ["proofs-0", "predict-1", "proofs-1"]


class HashedPreferences(dict):
    """The scripted judge's gold letter for any prompt, from a hash (no table of the whole split)."""

    def __missing__(self, prompt: str) -> str:
        return "A" if unit(prompt, "gold") < 0.5 else "B"


class FastSlot:
    """The pipeline's engine slot, lending the scripted engine (prover or judge by the model's folder)."""

    def __init__(self):
        self.seeded, self.kill_at = True, None
        self.calls: list[tuple[str, int, int]] = []
        self.preferences = HashedPreferences()

    def get(self, model: str) -> ScriptedEngine:
        return ScriptedEngine(self, "prover" if Path(model).parent.name == "prover" else "judge")

    def release(self) -> None:
        self.calls.clear()


class PeakRss:
    """The process's resident set size sampled in a thread; ``peak()`` since the last ``reset()``."""

    def __init__(self, interval: float = 0.02):
        self.process, self.interval = psutil.Process(), interval
        self._peak = self.process.memory_info().rss
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._peak = max(self._peak, self.process.memory_info().rss)

    def reset(self) -> int:
        self._peak = rss = self.process.memory_info().rss
        return rss

    def peak(self) -> int:
        return max(self._peak, self.process.memory_info().rss)

    def stop(self) -> None:
        self._stop.set()


def write_split(source: Path, target: Path, n: int, kind: str) -> None:
    """``n`` pairs cycling the demo file's records under new ids (labels and gold labels kept)."""
    records = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    with open(target, "w", encoding="utf-8") as out:
        for i, record in zip(range(n), itertools.cycle(records)):
            out.write(json.dumps({**record, "id": f"sim-{kind}-{i:07d}"}, ensure_ascii=False) + "\n")


def child(args: argparse.Namespace) -> None:
    """One split size: build the data, load the pipeline, run the generation stages; print JSON rows."""
    sampler = PeakRss()
    rows = []
    with tempfile.TemporaryDirectory(prefix="gram-rr-scale-") as tmp:
        tmp = Path(tmp)
        demo = ROOT / "data" / "demo"
        started = time.time()
        write_split(demo / "unlabeled.jsonl", tmp / "unlabeled.jsonl", args.unlabeled, "unlabeled")
        write_split(demo / "labeled.jsonl", tmp / "labeled.jsonl", args.labeled, "labeled")
        sizes = {name: (tmp / f"{name}.jsonl").stat().st_size for name in ("unlabeled", "labeled")}
        rows.append({"step": "write splits", "seconds": time.time() - started, "files_mb": {
            k: round(v / 2**20, 1) for k, v in sizes.items()}})
        recipe = SelfTrainRecipe(
            output_dir=str(tmp / "run"), rounds=1, use_ray=False, generation_chunk_pairs=args.chunk,
            data=DataConfig(seed=str(demo / "seed.jsonl"), labeled=str(tmp / "labeled.jsonl"),
                            unlabeled=str(tmp / "unlabeled.jsonl"), test=str(demo / "test.jsonl"), seed_size=8,
                            labeled_size=args.labeled_round, unlabeled_per_round=args.round, test_size=8),
            proofs=ProofConfig(samples=4, temperature=0.8, max_new_tokens=1024),
            predict=PredictConfig(votes=4, both_orders=True, temperature=0.8, max_new_tokens=1024,
                                  min_vote_share=0.75, require_order_agreement=True),
        )
        before = sampler.reset()
        started = time.time()
        pipeline = Pipeline(recipe, RunDirectory(recipe.output_dir, "scale-simulation", {}))
        rows.append({"step": "load data (Pipeline)", "seconds": time.time() - started, "rss_start_mb": before / 2**20,
                     "rss_peak_mb": sampler.peak() / 2**20})
        pipeline.engines = FastSlot()
        try:
            stages = {s.name: s for s in pipeline.stages()}
            for name in STAGES:
                before = sampler.reset()
                started = time.time()
                info = pipeline.execute(stages[name])
                rows.append({"step": name, "seconds": time.time() - started, "rss_start_mb": before / 2**20,
                             "rss_peak_mb": sampler.peak() / 2**20, "chunks": info["chunks"],
                             "pairs": info.get("pairs_in", info.get("predicted"))})
        finally:
            pipeline.run.close()
    sampler.stop()
    print(json.dumps(rows))


def table(label: str, rows: list[dict]) -> list[str]:
    lines = [f"### {label}", "", "| step | pairs | chunks | wall s | RSS at start MiB | peak RSS MiB | growth MiB |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        if "rss_peak_mb" not in row:
            lines.append(f"| {row['step']} ({row['files_mb']} MiB) | | | {row['seconds']:.1f} | | | |")
            continue
        growth = row["rss_peak_mb"] - row["rss_start_mb"]
        lines.append(f"| {row['step']} | {row.get('pairs', '')} | {row.get('chunks', '')} | {row['seconds']:.1f} | "
                     f"{row['rss_start_mb']:.0f} | {row['rss_peak_mb']:.0f} | {growth:+.0f} |")
    return lines + [""]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unlabeled", type=int, default=500_000, help="pairs in the unlabeled split")
    parser.add_argument("--labeled", type=int, default=100_000, help="pairs in the labeled split")
    parser.add_argument("--round", type=int, default=50_000, help="unlabeled pairs predicted in round 1")
    parser.add_argument("--labeled-round", type=int, default=10_000, help="labeled pairs proved in stage 0")
    parser.add_argument("--chunk", type=int, default=4096, help="generation_chunk_pairs (the GPU recipes' default)")
    parser.add_argument("--smaller", type=int, default=10, help="also run splits this many times smaller (0: no)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return
    runs = [(args.unlabeled, args.labeled)]
    if args.smaller:
        runs.append((args.unlabeled // args.smaller, args.labeled // args.smaller))
    print(f"chunk {args.chunk} pairs; stage sizes: proofs-0 {args.labeled_round} labeled pairs, predict-1 "
          f"{args.round} unlabeled pairs (4 votes x 2 orders), proofs-1 the kept predictions (4 samples)\n")
    for unlabeled, labeled in runs:
        command = [sys.executable, __file__, "--child", "--unlabeled", str(unlabeled), "--labeled", str(labeled),
                   "--round", str(args.round), "--labeled-round", str(args.labeled_round), "--chunk", str(args.chunk)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            sys.exit(done.stderr)
        rows = json.loads(done.stdout.strip().splitlines()[-1])
        print("\n".join(table(f"split: {unlabeled} unlabeled, {labeled} labeled pairs", rows)))


if __name__ == "__main__":
    main()
