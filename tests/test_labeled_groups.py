"""data.labeled_groups: stage 0 sees the seed and labeled pairs of some groups; rounds and test see every group."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from gram_rr.config import ConfigError
from gram_rr.data import load_pairs
from gram_rr.eval.pairs import pair_group
from gram_rr.resources import data_path
from gram_rr.selftrain.recipe import DataConfig, SelfTrainRecipe, load_recipe, recipe_hash
from gram_rr.selftrain.stages import Pipeline

GROUPS = ["capital", "refusal"]
# cpu-default as measured in session 19 (502cf3e's runs) and before it (ce94115's runs)
SESSION_19_DEFAULT = ["replay=96", "data.unlabeled_per_round=48", "reasoner_train.frozen_layers=0", "reasoner_train.trl={}"]
OLDER_DEFAULT = [*SESSION_19_DEFAULT, "filters.max_same_proof=1"]


def pipeline(**data) -> Pipeline:
    config = DataConfig(seed_size=10, labeled_size=12, unlabeled_per_round=30, test_size=30, **data)
    return Pipeline(SelfTrainRecipe(rounds=1, use_ray=False, data=config), run=None)


def first_in_groups(path: str, n: int) -> list[str]:
    return [p.id for p in load_pairs(data_path(path)) if pair_group(p) in GROUPS][:n]


def test_seed_and_labeled_pairs_are_the_first_of_the_chosen_groups():
    plan = pipeline(labeled_groups=GROUPS)
    assert [p.id for p in plan.seed_pairs] == first_in_groups(DataConfig.seed, 10)
    assert [p.id for p in plan.labeled_pairs()] == first_in_groups(DataConfig.labeled, 12)
    assert plan.labeled_count == 12


def test_unlabeled_and_test_pairs_keep_every_group():
    grouped, everything = pipeline(labeled_groups=GROUPS), pipeline()
    assert [p.id for p in grouped.test_pairs] == [p.id for p in everything.test_pairs]
    assert [p.id for p in grouped.round_pairs(1)] == [p.id for p in everything.round_pairs(1)]
    assert {pair_group(p) for p in grouped.round_pairs(1)} - set(GROUPS)  # other groups reach the rounds
    assert {pair_group(p) for p in everything.seed_pairs} - set(GROUPS)  # unset: every group


def test_a_group_the_split_lacks_is_an_error_naming_the_file_and_its_groups():
    with pytest.raises(ValueError, match=r"data/demo/seed.jsonl: no pair of data.labeled_groups \['capitol'\]; "
                                         r"its groups are \['capital', .*'translate'\]"):
        pipeline(labeled_groups=["capitol"])


def test_unset_groups_keep_older_runs_hash_and_set_groups_change_it():
    recipe = SelfTrainRecipe()
    grouped = dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, labeled_groups=GROUPS))
    assert recipe_hash(grouped) != recipe_hash(recipe)
    assert recipe_hash(load_recipe("cpu-default", OLDER_DEFAULT)) == "a2a92776f758a0d9"  # runs before the field existed


def test_cpu_long_labels_some_families_and_tests_all_of_them():
    recipe = load_recipe("cpu-long")
    plan = Pipeline(dataclasses.replace(recipe, use_ray=False), run=None)
    few = Counter(pair_group(p) for p in plan.labeled_pairs() if pair_group(p) in recipe.data.few_labeled)
    labeled = {pair_group(p) for p in plan.labeled_pairs()}
    tested = {pair_group(p) for p in plan.test_pairs}
    unlabeled = {pair_group(p) for k in range(1, recipe.rounds + 1) for p in plan.round_pairs(k)}
    assert {pair_group(p) for p in plan.seed_pairs} == set(recipe.data.labeled_groups)
    assert few == recipe.data.few_labeled == {"translate": 4, "one_word": 4}
    assert labeled == set(recipe.data.labeled_groups) | set(few)
    assert tested == unlabeled == labeled
    assert recipe_hash(recipe) == "88f086bd939fc75c"  # the run measured in README, "Recipes"


def test_balance_by_group_unset_keeps_older_runs_hash():
    recipe = SelfTrainRecipe()
    by_group = dataclasses.replace(recipe, filters=dataclasses.replace(recipe.filters, balance_by_group=True))
    assert recipe_hash(by_group) != recipe_hash(recipe)
    assert recipe_hash(load_recipe("cpu-default", OLDER_DEFAULT)) == "a2a92776f758a0d9"  # unset: the hash of ce94115's runs


def test_few_labeled_groups_add_their_first_pairs_to_stage_0_only():
    plan = pipeline(labeled_groups=GROUPS, few_labeled={"translate": 3})
    translate = [p.id for p in load_pairs(data_path(DataConfig.labeled)) if pair_group(p) == "translate"][:3]
    assert [p.id for p in plan.labeled_pairs()] == first_in_groups(DataConfig.labeled, 12) + translate
    assert plan.labeled_count == 15
    assert {pair_group(p) for p in plan.seed_pairs} == set(GROUPS)  # no seed rationales for a few-labeled group


@pytest.mark.parametrize("few, message", [
    ({"translate": 0}, r"data.few_labeled.translate: expected a number of pairs >= 1, got 0"),
    ({"capital": 2}, r"data.few_labeled: \['capital'\] already in data.labeled_groups"),
])
def test_few_labeled_rejects_bad_counts_and_fully_labeled_groups(few, message):
    overrides = ["data.labeled_groups=[capital, refusal]", f"data.few_labeled={few}"]
    with pytest.raises(ConfigError, match=message):
        load_recipe("cpu-default", overrides)


def test_few_labeled_needs_labeled_groups():
    with pytest.raises(ConfigError, match="data.few_labeled needs data.labeled_groups"):
        load_recipe("cpu-default", ["data.few_labeled={translate: 2}"])


def test_few_labeled_asking_more_than_the_file_holds_names_file_and_counts():
    with pytest.raises(ValueError, match=r"data/demo/labeled.jsonl: data.few_labeled asks for more pairs than these "
                                         r"groups hold: \{'translate': 40\}"):
        pipeline(labeled_groups=GROUPS, few_labeled={"translate": 1000})


def test_max_same_proof_at_one_keeps_older_runs_hash():
    recipe = SelfTrainRecipe()
    shared = dataclasses.replace(recipe, filters=dataclasses.replace(recipe.filters, max_same_proof=4))
    assert recipe_hash(shared) != recipe_hash(recipe)
    assert recipe_hash(load_recipe("cpu-default", OLDER_DEFAULT)) == "a2a92776f758a0d9"


def test_cpu_default_is_the_measured_recipe():
    recipe = load_recipe("cpu-default")
    assert recipe.filters.max_same_proof == 32
    assert recipe.reasoner_train.frozen_layers == 10 and recipe.prover_train.frozen_layers == 0
    assert recipe_hash(recipe) == "a505c2f721967915"  # the run measured in README, "Recipes"
    assert recipe_hash(load_recipe("cpu-default", SESSION_19_DEFAULT)) == "e09294e3e4da0baa"  # session 19's runs
