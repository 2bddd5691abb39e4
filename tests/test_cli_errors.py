"""Every CLI: a config or data error is one clear line and exit status 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gram_rr.config import ConfigError
from gram_rr.selftrain.recipe import DEFAULT_RECIPE, load_recipe

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("override, where", [
    ("data.test_size=-3", "data.test_size: -3 is out of range; allowed: >= 1"),
    ("rounds=-1", "rounds: -1 is out of range"),
    ("predict.votes=0", "predict.votes: 0 is out of range"),
    ("eval.votes=0", "eval.votes: 0 is out of range"),
    ("proofs.samples=0", "proofs.samples: 0 is out of range"),
    ("predict.min_vote_share=7", "predict.min_vote_share: 7.0 is out of range; allowed: in [0.0, 1.0]"),
    ("predict.min_probability_margin=0.7", "predict.min_probability_margin: 0.7 is out of range"),
    ("proofs.temperature=-1", "proofs.temperature: -1.0 is out of range"),
    ("reasoner_train.epochs=-1", "reasoner_train.epochs: -1.0 is out of range"),
    ("prover_train.learning_rate=-0.1", "prover_train.learning_rate: -0.1 is out of range"),
])
def test_out_of_range_fields_are_named_with_their_range(override, where):
    with pytest.raises(ConfigError, match=where.replace("[", r"\[").replace("]", r"\]")):
        load_recipe(DEFAULT_RECIPE, [override])


@pytest.mark.parametrize("argv, message", [
    (["gram_rr.selftrain", "--dry-run", "data.test_size=-3"], "data.test_size: -3 is out of range"),
    (["gram_rr.selftrain", "--dry-run", "nope=1"], "unknown key"),
    (["gram_rr.train", "--role", "reasoner", "--data", "/nonexistent.jsonl", "--output", "/tmp/never"], "/nonexistent.jsonl"),
    (["gram_rr.eval", "--benchmark", "judgebench", "--judgments", "/nonexistent.jsonl"], "/nonexistent.jsonl"),
    (["gram_rr.rerank", "--model", "m", "--input", "/nonexistent.jsonl", "--output", "/tmp/never.jsonl"], "/nonexistent.jsonl"),
    (["gram_rr.data.demo", "--out", "/tmp/never", "--tasks", "nope"], "tasks must be one of"),
])
def test_cli_prints_one_error_and_exits_2(argv, message):
    done = subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_debug_shows_the_traceback():
    argv = [sys.executable, "-m", "gram_rr.selftrain", "--dry-run", "rounds=-1", "--debug"]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "Traceback" in done.stderr


@pytest.mark.parametrize("argv", [
    ["gram_rr.eval", "--benchmark", "judgebench", "--judgments", "/nonexistent.jsonl"],
    ["gram_rr.rerank", "--model", "m", "--input", "/nonexistent.jsonl", "--output", "/tmp/never.jsonl"],
])
@pytest.mark.parametrize("how", ["--debug", "GRAM_RR_DEBUG=1"])
def test_debug_shows_the_traceback_of_errors_a_cli_reports_itself(argv, how):
    env = {**os.environ, "GRAM_RR_DEBUG": "1"} if how == "GRAM_RR_DEBUG=1" else {**os.environ, "GRAM_RR_DEBUG": ""}
    extra = ["--debug"] if how == "--debug" else []
    done = subprocess.run([sys.executable, "-m", *argv, *extra], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode != 0 and "Traceback" in done.stderr and "/nonexistent.jsonl" in done.stderr, done.stderr


def test_recipe_hash_ignores_cluster_and_logging_settings_only():
    from gram_rr.selftrain.recipe import recipe_hash

    base = recipe_hash(load_recipe(DEFAULT_RECIPE))
    for override in ("engine.ray_address=ray://head:10001", "engine.num_engines=4", "reasoner_train.save_steps=7",
                     "prover_train.logging_steps=1", "reasoner_train.report_to=[none]", "rounds=5", "use_ray=false"):
        assert recipe_hash(load_recipe(DEFAULT_RECIPE, [override])) == base, override
    for override in ("reasoner_train.learning_rate=0.001", "reasoner_train.num_workers=2", "data.test_size=10"):
        assert recipe_hash(load_recipe(DEFAULT_RECIPE, [override])) != base, override


def test_dry_run_does_not_mark_stages_of_another_recipe_done(tmp_path):
    import json

    from gram_rr.selftrain.runner import plan_lines

    (tmp_path / "manifest.json").write_text(json.dumps({"recipe_hash": "other", "stages": {"prover": {}}}))
    lines = plan_lines(load_recipe(DEFAULT_RECIPE, [f"output_dir={tmp_path}"]))
    assert any("another recipe (hash other)" in line for line in lines)
    assert not any("[done]" in line for line in lines)
