"""Generation stages in chunks: same bytes as one chunk, resumed after a kill or a torn write, engine not re-asked.

The engines here are scripted and deterministic: a sample is a hash of (prompt, sample index),
and for the "seeded" engine also of ``SamplingConfig.seed``, like an engine that honours
per-request seeds. Run as a script (``python tests/test_chunked_stages.py RUN STAGE N``) the
file runs one stage whose engine SIGKILLs its own process at the start of chunk N.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gram_rr.config import ConfigError
from gram_rr.engines.base import Completion, SamplingConfig
from gram_rr.parsing import format_judgment
from gram_rr.prompts import judge_messages
from gram_rr.selftrain.chunks import ChunkLog, pairs_digest
from gram_rr.selftrain.filters import normalise
from gram_rr.selftrain.recipe import DEFAULT_RECIPE, DataConfig, PredictConfig, ProofConfig, SelfTrainRecipe, load_recipe
from gram_rr.selftrain.rundir import RunDirectory
from gram_rr.selftrain.stages import Pipeline

LABELED, UNLABELED, CHUNK = 10, 11, 3  # neither a multiple of the chunk: the last chunk is short
PROVED_ORDERS = 2  # order_augment=prove (the recipe default): a proofs stage proves every pair in both A/B orders
OUTPUT = {"proofs-0": "proved.jsonl", "predict-1": "predicted.jsonl", "proofs-1": "proved.jsonl"}


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts``."""
    return int.from_bytes(hashlib.sha256(json.dumps(parts).encode()).digest()[:8], "big") / 2**64


class ScriptedEngine:
    """Judge or prover samples as a hash of the prompt and sample index (and the seed when ``seeded``)."""

    def __init__(self, slot: "ScriptedSlot", role: str):
        self.slot, self.role = slot, role

    def generate(self, conversations, sampling: SamplingConfig):
        assert sampling.seed is not None, "every chunk samples with its own seed"
        self.slot.calls.append((self.role, len(conversations), sampling.seed))
        if self.slot.kill_at is not None and len(self.slot.calls) > self.slot.kill_at:
            self.slot.die()
        seed = sampling.seed if self.slot.seeded else None
        sample = self._vote if self.role == "judge" else self._proof
        return [[sample(c[-1]["content"], j, seed) for j in range(sampling.n)] for c in conversations]

    def _vote(self, prompt: str, j: int, seed: int | None) -> Completion:
        u = unit(prompt, j, seed)
        if u > 0.95:  # an abstention
            return Completion("I cannot tell.", num_tokens=5, logprob=-3.0, finish_reason="stop")
        right = self.slot.preferences[prompt]
        answer = right if u < 0.85 else {"A": "B", "B": "A"}[right]
        p_a = 0.05 + 0.9 * unit(prompt, j, seed, "p")
        text = format_judgment(f"Feedback: vote {j} compares both responses step by step ({u:.4f}).", answer)
        return Completion(text, num_tokens=30, logprob=-5.0 - u, finish_reason="stop",
                          answer_logprobs={"A": math.log(p_a), "B": math.log(1 - p_a)})

    def _proof(self, prompt: str, j: int, seed: int | None) -> Completion:
        u = unit(prompt, j, seed)
        if u < 0.6:  # a small pool of proofs, so different pairs (and chunks) end with the same one
            rationale = f"Feedback: the shared proof number {int(u * 5)} shows the chosen response is right."
        else:
            rationale = f"Feedback: proof {u:.6f} checks each step and shows the chosen response is right."
        answer = "A" if unit(prompt, j, seed, "answer") < 0.5 else "B"
        shared = u < 0.6  # a shared proof scores best, so pairs (by pigeonhole) keep the same one: duplicates
        logprob = -1.0 - unit(prompt, j, seed, "lp") if shared else -5.0 - 50 * unit(prompt, j, seed, "lp")
        return Completion(format_judgment(rationale, answer), num_tokens=20 + int(300 * unit(prompt, j, seed, "len")),
                          logprob=logprob, finish_reason="stop")

    def score(self, conversations, continuations):
        assert all(c is None for c in conversations), "samples carry log p(z|s,l): only log p(z) is scored"
        return [-60.0 - 40 * unit(text) for text in continuations]

    def close(self):
        pass


class ScriptedSlot:
    """Stands in for the pipeline's EngineSlot; records every generate call (role, prompts, seed)."""

    def __init__(self, pipeline: Pipeline, seeded: bool, kill_at: int | None = None, how: str = "raise"):
        self.seeded, self.kill_at, self.how = seeded, kill_at, how
        self.calls: list[tuple[str, int, int]] = []
        self.preferences = {}  # judge prompt -> the letter of the gold-better response as shown
        for pair in pipeline.round_pairs(1):
            gold = pair.metadata["gold_label"]
            self.preferences[judge_messages(pair.question, pair.response_a, pair.response_b)[0]["content"]] = gold
            self.preferences[judge_messages(pair.question, pair.response_b, pair.response_a)[0]["content"]] = (
                "B" if gold == "A" else "A")

    def get(self, model: str) -> ScriptedEngine:
        return ScriptedEngine(self, "prover" if Path(model).parent.name == "prover" else "judge")

    def release(self) -> None:
        pass

    def die(self) -> None:
        if self.how == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("engine died")


def open_pipeline(root: Path, chunk: int) -> Pipeline:
    recipe = SelfTrainRecipe(
        output_dir=str(root), rounds=1, use_ray=False, generation_chunk_pairs=chunk,
        data=DataConfig(seed_size=2, labeled_size=LABELED, unlabeled_per_round=UNLABELED, test_size=2),
        proofs=ProofConfig(samples=3), predict=PredictConfig(votes=2),
    )
    assert recipe.order_augment == "prove"  # what PROVED_ORDERS counts on
    return Pipeline(recipe, RunDirectory(root, "test-recipe", {}))


def run_stages(root: Path, chunk: int, names, seeded: bool, kill_at: int | None = None, how: str = "raise"):
    """Run stages by name in a fresh pipeline; returns the slot (its calls) and the stage infos."""
    pipeline = open_pipeline(root, chunk)
    slot = pipeline.engines = ScriptedSlot(pipeline, seeded, kill_at, how)
    try:
        stages = {s.name: s for s in pipeline.stages()}
        return slot, [pipeline.execute(stages[name]) for name in names]
    finally:
        pipeline.run.close()


def output(root: Path, stage: str) -> bytes:
    return (root / "stages" / stage / OUTPUT[stage]).read_bytes()


def chunk_of_records(log: Path) -> dict[str, int]:
    return {json.loads(line)["record"]["id"]: json.loads(line)["chunk"]
            for line in log.read_text().splitlines() if "record" in json.loads(line)}


def test_chunked_stages_write_the_bytes_of_one_chunk(tmp_path):
    """Proofs, pseudo-labels and the proofs of those, chunked by 3 or in one chunk: the same files."""
    names = ["proofs-0", "predict-1", "proofs-1"]
    one_slot, one_infos = run_stages(tmp_path / "one", 4096, names, seeded=False)
    slot, infos = run_stages(tmp_path / "chunked", CHUNK, names, seeded=False)
    for name in names:
        assert output(tmp_path / "chunked", name) == output(tmp_path / "one", name), name
    assert [i["chunks"] for i in one_infos] == [1, 1, 1]
    assert [i["chunks"] for i in infos] == [math.ceil(PROVED_ORDERS * LABELED / CHUNK), math.ceil(UNLABELED / CHUNK),
                                            math.ceil(PROVED_ORDERS * infos[1]["kept"] / CHUNK)]
    strip = lambda info: {k: v for k, v in info.items() if k not in ("chunks", "seconds")}
    assert [strip(i) for i in infos] == [strip(i) for i in one_infos]  # every count and rate too
    # The engine never saw more than one chunk of pairs (both orders for the judge).
    assert max(n for role, n, _ in slot.calls if role == "prover") <= CHUNK
    assert max(n for role, n, _ in slot.calls if role == "judge") <= 2 * CHUNK
    # The runs exercised what must not change: drops, a balance, and a proof chosen in two chunks.
    proofs0, predict = infos[0], infos[1]
    assert 0 < predict["kept"] < UNLABELED and sum(predict["dropped"].values()) > 0
    assert proofs0["proof_samples_rejected"]["duplicate"] > 0 and proofs0["proof_samples_rejected"]["wrong_answer"] > 0
    chunks_of = {}
    for line in (tmp_path / "chunked" / "stages" / "proofs-0" / "chunks.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry.get("record", {}).get("rationale"):
            chunks_of.setdefault(normalise(entry["record"]["rationale"]), set()).add(entry["chunk"])
    assert any(len(chunks) > 1 for chunks in chunks_of.values()), "no best proof was shared across chunks"


@pytest.mark.parametrize("stage", ["proofs-0", "predict-1"])
def test_a_stage_that_dies_mid_way_resumes_to_the_same_bytes(tmp_path, stage):
    """The engine dies at the start of chunk 2 (one generate call per chunk); the rerun starts there."""
    chunks = math.ceil((PROVED_ORDERS * LABELED if stage == "proofs-0" else UNLABELED) / CHUNK)
    run_stages(tmp_path / "whole", CHUNK, [stage], seeded=True)
    with pytest.raises(RuntimeError, match="engine died"):
        run_stages(tmp_path / "died", CHUNK, [stage], seeded=True, kill_at=2)
    assert not (tmp_path / "died" / "stages" / stage).exists()
    log = tmp_path / "died" / "stages" / f".{stage}.partial" / "chunks.jsonl"
    assert set(chunk_of_records(log).values()) == {0, 1}
    slot, [info] = run_stages(tmp_path / "died", CHUNK, [stage], seeded=True)
    assert len(slot.calls) == chunks - 2  # finished chunks are not generated again
    assert info["chunks"] == chunks and info["chunks_resumed"] == 2
    assert output(tmp_path / "died", stage) == output(tmp_path / "whole", stage)
    assert (tmp_path / "died" / "stages" / stage / "chunks.jsonl").read_bytes() == (
        tmp_path / "whole" / "stages" / stage / "chunks.jsonl").read_bytes()


def test_a_sigkilled_run_resumes_to_the_bytes_of_an_uninterrupted_run(tmp_path):
    """A real SIGKILL of the process inside predict-1, at the start of its third chunk."""
    run_stages(tmp_path / "whole", CHUNK, ["predict-1"], seeded=True)
    killed = tmp_path / "killed"
    child = subprocess.run([sys.executable, __file__, str(killed), "predict-1", "2"], capture_output=True, text=True,
                           timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert child.returncode == -signal.SIGKILL, child.stderr
    manifest = json.loads((killed / "manifest.json").read_text())
    assert "predict-1" not in manifest["stages"]
    slot, [info] = run_stages(killed, CHUNK, ["predict-1"], seeded=True)
    assert info["chunks_resumed"] == 2 and len(slot.calls) == math.ceil(UNLABELED / CHUNK) - 2
    assert output(killed, "predict-1") == output(tmp_path / "whole", "predict-1")


def tear_end_line(log: Path) -> int:
    """Cut the last line (chunk 1's end line) in half: chunk 1 must be redone."""
    data = log.read_bytes()
    log.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 12])
    return 1


def tear_a_record(log: Path) -> int:
    """Keep chunk 0 and half of chunk 1's first record line."""
    lines = log.read_bytes().splitlines(keepends=True)
    end0 = next(i for i, line in enumerate(lines) if b'"done"' in line)
    log.write_bytes(b"".join(lines[: end0 + 1]) + lines[end0 + 1][:20])
    return 1


def add_records_without_end(log: Path) -> int:
    """Chunk 2's records written in full, but not its end line (killed between the two)."""
    with open(log, "ab") as out:
        out.write(b'{"chunk": 2, "record": {"id": "x"}}\n')
    return 2


@pytest.mark.parametrize("tear", [tear_end_line, tear_a_record, add_records_without_end])
def test_a_torn_chunk_is_detected_and_redone(tmp_path, tear):
    stage, chunks = "proofs-0", math.ceil(PROVED_ORDERS * LABELED / CHUNK)
    run_stages(tmp_path / "whole", CHUNK, [stage], seeded=True)
    with pytest.raises(RuntimeError, match="engine died"):
        run_stages(tmp_path / "torn", CHUNK, [stage], seeded=True, kill_at=2)
    intact = tear(tmp_path / "torn" / "stages" / f".{stage}.partial" / "chunks.jsonl")
    slot, [info] = run_stages(tmp_path / "torn", CHUNK, [stage], seeded=True)
    assert info["chunks_resumed"] == intact and len(slot.calls) == chunks - intact
    assert output(tmp_path / "torn", stage) == output(tmp_path / "whole", stage)


def test_chunk_log_is_not_resumed_against_other_pairs(tmp_path):
    from gram_rr.data.records import PreferencePair

    pairs = [PreferencePair(id=f"p{i}", question="q", response_a="a", response_b="b") for i in range(4)]
    log = ChunkLog(tmp_path / "chunks.jsonl")
    log.append(0, pairs_digest(pairs[:2]), [{"id": "p0"}, {"id": "p1"}])
    log.append(1, pairs_digest(pairs[2:]), [{"id": "p2"}, {"id": "p3"}])
    assert ChunkLog(log.path).resume([pairs_digest(pairs[:2]), pairs_digest(pairs[2:])]) == 2
    other = pairs[:2] + [PreferencePair(id="p9", question="q", response_a="a", response_b="b")] + pairs[3:]
    assert log.resume([pairs_digest(other[:2]), pairs_digest(other[2:])]) == 1
    assert [r["id"] for r in log.records()] == ["p0", "p1"]


def test_generation_chunk_pairs_is_range_checked():
    assert load_recipe(DEFAULT_RECIPE).generation_chunk_pairs >= 128  # the CPU recipes' stages: one chunk
    with pytest.raises(ConfigError, match="generation_chunk_pairs: 0 is out of range"):
        load_recipe(DEFAULT_RECIPE, ["generation_chunk_pairs=0"])


if __name__ == "__main__":  # the child of the SIGKILL test
    root, stage_name, kill_at = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    run_stages(root, CHUNK, [stage_name], seeded=True, kill_at=kill_at, how="sigkill")
