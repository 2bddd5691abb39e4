"""The cpu-smoke recipe end to end, and a run killed mid-stage that resumes to the data of an uninterrupted run."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.model, pytest.mark.vllm]

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "recipes" / "cpu-smoke.yaml"


def selftrain(output_dir: Path, *extra: str) -> subprocess.Popen:
    """Start the CLI in its own process group (so a kill reaches the vLLM engine process too)."""
    cmd = [sys.executable, "-m", "gram_rr.selftrain", "--recipe", str(SMOKE), f"output_dir={output_dir}", *extra]
    log = open(output_dir.with_suffix(".log"), "ab")
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def finish(proc: subprocess.Popen, output_dir: Path, timeout: float = 1500) -> None:
    code = proc.wait(timeout=timeout)
    assert code == 0, output_dir.with_suffix(".log").read_text()[-4000:]


def stage_files(run: Path) -> dict[str, str]:
    """Every data artifact (not model weights) of the published stages, by relative path."""
    return {
        str(path.relative_to(run)): path.read_text()
        for path in sorted((run / "stages").rglob("*.jsonl"))
        if not any(part.startswith(".") for part in path.relative_to(run).parts)  # skip .partial work folders
    }


def ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("smoke") / "run"
    run.parent.mkdir(exist_ok=True)
    finish(selftrain(run), run)
    return run


def test_smoke_run_finishes_with_report(smoke_run):
    manifest = json.loads((smoke_run / "manifest.json").read_text())
    expected = ["prover", "proofs-0", "reasoner-0", "eval-0", "predict-1", "proofs-1", "reasoner-1", "eval-1",
                "control", "eval-control"]
    assert list(manifest["stages"]) == expected
    for name in expected:
        assert (smoke_run / "stages" / name).is_dir()
    for name in ("prover", "reasoner-0", "reasoner-1", "control"):
        model = smoke_run / "stages" / name / "model"
        assert (model / "model.safetensors").is_file() and (model / "config.json").is_file()
        assert manifest["stages"][name]["trained_by"] == "Ray Train, 1 worker(s)"
    predict = manifest["stages"]["predict-1"]
    assert predict["predicted"] == 8 and predict["kept"] + sum(predict["dropped"].values()) == 8
    assert "pseudo_label_accuracy" in predict
    eval_metrics = manifest["stages"]["eval-1"]["metrics"]
    assert eval_metrics["n"] == 8 and eval_metrics["votes"] == 16  # 8 pairs x 2 orders, greedy
    # The demo pairs name their task family: held-out accuracy and kept pseudo-labels are also counted per family.
    assert sum(group["n"] for group in eval_metrics["accuracy_by_group"].values()) == 8
    kept_by_group = predict.get("pseudo_labels_kept_by_group", {})
    assert sum(group["kept"] for group in kept_by_group.values()) == predict["kept"]
    assert all(0 <= group["right"] <= group["kept"] for group in kept_by_group.values())
    merged = (smoke_run / "stages" / "reasoner-1" / "merged.jsonl").read_text().splitlines()
    assert len(merged) == manifest["stages"]["reasoner-1"]["merged"]
    # The same-compute control trained on as many pairs as round 1, all from the stage-0 set.
    control = manifest["stages"]["control"]
    assert control["pairs"] == control["matches_rounds_pairs"] == manifest["stages"]["reasoner-1"]["pairs"]
    # order_augment=prove: the labeled pairs were proved in both orders, and training adds no rewritten swaps.
    reasoner0 = manifest["stages"]["reasoner-0"]
    assert manifest["stages"]["proofs-0"]["pairs_in"] == 2 * yaml.safe_load(SMOKE.read_text())["data"]["labeled_size"]
    trained0 = [json.loads(line)["id"] for line in (smoke_run / "stages" / "reasoner-0" / "trained.jsonl").read_text().splitlines()]
    assert reasoner0["order_augment"] == {"mode": "prove", "proved_swaps": sum(i.endswith("#swapped") for i in trained0)}
    assert reasoner0["examples"] == reasoner0["pairs"] == len(trained0)
    assert reasoner0["merged"] - reasoner0["dropped_label_surplus"] == reasoner0["pairs"]
    report = (smoke_run / "report.md").read_text()
    assert "| round |" in report and "| 1 |" in report and "| control |" in report
    assert "Held-out accuracy % by group" in report
    assert (smoke_run / "report.png").stat().st_size > 1000
    assert not list((smoke_run / "stages").glob(".*.partial"))


def test_rerun_of_a_finished_run_does_nothing(smoke_run):
    before = (smoke_run / "manifest.json").read_text()
    finish(selftrain(smoke_run), smoke_run, timeout=300)
    after = json.loads((smoke_run / "manifest.json").read_text())
    assert after["stages"] == json.loads(before)["stages"]


def test_changed_recipe_is_refused(smoke_run):
    proc = selftrain(smoke_run, "predict.min_vote_share=0.9")
    assert proc.wait(timeout=300) != 0
    assert "--new-run" in smoke_run.with_suffix(".log").read_text()


def weights_digest(run: Path, stage: str) -> str:
    return hashlib.sha256((run / "stages" / stage / "model" / "model.safetensors").read_bytes()).hexdigest()


def test_killed_mid_stage_resumes_to_the_data_of_an_uninterrupted_run(smoke_run, tmp_path):
    run = tmp_path / "killed"
    proc = selftrain(run)
    # Wait until the reasoner-0 training stage has finished writing a checkpoint, then kill -9
    # (often while the next one is being written: resuming must drop that half-written one).
    checkpoints = run / "stages" / ".reasoner-0.partial"
    deadline = time.time() + 1500
    while not list(checkpoints.rglob("checkpoint-*/trainer_state.json")):
        assert proc.poll() is None, run.with_suffix(".log").read_text()[-4000:]
        assert time.time() < deadline, "reasoner-0 never wrote a checkpoint"
        time.sleep(1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed = json.loads((run / "manifest.json").read_text())
    assert "reasoner-0" not in killed["stages"] and "proofs-0" in killed["stages"]
    published = stage_files(run)
    finish(selftrain(run), run)
    resumed = json.loads((run / "manifest.json").read_text())
    assert resumed["stages"]["reasoner-0"]["metrics"]["resumed_from"], "training did not resume from its checkpoint"
    # Stages finished before the kill are neither redone nor changed.
    for name, info in killed["stages"].items():
        assert resumed["stages"][name] == info
    after = stage_files(run)
    assert {path: after[path] for path in published} == published
    # No row lost or duplicated: each round trains on the earlier data plus that round's proofs.
    stages = run / "stages"
    seed = ids(stages / "reasoner-0" / "merged.jsonl")[: -len(ids(stages / "proofs-0" / "proved.jsonl")) or None]
    assert ids(stages / "reasoner-0" / "merged.jsonl") == seed + ids(stages / "proofs-0" / "proved.jsonl")
    merged = ids(stages / "reasoner-1" / "merged.jsonl")
    assert merged == ids(stages / "reasoner-0" / "merged.jsonl") + ids(stages / "proofs-1" / "proved.jsonl")
    assert len(set(merged)) == len(merged)
    assert len(seed) == 24  # cpu-smoke: data.seed_size
    # The same final data as the uninterrupted smoke run (same recipe and seed): every stage's
    # JSONL (proofs, pseudo-labels, merged training sets, evaluation outputs) and the weights.
    assert stage_files(run) == stage_files(smoke_run)
    for name in ("prover", "reasoner-0", "reasoner-1"):
        assert weights_digest(run, name) == weights_digest(smoke_run, name), name
