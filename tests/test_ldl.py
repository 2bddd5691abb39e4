"""LDL reward models: label distributions, the gated expectation, rated data, demo ratings, both stages, the CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from gram_rr.data import DataError, load_pairs
from gram_rr.data.demo_ratings import demo_ratings, derived_ratings
from gram_rr.data.ratings import HELPSTEER2_ATTRIBUTES, load_ratings, write_ratings
from gram_rr.ldl import LDLAttributeConfig, LDLGatingConfig, LDLRewardModel, LDLSpec, is_ldl_folder, load_ldl_configs
from gram_rr.ldl.distribution import discrete_gaussian, expectation, kl_loss, scale_values
from gram_rr.scalar import RewardModelScorer

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "seed.jsonl"
RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "scalar" / "cpu-scalar.yaml"
RATED = {"prompt": "q", "response": "r", "helpfulness": 3, "correctness": 3.5, "coherence": 4, "complexity": 0,
         "verbosity": 1.25}


@pytest.fixture(scope="module")
def demo_pairs():
    return list(load_pairs(str(DEMO)))[:12]


# -- the label distribution ----------------------------------------------------------------


@pytest.mark.parametrize("bins", [5, 9, 17])
@pytest.mark.parametrize("sigma", [0.3, 0.5, 1.0])
def test_a_rating_on_the_scale_maps_to_a_discrete_gaussian_with_its_mode_there(bins, sigma):
    values = scale_values(0.0, 4.0, bins)
    ratings = values.clone()  # every scale value as a rating
    dist = discrete_gaussian(ratings, values, sigma)
    assert dist.shape == (bins, bins)
    assert torch.allclose(dist.sum(-1), torch.ones(bins), atol=1e-6)
    assert (dist > 0).all()
    assert dist.argmax(-1).tolist() == list(range(bins))
    for k in range(bins):  # strictly falling on both sides of the mode
        assert (dist[k, :k] < dist[k, 1 : k + 1]).all() and (dist[k, k + 1 :] < dist[k, k : bins - 1]).all()
        # the unnormalised shape: p_i / p_mode = exp(-(v_i - r)^2 / (2 sigma^2))
        expected = torch.exp(-((values - values[k]) ** 2) / (2 * sigma**2))
        assert torch.allclose(dist[k] / dist[k, k], expected, rtol=1e-5, atol=1e-12)
    middle = dist[bins // 2]  # 2.0: as far from 0 as from 4
    assert torch.allclose(middle, middle.flip(0), atol=1e-7)
    assert expectation(middle, values).item() == pytest.approx(2.0, abs=1e-6)


def test_a_rating_between_scale_values_leans_to_the_nearer_one():
    values = scale_values(0.0, 4.0, 5)
    dist = discrete_gaussian(torch.tensor([2.2, 2.5, 3.9]), values, 0.5)
    assert dist[0].argmax().item() == 2 and dist[0, 3] > dist[0, 1]
    assert dist[1, 2].item() == pytest.approx(dist[1, 3].item(), rel=1e-6)  # halfway: a tie between 2 and 3
    assert dist[2].argmax().item() == 4
    assert 2.0 < expectation(dist[0], values).item() < 2.5


def test_kl_loss_is_zero_on_the_target_and_positive_elsewhere():
    values = scale_values(0.0, 4.0, 9)
    target = discrete_gaussian(torch.tensor([[1.0, 3.0]]), values, 0.5)
    assert kl_loss(target.log(), target).item() == pytest.approx(0.0, abs=1e-6)
    other = discrete_gaussian(torch.tensor([[3.0, 1.0]]), values, 0.5)
    assert kl_loss(other.log(), target).item() > 1.0
    by_hand = (target * (target.log() - other.log())).sum(-1).mean()
    assert kl_loss(other.log(), target).item() == pytest.approx(by_hand.item(), rel=1e-5)


# -- the model -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_ldl(tiny_model_dir) -> LDLRewardModel:
    torch.manual_seed(1)
    model = LDLRewardModel.from_base(tiny_model_dir, LDLSpec(list(HELPSTEER2_ATTRIBUTES), 0.0, 4.0, 9, 0.5))
    with torch.no_grad():  # a gate that is not uniform, so the weighting is really tested
        model.gate.weight.normal_(0, 0.5)
        model.gate.bias.normal_(0, 0.5)
    return model.eval()


def _inputs(tokenizer_dir: str, texts: list[str]):
    from transformers import AutoTokenizer

    from gram_rr.scalar_tokens import response_ids

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    rows = [response_ids(tokenizer, "What is 3 + 4?", text) for text in texts]
    width = max(map(len, rows))
    ids = torch.tensor([row + [tokenizer.pad_token_id] * (width - len(row)) for row in rows])
    mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows])
    return ids, mask


def test_the_score_is_the_expectation_of_the_gated_distribution(tiny_ldl, tiny_model_dir):
    ids, mask = _inputs(tiny_model_dir, ["7", "3 + 4 = 8, so the answer is 8.", "seven"])
    with torch.no_grad():
        out = tiny_ldl(ids, attention_mask=mask)
    values = scale_values(0.0, 4.0, 9)
    weights, attribute = out.gate_weights, out.attribute_distributions
    assert attribute.shape == (3, 5, 9) and weights.shape == (3, 5)
    assert torch.allclose(attribute.sum(-1), torch.ones(3, 5), atol=1e-5)
    assert torch.allclose(weights.sum(-1), torch.ones(3), atol=1e-6)
    assert weights.std(dim=-1).min() > 0.01  # a real weighting, not uniform
    gated = torch.einsum("bs,bsi->bi", weights, attribute)  # D = sum_s w_s D_s
    assert torch.allclose(out.distribution, gated, atol=1e-6)
    assert torch.allclose(out.distribution.sum(-1), torch.ones(3), atol=1e-5)
    manual = (gated * values).sum(-1)  # r = sum_i p_i v_i
    assert torch.allclose(out.logits[:, 0], manual, atol=1e-5)
    assert ((out.logits >= 0) & (out.logits <= 4)).all()
    # the reward is also the gate-weighted mean of the attributes' expected ratings
    assert torch.allclose(out.logits[:, 0], (weights * out.attribute_scores).sum(-1), atol=1e-5)
    # padding does not change a row's score: the last real token is read
    with torch.no_grad():
        alone = tiny_ldl(ids[:1, : int(mask[0].sum())])
    assert alone.logits[0, 0].item() == pytest.approx(out.logits[0, 0].item(), abs=1e-4)


def test_saved_folder_reloads_without_remote_code_and_scores_through_the_scorer(tiny_ldl, tiny_model_dir, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(tmp_path)
    tiny_ldl.save_pretrained(tmp_path)
    assert is_ldl_folder(tmp_path) and not list(tmp_path.glob("*.py"))
    assert json.loads((tmp_path / "ldl_config.json").read_text())["attributes"] == list(HELPSTEER2_ATTRIBUTES)
    AutoModel.from_pretrained(tmp_path)  # the backbone is a plain transformers checkpoint
    loaded = LDLRewardModel.from_pretrained(tmp_path)
    ids, mask = _inputs(tiny_model_dir, ["7", "eight"])
    with torch.no_grad():
        assert torch.allclose(loaded(ids, mask).logits, tiny_ldl(ids, mask).logits, atol=1e-6)
    scorer = RewardModelScorer.from_pretrained(str(tmp_path), dtype="float32", device="cpu")
    assert isinstance(scorer.model, LDLRewardModel)
    rewards = scorer.score("What is 3 + 4?", ["7", "eight"])
    with torch.no_grad():
        expected = [tiny_ldl(ids[k : k + 1, : int(mask[k].sum())]).logits[0, 0].item() for k in range(2)]
    assert rewards == pytest.approx(expected, abs=1e-5)
    verdict = scorer.compare_many([("What is 3 + 4?", "7", "eight")])[0]
    assert verdict.winner == ("A" if rewards[0] > rewards[1] else "B")


# -- rated data ------------------------------------------------------------------------------


def test_rated_responses_load_and_round_trip(tmp_path):
    path = tmp_path / "rated.jsonl"
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}, {"role": "user", "content": "q"}]
    path.write_text(json.dumps(RATED) + "\n\n" + json.dumps({**RATED, "prompt": messages, "id": 7}) + "\n")
    rated = load_ratings(path)
    assert [r.ratings["correctness"] for r in rated] == [3.5, 3.5] and rated[1].id == "7"
    assert rated[1].prompt == messages
    write_ratings(tmp_path / "copy.jsonl", rated)
    assert load_ratings(tmp_path / "copy.jsonl") == rated


@pytest.mark.parametrize(
    "record, line, field, message",
    [
        ({**RATED, "correctness": 4.5}, 2, "correctness", "outside the scale [0, 4]"),
        ({**RATED, "helpfulness": "high"}, 2, "helpfulness", "expected a number"),
        ({**RATED, "coherence": True}, 2, "coherence", "expected a number"),
        ({k: v for k, v in RATED.items() if k != "verbosity"}, 2, "verbosity", "missing rating"),
        ({**RATED, "response": " "}, 2, "response", "missing, empty"),
        ({**RATED, "prompt": [{"role": "user"}]}, 2, "prompt[0]", "string 'role' and 'content'"),
        ({**RATED, "prompt": 3}, 2, "prompt", "not a string"),
        ({**RATED, "complexity": float("nan")}, 2, "complexity", "expected a number"),
    ],
)
def test_a_bad_rated_line_names_file_line_and_field(tmp_path, record, line, field, message):
    path = tmp_path / "rated.jsonl"
    path.write_text(json.dumps(RATED) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(DataError) as caught:
        load_ratings(path)
    error = caught.value
    assert (error.file, error.line, error.field) == (str(path), line, field)
    assert str(error).startswith(f"{path}, line {line}: field '{field}': ") and message in str(error)


def test_invalid_json_and_empty_files_are_named(tmp_path):
    path = tmp_path / "rated.jsonl"
    path.write_text(json.dumps(RATED) + "\n{not json\n")
    with pytest.raises(DataError, match=rf"{path}, line 2: invalid JSON"):
        load_ratings(path)
    path.write_text("\n")
    with pytest.raises(DataError, match="holds no rated responses"):
        load_ratings(path)


# -- demo ratings ----------------------------------------------------------------------------


def test_demo_ratings_follow_the_label_and_nothing_else(demo_pairs):
    rated = demo_ratings(demo_pairs)
    assert len(rated) == 2 * len(demo_pairs)
    for pair, (a, b) in zip(demo_pairs, zip(rated[::2], rated[1::2])):
        good, bad = (a, b) if pair.label == "A" else (b, a)
        assert good.response == (pair.response_a if pair.label == "A" else pair.response_b)
        assert good.metadata["correct"] and not bad.metadata["correct"] and good.metadata["synthetic"]
        for name in ("correctness", "helpfulness"):
            assert good.ratings[name] >= bad.ratings[name] + 1.5, (name, good.ratings, bad.ratings)
        assert good.ratings["coherence"] == bad.ratings["coherence"]
        assert all(0.0 <= v <= 4.0 for item in (a, b) for v in item.ratings.values())
        # swap the pair (and its label): every response keeps its ratings
        swapped = {item.response: item.ratings for item in derived_ratings(pair.swapped())}
        if pair.response_a != pair.response_b:
            assert swapped[good.response]["correctness"] >= swapped[bad.response]["correctness"] + 1.5
    assert demo_ratings(demo_pairs) == rated  # seeded: the same every time
    assert any(item.ratings["correctness"] % 0.5 for item in rated), "jitter makes ratings real-valued"
    with pytest.raises(ValueError, match="no label"):
        derived_ratings(dataclasses.replace(demo_pairs[0], label=None))


def test_demo_ratings_cli_writes_a_file_the_reader_loads(tmp_path):
    from gram_rr.data.demo_ratings import main

    out = tmp_path / "ratings.jsonl"
    assert main(["--pairs", str(DEMO), "--limit", "5", "--out", str(out)]) == 0
    rated = load_ratings(out)
    assert len(rated) == 10 and rated[0].id == "demo-seed-00000-a"


# -- training: both stages, the CLI ----------------------------------------------------------


def test_recipe_sections_and_overrides():
    attributes, gating = load_ldl_configs(RECIPE, ["ldl_attributes.sigma=0.3", "ldl_gating.epochs=5"])
    assert attributes.sigma == 0.3 and attributes.bins == 9 and gating.epochs == 5
    from gram_rr.config import ConfigError

    with pytest.raises(ConfigError, match="keys start with"):
        load_ldl_configs(RECIPE, ["epochs=3"])
    with pytest.raises(ConfigError, match="unknown key"):
        load_ldl_configs(RECIPE, ["ldl_gating.sigma=1"])


def test_both_stages_lower_their_losses_and_publish_a_scorable_model(tiny_model_dir, tmp_path, demo_pairs):
    from gram_rr.ldl.train import train_ldl

    attributes = LDLAttributeConfig(model=tiny_model_dir, epochs=8, batch_size=4, learning_rate=2e-3,
                                    head_learning_rate=1e-2, num_threads=1, save_dtype="float32")
    # features one response at a time in float32: exactly as the scorer below computes them
    gating = LDLGatingConfig(epochs=40, learning_rate=0.05, batch_size=4, feature_batch_size=1, bf16=False)
    metrics = train_ldl(attributes, gating, demo_ratings(demo_pairs), demo_pairs, tmp_path / "run")
    stage1, stage2 = metrics["attributes"], metrics["gating"]
    assert stage1["epoch_losses"][-1] < stage1["epoch_losses"][0] * 0.7, stage1
    # stage 2 starts from the uniform gate (stage 1's model) and lowers the BT loss over all pairs
    assert stage2["final_loss"] < stage2["initial_loss"] - 0.005, stage2
    assert sum(stage2["mean_gate_weights"].values()) == pytest.approx(1.0, abs=1e-3)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["gating"] == stage2
    for folder in (metrics["attributes_dir"], metrics["model_dir"]):
        assert is_ldl_folder(folder)
    gated = json.loads((Path(metrics["model_dir"]) / "ldl_config.json").read_text())["gated"]
    assert gated and not json.loads((Path(metrics["attributes_dir"]) / "ldl_config.json").read_text())["gated"]
    scorer = RewardModelScorer.from_pretrained(metrics["model_dir"], dtype="float32", device="cpu")
    verdicts = scorer.compare_many(demo_pairs)
    accuracy = sum(v.winner == p.label for v, p in zip(verdicts, demo_pairs)) / len(demo_pairs)
    assert round(accuracy, 4) == stage2["train_accuracy"]
    # a rerun finds both stages finished
    assert train_ldl(attributes, gating, [], [], tmp_path / "run")["gating"] == stage2


def test_frozen_backbone_stage1_trains_only_the_heads(tiny_model_dir, tmp_path, demo_pairs):
    from safetensors.torch import load_file

    from gram_rr.ldl.train import train_attributes

    config = LDLAttributeConfig(model=tiny_model_dir, train_backbone=False, epochs=6, batch_size=4,
                                head_learning_rate=5e-2, num_threads=1, save_dtype="bfloat16")
    metrics = train_attributes(config, demo_ratings(demo_pairs[:6]), tmp_path / "attributes")
    assert metrics["epoch_losses"][-1] < metrics["epoch_losses"][0] * 0.7, metrics
    base, saved = load_file(f"{tiny_model_dir}/model.safetensors"), load_file(str(tmp_path / "attributes/model.safetensors"))
    assert saved and all(torch.equal(tensor, base[f"model.{name}"]) for name, tensor in saved.items())


@pytest.mark.model
def test_cli_role_ldl_then_eval_scores_it(tiny_model_dir, tmp_path, demo_pairs):
    from gram_rr.data import write_pairs
    from gram_rr.eval.cli import main as eval_main
    from gram_rr.train import main as train_main

    pairs, ratings = tmp_path / "pairs.jsonl", tmp_path / "ratings.jsonl"
    write_pairs(pairs, demo_pairs[:6])
    write_ratings(ratings, demo_ratings(demo_pairs[:6]))
    argv = ["--recipe", str(RECIPE), "--role", "ldl", "--ratings", str(ratings), "--data", str(pairs),
            "--output", str(tmp_path / "ldl"), f"ldl_attributes.model={tiny_model_dir}", "ldl_attributes.epochs=1",
            "ldl_attributes.num_threads=1", "ldl_gating.epochs=2"]
    assert train_main(argv) == 0
    model_dir = tmp_path / "ldl" / "model"
    assert eval_main(["--benchmark", "pairs", "--model", str(model_dir), "--scorer", "scalar", "--data", str(pairs),
                      "--out", str(tmp_path / "eval"), "scorer.dtype=float32"]) == 0
    assert json.loads((tmp_path / "eval" / "results.json").read_text())["run"]["pairs"] == 6


def test_cli_ldl_needs_ratings_and_names_a_bad_line(tmp_path, capsys):
    from gram_rr.cli_errors import run_cli
    from gram_rr.train import main as train_main

    pairs, ratings = tmp_path / "pairs.jsonl", tmp_path / "ratings.jsonl"
    pairs.write_text("")
    argv = ["--role", "ldl", "--data", str(pairs), "--output", str(tmp_path / "o")]
    assert run_cli(lambda: train_main(argv)) == 2
    assert "--role ldl needs --ratings" in capsys.readouterr().err
    ratings.write_text(json.dumps({**RATED, "correctness": -1}) + "\n")
    assert run_cli(lambda: train_main(argv + ["--ratings", str(ratings)])) == 2
    assert f"{ratings}, line 1: field 'correctness': rating -1 is outside the scale" in capsys.readouterr().err


@pytest.mark.ray
def test_two_ray_workers_train_stage1_as_one_worker_does(tiny_model_dir, tmp_path, demo_pairs):
    """num_workers=2 (Ray Train, gloo): each step splits its batch between the workers and sums their gradients,
    so in float32 both workers together take the one-worker steps; the models load and score alike."""
    ray = pytest.importorskip("ray")
    from gram_rr.ldl.train import train_ldl

    rated = demo_ratings(demo_pairs[:6])[:11]  # batches of 5, 5 and 1: uneven halves, and a worker with no row
    pairs = demo_pairs[:6]
    gating = LDLGatingConfig(epochs=5, learning_rate=0.05, batch_size=4, feature_batch_size=1, bf16=False)
    texts = [(p.question, p.response_a, p.response_b) for p in pairs]
    runs = {}
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        for train_backbone in (True, False):
            common = dict(model=tiny_model_dir, train_backbone=train_backbone, epochs=2, batch_size=5, learning_rate=2e-3,
                          head_learning_rate=1e-2, bf16=False, save_dtype="float32", num_threads=1)
            for workers in (1, 2):
                attributes = LDLAttributeConfig(**common, num_workers=workers, cpus_per_worker=1)
                runs[train_backbone, workers] = train_ldl(attributes, gating, rated, pairs, tmp_path / f"{train_backbone}-{workers}")
    finally:
        ray.shutdown()
    for train_backbone in (True, False):
        one, two = runs[train_backbone, 1], runs[train_backbone, 2]
        assert two == {**json.loads((Path(two["model_dir"]).parent / "metrics.json").read_text()),
                       "model_dir": two["model_dir"], "attributes_dir": two["attributes_dir"]}
        assert two["attributes"]["steps"] == one["attributes"]["steps"] == 2 * 3
        assert two["attributes"]["epoch_losses"] == pytest.approx(one["attributes"]["epoch_losses"], rel=1e-3, abs=1e-4)
        assert two["attributes"]["epoch_losses"][-1] < two["attributes"]["epoch_losses"][0]
        assert two["gating"]["final_loss"] == pytest.approx(one["gating"]["final_loss"], rel=1e-3, abs=1e-4)
        for stage in ("attributes_dir", "model_dir"):
            assert json.loads((Path(two[stage]) / "ldl_config.json").read_text()) == \
                json.loads((Path(one[stage]) / "ldl_config.json").read_text())
        scores = {}
        for workers, run in ((1, one), (2, two)):
            scorer = RewardModelScorer.from_pretrained(run["model_dir"], dtype="float32", device="cpu")
            assert isinstance(scorer.model, LDLRewardModel)
            scores[workers] = torch.tensor([scorer.score(q, [a, b]) for q, a, b in texts])
        assert torch.allclose(scores[2], scores[1], atol=1e-3), (scores[1], scores[2])
        assert ((scores[2] >= 0) & (scores[2] <= 4)).all()
    # training moved the backbone, and the two-worker run moved it as the one-worker run did
    base = LDLRewardModel.from_base(tiny_model_dir, LDLSpec(list(HELPSTEER2_ATTRIBUTES), 0.0, 4.0, 9, 0.5))
    trained = LDLRewardModel.from_pretrained(runs[True, 2]["attributes_dir"])
    reference = LDLRewardModel.from_pretrained(runs[True, 1]["attributes_dir"])
    name, weight = next(iter(trained.backbone.state_dict().items()))
    assert not torch.allclose(weight, base.backbone.state_dict()[name].float(), atol=1e-4)
    assert torch.allclose(weight, reference.backbone.state_dict()[name], atol=1e-3)
