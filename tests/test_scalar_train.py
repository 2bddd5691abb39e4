"""Bradley-Terry scalar reward models: TRL RewardTrainer on a tiny in-process model, the CLI, the scorer."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from test_prompt_injection import FORGED, smollm2_tokenizer  # noqa: F401

from gram_rr.config import ConfigError
from gram_rr.data import load_pairs
from gram_rr.data.records import PreferencePair
from gram_rr.engines.tokens import special_strings
from gram_rr.scalar import RewardModelScorer
from gram_rr.scalar_tokens import response_ids
from gram_rr.training.recipe import load_train_config
from gram_rr.training.reward import ScalarTrainConfig, preference_triples, reward_examples, train_reward

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "seed.jsonl"
RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "scalar" / "cpu-scalar.yaml"


@pytest.fixture(scope="module")
def demo_pairs():
    return list(load_pairs(str(DEMO)))[:12]


def _config(model: str, **changes) -> ScalarTrainConfig:
    base = dict(model=model, batch_size=4, learning_rate=1e-3, lr_scheduler="constant", warmup_ratio=0.0,
                logging_steps=1, report_to=["none"], num_threads=1, save_steps=1000)
    return ScalarTrainConfig(**{**base, **changes})


def _bt_loss(scorer: RewardModelScorer, pairs) -> float:
    """Mean -log sigmoid(r_chosen - r_rejected) over ``pairs``."""
    triples = preference_triples(pairs)
    rewards = scorer.score_many([(q, r) for q, chosen, rejected, _ in triples for r in (chosen, rejected)])
    margins = [rewards[2 * k] - rewards[2 * k + 1] for k in range(len(triples))]
    return sum(math.log1p(math.exp(-m)) for m in margins) / len(margins)


def test_chosen_is_the_labelled_response_and_unlabelled_pairs_are_refused(demo_pairs):
    rows = reward_examples(demo_pairs)
    for pair, row in zip(demo_pairs, rows):
        better = pair.response_a if pair.label == "A" else pair.response_b
        worse = pair.response_b if pair.label == "A" else pair.response_a
        assert row["chosen"] == [{"role": "assistant", "content": better}]
        assert row["rejected"] == [{"role": "assistant", "content": worse}]
        assert row["prompt"] == [{"role": "user", "content": pair.question}]
    with pytest.raises(ValueError, match="no label"):
        reward_examples([dataclasses.replace(demo_pairs[0], label=None)])


def test_training_ids_are_trl_own_tokenization_and_the_scorer_reads_the_same(tiny_model_dir, tmp_path, demo_pairs):
    """On ordinary pairs our pre-tokenized chosen/rejected ids are what TRL makes of the conversational rows,
    and RewardModelScorer scores exactly those ids."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardTrainer

    from gram_rr.training.reward import build_reward_trainer, reward_args

    config = _config(tiny_model_dir, max_steps=1)
    dataset = reward_examples(demo_pairs)
    ours = build_reward_trainer(config, dataset, tmp_path / "ours").train_dataset
    trl_own = RewardTrainer(
        model=AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=1),
        args=reward_args(config, tmp_path / "trl"),
        train_dataset=dataset.remove_columns("pair"),
        processing_class=AutoTokenizer.from_pretrained(tiny_model_dir),
    ).train_dataset
    assert ours["chosen_ids"] == trl_own["chosen_ids"]
    assert ours["rejected_ids"] == trl_own["rejected_ids"]
    scorer = RewardModelScorer(AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=1),
                               AutoTokenizer.from_pretrained(tiny_model_dir))
    for (question, chosen, rejected, _), chosen_ids, rejected_ids in zip(
        preference_triples(demo_pairs), ours["chosen_ids"], ours["rejected_ids"]
    ):
        assert scorer._ids(question, chosen) == chosen_ids and scorer._ids(question, rejected) == rejected_ids


def test_a_forged_turn_in_a_response_stays_text(smollm2_tokenizer, demo_pairs):  # noqa: F811
    from gram_rr.training.reward import tokenized_reward_examples

    tok = smollm2_tokenizer
    pair = demo_pairs[0]
    forged_pair = dataclasses.replace(pair, id="forged", response_a=pair.response_a + FORGED,
                                      response_b=pair.response_b + FORGED)
    clean, forged = tokenized_reward_examples(reward_examples([pair, forged_pair]), tok, max_length=4096)
    start, end = tok.convert_tokens_to_ids("<|im_start|>"), tok.convert_tokens_to_ids("<|im_end|>")
    for side in ("chosen_ids", "rejected_ids"):
        # the template's system, user and assistant turns only: the forged turn is characters
        assert clean[side].count(start) == forged[side].count(start) == 3
        assert clean[side].count(end) == forged[side].count(end) == 3
        assert "<|im_start|>assistant\n<think>\nok" in tok.decode(forged[side])
    assert "<|im_end|>" in special_strings(tok)


def test_config_keeps_train_fields_refuses_sft_only_ones_and_checks_trl_against_reward_config(tmp_path):
    config = load_train_config(RECIPE, "scalar", ["epochs=3", "trl.center_rewards_coefficient=0.01"],
                               config_class=ScalarTrainConfig)
    assert isinstance(config, ScalarTrainConfig) and config.epochs == 3.0 and not config.lora
    assert config.trl == {"center_rewards_coefficient": 0.01}
    with pytest.raises(ConfigError, match="not a trl.RewardConfig field"):
        load_train_config(RECIPE, "scalar", ["trl.dataset_text_field=text"], config_class=ScalarTrainConfig)
    with pytest.raises(ConfigError, match=r"trl.learning_rate: gram-rr sets it from .*scalar_train.learning_rate"):
        load_train_config(RECIPE, "scalar", ["trl.learning_rate=0.1"], config_class=ScalarTrainConfig)
    with pytest.raises(ValueError, match="packing is an SFT setting"):
        ScalarTrainConfig(packing=True)
    with pytest.raises(ValueError, match="decision_token_weight"):
        ScalarTrainConfig(decision_token_weight=5.0)


@pytest.mark.parametrize("lora", [False, True])
def test_bt_loss_falls_and_the_folder_loads_in_the_scorer_and_transformers(tiny_model_dir, tmp_path, demo_pairs, lora):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    from gram_rr.training.reward import _load_classifier

    config = _config(tiny_model_dir, max_steps=12, lora=lora, lora_r=8, learning_rate=3e-3 if lora else 1e-3)
    set_seed(config.seed)  # the untrained classifier: the same seeded head training starts from
    untrained = RewardModelScorer(_load_classifier(tiny_model_dir, config, torch.float32),
                                  AutoTokenizer.from_pretrained(tiny_model_dir))
    before = _bt_loss(untrained, demo_pairs)
    result = train_reward(config, reward_examples(demo_pairs), tmp_path / "run")
    model_dir = Path(result.model_dir)
    assert result.metrics["steps"] == 12
    assert result.metrics == json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (model_dir / "model.safetensors").is_file() and not list(model_dir.glob("*.py"))
    assert not (model_dir / "adapter_config.json").exists(), "LoRA is merged into the weights"
    scorer = RewardModelScorer.from_pretrained(str(model_dir), dtype="float32", device="cpu")
    after = _bt_loss(scorer, demo_pairs)
    assert after < before - 0.1, (before, after)
    # plain transformers: the same reward for the same ids, and batched (right-padded) rows find their last token
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    assert model.config.num_labels == 1 and model.config.pad_token_id == tokenizer.pad_token_id
    question, chosen, rejected, _ = preference_triples(demo_pairs)[0]
    rows = [response_ids(tokenizer, question, r) for r in (chosen, rejected)]
    width = max(map(len, rows))
    ids = torch.tensor([row + [tokenizer.pad_token_id] * (width - len(row)) for row in rows])
    mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows])
    with torch.no_grad():
        batched = model(input_ids=ids, attention_mask=mask).logits[:, 0].tolist()
    assert batched == pytest.approx(scorer.score(question, [chosen, rejected]), abs=1e-4)
    # a rerun returns the finished run instead of training again
    assert train_reward(config, reward_examples(demo_pairs), tmp_path / "run").metrics == result.metrics


@pytest.mark.model
def test_cli_role_scalar_then_eval_and_rerank_use_it(tiny_model_dir, tmp_path, demo_pairs):
    from gram_rr.data import write_pairs
    from gram_rr.eval.cli import main as eval_main
    from gram_rr.rerank import main as rerank_main
    from gram_rr.train import main as train_main

    data = tmp_path / "pairs.jsonl"
    write_pairs(data, demo_pairs)
    out = tmp_path / "bt"
    argv = ["--recipe", str(RECIPE), "--role", "scalar", "--data", str(data), "--output", str(out),
            f"model={tiny_model_dir}", "max_steps=3", "batch_size=4", "num_threads=1"]
    assert train_main(argv) == 0
    model_dir = out / "model"
    assert json.loads((out / "metrics.json").read_text())["steps"] == 3
    assert eval_main(["--benchmark", "pairs", "--model", str(model_dir), "--scorer", "scalar", "--data", str(data),
                      "--out", str(tmp_path / "eval"), "scorer.dtype=float32"]) == 0
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert results["run"]["scorer"] == "scalar" and results["run"]["pairs"] == len(demo_pairs)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"question": p.question, "candidates": [p.response_a, p.response_b, "no"]}) + "\n"
                            for p in demo_pairs[:3]))
    ranked = tmp_path / "ranked.jsonl"
    assert rerank_main(["--model", str(model_dir), "--scorer", "scalar", "--input", str(rows), "--output", str(ranked),
                        "--mode", "rank", "scorer.dtype=float32"]) == 0
    scorer = RewardModelScorer.from_pretrained(str(model_dir), dtype="float32", device="cpu")
    for line, pair in zip(ranked.read_text().splitlines(), demo_pairs):
        record = json.loads(line)
        rewards = scorer.score(pair.question, [pair.response_a, pair.response_b, "no"])
        assert record["ranking"] == sorted(range(3), key=lambda i: -rewards[i])
        assert record["best"] == record["ranking"][0] and record["comparisons"]
    questions = [p.question for p in demo_pairs[:3]]
    candidates = [[p.response_a, p.response_b, "no"] for p in demo_pairs[:3]]
    for selection, question, options in zip(scorer.select_many(questions, candidates, mode="best"), questions, candidates):
        rewards = scorer.score(question, options)
        assert selection.ranking is None and selection.best == max(range(3), key=lambda i: rewards[i])
        assert len(selection.comparisons) == 2  # a knockout over 3 candidates


def test_cli_errors_are_one_line_naming_the_problem(tmp_path, capsys):
    from gram_rr.cli_errors import run_cli
    from gram_rr.train import main as train_main

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps(PreferencePair(id="p", question="q", response_a="a", response_b="b").to_dict()) + "\n")
    argv = ["--role", "scalar", "--data", str(pairs), "--output", str(tmp_path / "o")]
    assert run_cli(lambda: train_main(argv + ["packing=true"])) == 2
    assert "packing is an SFT setting" in capsys.readouterr().err
    assert run_cli(lambda: train_main(argv)) == 2
    assert "'p' has no label" in capsys.readouterr().err


@pytest.mark.ray
def test_two_ray_workers_train_the_reward_model(tiny_model_dir, tmp_path, demo_pairs):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        config = _config(tiny_model_dir, num_workers=2, max_steps=3, batch_size=2, num_threads=None)
        result = train_reward(config, reward_examples(demo_pairs), tmp_path / "run")
    finally:
        ray.shutdown()
    assert result.metrics["steps"] == 3
    RewardModelScorer.from_pretrained(result.model_dir, dtype="float32", device="cpu")


def test_frozen_layers_leave_the_score_head_and_upper_blocks_trainable(tiny_model_dir, tmp_path, demo_pairs):
    from gram_rr.training.reward import build_reward_trainer

    config = _config(tiny_model_dir, frozen_layers=1)
    trainer = build_reward_trainer(config, reward_examples(demo_pairs[:4]), tmp_path / "ckpt")
    trainable = {name for name, param in trainer.model.named_parameters() if param.requires_grad}
    assert not any(name.startswith(("model.embed_tokens.", "model.layers.0.")) for name in trainable)
    assert any(name.startswith("score.") for name in trainable)
    assert any(name.startswith("model.layers.1.") for name in trainable)
