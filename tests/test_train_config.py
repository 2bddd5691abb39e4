"""TrainConfig's `trl` mapping: other SFTConfig fields pass through, checked against TRL's own fields."""

from __future__ import annotations

from dataclasses import fields

import pytest

from gram_rr.config import ConfigError, from_dict
from gram_rr.train import TrainConfig
from gram_rr.training.recipe import load_train_config
from gram_rr.training.sft import sft_args
from gram_rr.training.trl_args import FIXED, FROM_TRAIN_CONFIG, sft_config_fields

RECIPE = """
reasoner_train:
  learning_rate: 1.0e-4
  trl:
    max_grad_norm: 0.5
    adam_beta2: 0.95
"""


def test_trl_fields_reach_the_sft_config_beside_the_typed_ones(tmp_path):
    config = TrainConfig(learning_rate=3e-4, report_to=["none"], trl={"max_grad_norm": 0.5, "optim": "adamw_torch"})
    args = sft_args(config, tmp_path)
    assert (args.max_grad_norm, args.optim, args.learning_rate) == (0.5, "adamw_torch", 3e-4)
    assert args.output_dir == str(tmp_path)
    default = sft_args(TrainConfig(report_to=["none"]), tmp_path)
    assert (default.max_grad_norm, default.adam_beta2) == (1.0, 0.999), "TRL's defaults stay without a trl entry"


def test_unknown_keys_and_choices_name_the_key_and_a_close_match():
    with pytest.raises(ConfigError, match=r"^r\.yaml\.reasoner_train\.trl: unknown key 'max_grad_nrom', "
                       r"not a trl\.SFTConfig field; did you mean 'max_grad_norm'\?$"):
        from_dict(TrainConfig, {"trl": {"max_grad_nrom": 1.0}}, "r.yaml.reasoner_train")
    with pytest.raises(ConfigError, match=r"^r\.yaml\.reasoner_train\.trl\.optim: 'adamw_torch_fusd' is not a valid "
                       r"OptimizerNames; did you mean 'adamw_torch_fused'"):
        from_dict(TrainConfig, {"trl": {"optim": "adamw_torch_fusd"}}, "r.yaml.reasoner_train")
    with pytest.raises(ConfigError, match=r"^r\.yaml\.train\.trl\.max_grad_norm: expected float, got 'big'$"):
        from_dict(TrainConfig, {"trl": {"max_grad_norm": "big"}}, "r.yaml.train")


def test_fields_gram_rr_sets_cannot_be_set_again_through_trl(tmp_path):
    with pytest.raises(ConfigError, match=r"^r\.yaml\.prover_train\.trl\.learning_rate: gram-rr sets it from "
                       r"r\.yaml\.prover_train\.learning_rate; set that instead$"):
        from_dict(TrainConfig, {"trl": {"learning_rate": 1e-3}}, "r.yaml.prover_train")
    with pytest.raises(ConfigError, match=r"prover_train\.trl\.per_device_train_batch_size: .* prover_train\.batch_size"):
        from_dict(TrainConfig, {"trl": {"per_device_train_batch_size": 4}}, "prover_train")
    with pytest.raises(ConfigError, match=r"trl\.output_dir: gram-rr sets it itself"):
        from_dict(TrainConfig, {"trl": {"output_dir": "elsewhere"}}, "prover_train")
    # A TrainConfig built in code is checked when its SFTConfig is built.
    with pytest.raises(ConfigError, match=r"^trl\.bf16: gram-rr sets it from bf16"):
        sft_args(TrainConfig(report_to=["none"], trl={"bf16": False}), tmp_path)


@pytest.mark.parametrize("strategy", ["ddp", "fsdp", "deepspeed_zero3"])
def test_every_field_sft_args_sets_is_reserved(strategy, tmp_path, monkeypatch):
    import trl

    monkeypatch.setattr(trl, "SFTConfig", lambda **kwargs: kwargs)
    passed = sft_args(TrainConfig(strategy=strategy, use_gpu=strategy != "ddp", bf16=False, trl={"max_grad_norm": 2.0}),
                      tmp_path)
    assert set(passed) - {"max_grad_norm"} <= set(FROM_TRAIN_CONFIG) | set(FIXED)


def test_reserved_names_are_real_fields():
    assert set(FROM_TRAIN_CONFIG) | set(FIXED) <= set(sft_config_fields())
    assert set(FROM_TRAIN_CONFIG.values()) <= {f.name for f in fields(TrainConfig)}


def test_yaml_recipe_and_overrides_set_trl_fields(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(RECIPE)
    config = load_train_config(recipe, "reasoner", ["trl.optim=adamw_torch", "reasoner_train.trl.max_grad_norm=0.25"])
    assert config.trl == {"max_grad_norm": 0.25, "adam_beta2": 0.95, "optim": "adamw_torch"}
    args = sft_args(config, tmp_path / "checkpoints")
    assert (args.max_grad_norm, args.adam_beta2, args.optim, args.learning_rate) == (0.25, 0.95, "adamw_torch", 1e-4)
    with pytest.raises(ConfigError, match=r"r\.yaml\.reasoner_train\.trl: unknown key 'adam_beta'.*'adam_beta2'"):
        load_train_config(recipe, "reasoner", ["train.trl.adam_beta=0.9"])


def test_self_training_recipe_hash_covers_trl_fields():
    from gram_rr.selftrain.recipe import DEFAULT_RECIPE, load_recipe, recipe_hash

    base = load_recipe(DEFAULT_RECIPE)
    changed = load_recipe(DEFAULT_RECIPE, ["reasoner_train.trl.max_grad_norm=0.5"])
    assert base.reasoner_train.trl == {"optim": "adamw_torch_fused"} and base.prover_train.trl == {}
    assert changed.reasoner_train.trl == {"optim": "adamw_torch_fused", "max_grad_norm": 0.5}
    assert recipe_hash(changed) != recipe_hash(base)
    assert recipe_hash(load_recipe(DEFAULT_RECIPE, ["prover_train.trl.max_grad_norm=0.5"])) != recipe_hash(base)
    with pytest.raises(ConfigError, match=r"cpu-default\.yaml\.prover_train\.trl\.seed: gram-rr sets it from"):
        load_recipe(DEFAULT_RECIPE, ["prover_train.trl.seed=3"])
