"""Stage names come from one definition, and a reasoner stage keeps the merged set apart from what it trained on."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from gram_rr.data import write_pairs
from gram_rr.selftrain import stage_names
from gram_rr.selftrain.recipe import DataConfig, FilterConfig, SelfTrainRecipe
from gram_rr.selftrain.report import round_rows
from gram_rr.selftrain.rundir import RunDirectory
from gram_rr.selftrain.stages import Pipeline
from gram_rr.training.config import TrainResult

SEED, PROVED_0, PROVED_1, REPLAY = 3, 4, 3, 2


def recipe(root: Path, **fields) -> SelfTrainRecipe:
    data = DataConfig(seed_size=SEED, labeled_size=PROVED_0, unlabeled_per_round=4, test_size=2)
    return SelfTrainRecipe(output_dir=str(root), use_ray=False, data=data, **fields)


def test_the_plan_and_the_report_use_the_one_definition_of_stage_names(tmp_path):
    names = [stage.name for stage in Pipeline(recipe(tmp_path, rounds=2), run=None).stages()]
    assert names == [
        stage_names.EVAL_BASE, stage_names.PROVER, *stage_names.round_stages(0)[1:], *stage_names.round_stages(1),
        *stage_names.round_stages(2), stage_names.CONTROL, stage_names.EVAL_CONTROL,
    ]
    # the run directory's folders and manifest keys, as runs on disk name them
    assert stage_names.round_stages(1) == ("predict-1", "proofs-1", "reasoner-1", "eval-1")
    assert (stage_names.PROVER, stage_names.EVAL_BASE, stage_names.CONTROL, stage_names.EVAL_CONTROL) == (
        "prover", "eval-base", "control", "eval-control")
    assert [name for name in names if stage_names.is_evaluation(name)] == ["eval-base", "eval-0", "eval-1", "eval-2",
                                                                         "eval-control"]
    manifest = {"stages": {name: {"seconds": 60} for name in names}}
    assert [row["round"] for row in round_rows(manifest)] == ["untrained", "0", "1", "2", "control"]


def ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


@pytest.mark.parametrize("reasoner_init", ["continue", "base"])
def test_reasoner_stages_write_the_merged_set_and_the_trained_set(tmp_path, monkeypatch, reasoner_init):
    started_from = []

    def fake_train_sft(config, dataset, output_dir, use_ray=False):
        started_from.append(config.model)
        model = Path(output_dir) / "model"
        model.mkdir(parents=True)
        return TrainResult(str(model), {})

    monkeypatch.setattr("gram_rr.selftrain.stages.train_sft", fake_train_sft)
    run = RunDirectory(tmp_path / "run", "test-recipe", {})
    # label balancing off: it drops pairs from the trained set (tests/test_swap.py tests it)
    no_balance = FilterConfig(balance_labels=False)
    pipeline = Pipeline(recipe(tmp_path / "run", rounds=1, reasoner_init=reasoner_init, replay=REPLAY, filters=no_balance), run)
    try:
        seed = pipeline.seed_pairs
        for k, count in ((0, PROVED_0), (1, PROVED_1)):  # proofs stages as a run publishes them
            work = run.partial(stage_names.proofs(k), keep=False)
            write_pairs(work / "proved.jsonl", [dataclasses.replace(p, id=f"proved{k}-{i}") for i, p in
                                                enumerate((seed * 2)[:count])])
            run.finish(stage_names.proofs(k), work, {})
        plan = {stage.name: stage for stage in pipeline.stages()}
        for k in (0, 1):
            pipeline.execute(plan[stage_names.reasoner(k)])
    finally:
        run.close()
    stages = run.root / "stages"
    reasoner0, reasoner1 = stages / stage_names.reasoner(0), stages / stage_names.reasoner(1)
    proved1 = ids(stages / stage_names.proofs(1) / "proved.jsonl")
    merged0 = [p.id for p in seed] + ids(stages / stage_names.proofs(0) / "proved.jsonl")
    assert ids(reasoner0 / "merged.jsonl") == ids(reasoner0 / "trained.jsonl") == merged0
    assert ids(reasoner1 / "merged.jsonl") == merged0 + proved1
    trained1 = ids(reasoner1 / "trained.jsonl")
    info = run.manifest["stages"][stage_names.reasoner(1)]
    assert info["merged"] == len(merged0) + PROVED_1 and info["pairs"] == len(trained1)
    if reasoner_init == "continue":
        assert trained1[:PROVED_1] == proved1 and len(trained1) == PROVED_1 + REPLAY
        assert set(trained1[PROVED_1:]) <= set(merged0)
        assert started_from[1] == str(reasoner0 / "model")
    else:
        assert trained1 == merged0 + proved1
        assert started_from[1] == started_from[0]
