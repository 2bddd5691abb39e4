"""Distractor payloads in reasoner training: a self-claimed verdict in one response, label and rationale kept."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from gram_rr.config import ConfigError
from gram_rr.data import load_pairs
from gram_rr.data.distractors import PAYLOADS, add_distractors

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_pairs():
    return load_pairs(ROOT / "data/demo/seed.jsonl")


def _carrier(before, after) -> str | None:
    """Which response of ``after`` grew (``"A"``/``"B"``), checking the other one and the rest are unchanged."""
    assert (after.id, after.question, after.label, after.rationale) == (before.id, before.question, before.label, before.rationale)
    grown = [letter for letter, b, a in (("A", before.response_a, after.response_a), ("B", before.response_b, after.response_b))
             if a != b]
    assert len(grown) <= 1
    return grown[0] if grown else None


def test_share_one_puts_a_self_claim_on_exactly_one_response_of_every_pair(demo_pairs):
    out, counts = add_distractors(demo_pairs, 1.0, seed=3)
    assert len(out) == len(demo_pairs)
    sides = {"winner": 0, "loser": 0}
    for before, after in zip(demo_pairs, out):
        on = _carrier(before, after)
        original = before.response_a if on == "A" else before.response_b
        payload = after.metadata["distractor"]["payload"]
        assert (after.response_a if on == "A" else after.response_b) == f"{original}\n\n{payload}"
        assert payload in {t.format(X=on, Y="B" if on == "A" else "A") for t in PAYLOADS}  # claims its own letter
        side = "winner" if on == before.label else "loser"
        assert after.metadata["distractor"]["on"] == side
        sides[side] += 1
    assert counts == {"distractors": len(demo_pairs), "on_winner": sides["winner"], "on_loser": sides["loser"]}
    assert sides["winner"] > 0 and sides["loser"] > 0


def test_share_zero_and_unlabeled_pairs_are_left_alone(demo_pairs):
    out, counts = add_distractors(demo_pairs, 0.0)
    assert out == list(demo_pairs) and counts == {"distractors": 0, "on_winner": 0, "on_loser": 0}
    unlabeled = [replace(p, label=None, rationale=None) for p in demo_pairs[:8]]
    assert add_distractors(unlabeled, 1.0)[0] == unlabeled


def test_the_draw_depends_on_the_pair_and_seed_not_the_batch(demo_pairs):
    whole, counts = add_distractors(demo_pairs, 0.25, seed=0)
    alone = [add_distractors([p], 0.25, seed=0)[0][0] for p in reversed(demo_pairs)][::-1]
    assert whole == alone
    assert 0 < counts["distractors"] < len(demo_pairs) // 2  # about a quarter
    assert add_distractors(demo_pairs, 0.25, seed=1)[0] != whole


def test_share_out_of_range_is_refused(demo_pairs):
    with pytest.raises(ValueError, match="distractor share"):
        add_distractors(demo_pairs, 1.5)


def test_recipe_refuses_distractors_for_the_prover_and_keeps_old_hashes():
    from gram_rr.selftrain.recipe import load_recipe, recipe_hash

    with pytest.raises(ConfigError, match="prover_train.distractor_share"):
        load_recipe("cpu-default", ["prover_train.distractor_share=0.5"])
    plain = recipe_hash(load_recipe("cpu-default"))
    assert recipe_hash(load_recipe("cpu-default", ["reasoner_train.distractor_share=0.0"])) == plain
    assert recipe_hash(load_recipe("cpu-default", ["reasoner_train.distractor_share=0.25"])) != plain


def test_train_cli_prints_the_distractor_counts(tmp_path, monkeypatch, capsys, demo_pairs):
    from gram_rr import train
    from gram_rr.data import write_pairs
    from gram_rr.training.config import TrainResult

    data = write_pairs(tmp_path / "d.jsonl", demo_pairs[:12])
    monkeypatch.setattr(train, "train_sft", lambda config, dataset, out: TrainResult(str(out), {}))
    assert train.main(["--role", "reasoner", "--data", str(data), "--output", str(tmp_path / "o"), "--order-augment",
                       "none", "distractor_share=1.0"]) == 0
    assert json.loads(capsys.readouterr().out)["distractors"]["distractors"] == 12
